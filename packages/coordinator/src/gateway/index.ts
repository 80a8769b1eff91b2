/** The blockchain gateway (docs/gateway.md): tip following, watch indexes, reorgs, broadcast, fees. */
export { backoffDelay, realSleep, type Sleep } from './backoff.js';
export {
  type BroadcastEvent,
  Broadcaster,
  CONFLICT_REASONS,
  isConflictReason,
  type TrackState,
} from './broadcaster.js';
export {
  type BroadcastConfig,
  type BroadcastConfigInput,
  type FeeConfig,
  type FeeConfigInput,
  type FollowerConfig,
  type FollowerConfigInput,
  parseBroadcastConfig,
  parseFeeConfig,
  parseFollowerConfig,
} from './config.js';
export {
  applyCursorUpdate,
  type BlockRef,
  type CursorUpdate,
  cursorTip,
  decodeCursor,
  EMPTY_CURSOR,
  encodeProcessedBlock,
  type GatewayCursor,
  type ProcessedBlock,
  type ProcessedBlockJson,
  parseCursor,
} from './cursor.js';
export { type FatalReason, gatewayFatal, isGatewayFatal } from './fatal.js';
export { estimateFee, type FeeQuote, MAX_FEE_TARGET, quoteFee } from './fees.js';
export {
  type BlockConnectedEvent,
  type BlockDisconnectedEvent,
  type BlockEvent,
  ChainFollower,
  type FollowerOptions,
  type PollResult,
  type RetryReport,
  type TipReport,
} from './follower.js';
export { type ForkResult, findFork } from './reorg.js';
export {
  applyEffects,
  type BlockEffects,
  confirmations,
  isEmptyEffects,
  NO_EFFECTS,
  revertEffects,
  type ScanIndexes,
  type SpentOutput,
  scanBlock,
} from './scan-block.js';
export { type GatewayStore, InMemoryGatewayStore } from './store.js';
export { MAX_RAW_TX_BYTES, txidOfRaw } from './txid.js';
export {
  MAX_WATCHED_SCRIPT_BYTES,
  OutpointIndex,
  type OwnedOutput,
  outpointKey,
  ownedOutput,
  ScriptIndex,
} from './watch-index.js';

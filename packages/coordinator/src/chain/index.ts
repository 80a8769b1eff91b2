/** The chain gateway's backends (docs/chain.md). */

export { btcToSats, MAX_MONEY_SATS, satsToBtcNumber, satsToBtcString } from './amount.js';
export { BitcoindBackend, CORE_CHAINS } from './bitcoind-backend.js';
export {
  type BitcoindConfig,
  type BitcoindConfigInput,
  bitcoindConfigSchema,
  parseBitcoindConfig,
} from './bitcoind-config.js';
export {
  EsploraBackend,
  type EsploraConfigInput,
  esploraConfigSchema,
  GENESIS_HASHES,
} from './esplora-backend.js';
export { EsploraClient } from './esplora-client.js';
export type * from './interface.js';
export type { RetryDeps, RetryPolicy } from './retry.js';
export { Redacted, type RpcAuth } from './rpc-auth.js';
export { type BatchOutcome, CoreRpcClient, type CoreRpcClientOptions } from './rpc-client.js';
export { CORE_RPC_ERRORS } from './rpc-errors.js';
export { CORE_CALLS, type RpcCall } from './rpc-schemas.js';
export { decodeTransaction, txidOf } from './tx-decode.js';

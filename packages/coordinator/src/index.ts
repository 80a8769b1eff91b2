/**
 * @keyline/coordinator — the online half: storage, ledger, online risk, vault, signing
 * orchestration, chain gateway, HTTP API, and the daemon that joins them. README.md.
 */
export { buildApi } from './api/server.js';
export { BitcoindBackend } from './chain/bitcoind-backend.js';
export { EsploraBackend } from './chain/esplora-backend.js';
export type * from './chain/interface.js';
export {
  type CoordinatorConfig,
  type CoordinatorConfigInput,
  coordinatorConfigSchema,
  loadCoordinatorConfig,
  parseCoordinatorConfig,
} from './daemon/config.js';
export { type RunningCoordinator, runCoordinator } from './daemon/run.js';
export {
  COORDINATOR_ERROR_CODES,
  CoordinatorError,
  type CoordinatorErrorCode,
  isCoordinatorError,
} from './errors.js';
export type * from './service/contract.js';
export { KeylineService } from './service/coordinator-service.js';
export { openDatabase } from './storage/database.js';

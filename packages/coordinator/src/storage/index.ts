/** Public surface of the coordinator's storage layer. */
export type { Backend } from './backend.js';
export { backendOf } from './backend.js';
export type { Database, DatabaseConfig } from './database.js';
export { DEFAULT_SQLITE_BUSY_TIMEOUT_MS, openDatabase } from './database.js';
export type {
  Account,
  AccountKey,
  JournalEntryInput,
  PostingInput,
  PostResult,
  UserBalance,
} from './ledger.js';
export {
  assetSums,
  balance,
  balancesByUser,
  ensureAccount,
  MAX_POSTINGS_PER_ENTRY,
  postJournalEntry,
} from './ledger.js';
export type { MigrateResult } from './migrations.js';
export { MIGRATIONS, migrate } from './migrations.js';
export * from './schema.js';
export type { Isolation, TransactionOptions } from './transaction.js';
export { DEFAULT_MAX_ATTEMPTS, withTransaction } from './transaction.js';
export type {
  InsertWithdrawalResult,
  StateChange,
  Withdrawal,
  WithdrawalInput,
} from './withdrawals.js';
export { getWithdrawal, insertWithdrawal } from './withdrawals.js';

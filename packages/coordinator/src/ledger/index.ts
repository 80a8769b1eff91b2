/** The double-entry ledger's pure core. docs/ledger.md. */
export * from './accounts.js';
export * from './deposit-entries.js';
export * from './hot-wallet-action.js';
export * from './journal.js';
export * from './reconcile.js';
export * from './treasury-entries.js';
export * from './withdrawal-entries.js';

/** The vault's pure core: descriptor wallet, coin selection, PSBT building, finalization, RBF. docs/vault.md. */
export * from './build-psbt.js';
export * from './coin-selection.js';
export * from './finalize.js';
export * from './plan.js';
export * from './raw-tx.js';
export * from './rbf.js';
export * from './tx-weight.js';
export * from './wallet.js';

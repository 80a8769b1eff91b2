/** The online risk engine's pure core. docs/risk.md. */
export * from './config.js';
export * from './deposit.js';
export * from './inputs.js';
export * from './intent.js';
export * from './reasons.js';
export * from './withdrawal.js';

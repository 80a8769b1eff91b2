/**
 * @keyline/signer-device — the air-gapped signer.
 *
 * Library entry point (issue 3 §7): build a signer in-process from a key file, a policy, a state
 * directory and a clock, and send it the same requests the daemon handles — same dispatch, same
 * checks, same codes — over the real four-layer wire stack on a memory transport.
 */

export { signerHandlers, toWireError } from './device/handlers.js';
export {
  connectInProcess,
  createSigner,
} from './device/in-process.js';
export { Signer } from './device/signer.js';
export type { DeviceMemory } from './device-memory.js';
export {
  isSignerError,
  SIGNER_ERROR_CODES,
  SignerError,
  type SignerErrorCode,
  type SignerErrorKind,
} from './errors.js';
export type { TxSummary } from './tx-summary.js';

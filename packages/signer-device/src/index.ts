/**
 * @keyline/signer-device — the air-gapped signer. This entry point grows with the package;
 * see README.md for what is built so far.
 */
export {
  isSignerError,
  SIGNER_ERROR_CODES,
  SignerError,
  type SignerErrorCode,
  type SignerErrorKind,
} from './errors.js';

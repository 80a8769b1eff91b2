import type { ErrorName } from '@keyline/wire-protocol';

/**
 * The one error type of @keyline/signer-device. Every code says which kind it is — malformed
 * input, a refusal, a state error, or a local I/O condition — and which wire code it travels as
 * when it answers an RPC. Codes are stable; a retired code is kept, never reused.
 *
 * A refusal carries `detail.reason`: a stable reason code from the table of the module that
 * refused (verify-psbt, policy/evaluate, ...), so the coordinator can file a precise report.
 */
export type SignerErrorKind = 'malformed' | 'refused' | 'state' | 'io';

interface Entry {
  readonly kind: SignerErrorKind;
  readonly wire: ErrorName;
  readonly summary: string;
}

const e = (kind: SignerErrorKind, wire: ErrorName, summary: string): Entry =>
  Object.freeze({ kind, wire, summary });

export const SIGNER_ERROR_CODES = Object.freeze({
  // malformed: the input is not what the format allows
  BAD_KEY_FILE: e(
    'malformed',
    'BAD_PARAMS',
    'a key, backup or holder key file is not a valid file of its format',
  ),
  BAD_MNEMONIC: e('malformed', 'BAD_PARAMS', 'recovery words are not a valid BIP39 mnemonic'),
  BAD_DESCRIPTOR: e(
    'malformed',
    'BAD_PARAMS',
    'a wallet descriptor is not a valid 2-of-3 wsh(sortedmulti) descriptor',
  ),
  BAD_PSBT: e('malformed', 'BAD_PSBT', 'the PSBT cannot be parsed or breaks a structural limit'),
  BAD_POLICY: e('malformed', 'BAD_PARAMS', 'a policy document does not match its schema'),
  BAD_SIGNED_DOCUMENT: e(
    'malformed',
    'BAD_SIGNATURE_FORMAT',
    'a signed document or signature is not well formed',
  ),
  BAD_AUDIT_LOG: e('malformed', 'BAD_PARAMS', 'an audit log export is not a well-formed chain'),
  BAD_CONFIG: e('malformed', 'BAD_PARAMS', 'the daemon configuration does not match its schema'),
  // refused: well formed, and the device says no
  WRONG_PASSPHRASE: e('refused', 'UNAUTHORIZED', 'the passphrase does not open the file'),
  WRONG_NETWORK: e('refused', 'WRONG_NETWORK', 'the file or request is for another network'),
  UNAUTHORIZED: e('refused', 'UNAUTHORIZED', 'a signature does not verify against the pinned keys'),
  VERIFICATION_FAILED: e('refused', 'VERIFICATION_FAILED', 'the PSBT fails a verification step'),
  POLICY_REFUSED: e('refused', 'POLICY_REFUSED', 'the offline policy refuses the transaction'),
  STALE_POLICY: e('refused', 'STALE_POLICY', 'the policy is expired, not newer, or does not chain'),
  WALLET_NOT_REGISTERED: e('refused', 'WALLET_NOT_REGISTERED', 'the wallet is not registered'),
  CLOCK_REFUSED: e(
    'refused',
    'CLOCK_REFUSED',
    'offered time moved backwards or faster than the device clock',
  ),
  AUDIT_CHAIN_BROKEN: e(
    'refused',
    'VERIFICATION_FAILED',
    'an audit log link or signature does not verify',
  ),
  // state
  LOCKED: e('state', 'LOCKED', 'the device is locked'),
  NOT_ARMED: e('state', 'NOT_ARMED', 'the device is not armed'),
  PAUSED: e('state', 'PAUSED', 'the device is paused'),
  STATE_CORRUPT: e(
    'state',
    'VERIFICATION_FAILED',
    'durable state is missing, rolled back or corrupted: failing closed',
  ),
  // io
  IO: e('io', 'INTERNAL', 'a file could not be read or written'),
} as const);

export type SignerErrorCode = keyof typeof SIGNER_ERROR_CODES;

export class SignerError extends Error {
  override readonly name = 'SignerError';
  readonly code: SignerErrorCode;
  readonly kind: SignerErrorKind;
  /** Structured detail (reason code, input or output index...). Never key material. */
  readonly detail: Readonly<Record<string, unknown>>;

  /** `message` starts with the place: `'verify-psbt/input 3: expected ..., got ...'`. */
  constructor(
    code: SignerErrorCode,
    message: string,
    detail: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kind = SIGNER_ERROR_CODES[code].kind;
    this.detail = Object.freeze({ ...detail });
  }
}

export function isSignerError(x: unknown, code?: SignerErrorCode): x is SignerError {
  return x instanceof SignerError && (code === undefined || x.code === code);
}

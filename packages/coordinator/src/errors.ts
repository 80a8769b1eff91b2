/**
 * The one error type of @keyline/coordinator, with stable codes. Malformed input (a bad API
 * request, a bad config) is kept apart from a refusal (risk said no, funds insufficient) and
 * from conflicts and I/O conditions, so the API can answer 400 / 403-409 / 503 correctly.
 */
export type CoordinatorErrorKind =
  | 'malformed'
  | 'refused'
  | 'conflict'
  | 'not_found'
  | 'io'
  | 'internal';

interface Entry {
  readonly kind: CoordinatorErrorKind;
  readonly summary: string;
}

const e = (kind: CoordinatorErrorKind, summary: string): Entry => Object.freeze({ kind, summary });

export const COORDINATOR_ERROR_CODES = Object.freeze({
  BAD_REQUEST: e('malformed', 'the request does not match its schema'),
  BAD_CONFIG: e('malformed', 'the configuration does not match its schema'),
  BAD_AMOUNT: e('malformed', 'an amount is not a non-negative integer of satoshis within 21e14'),
  UNBALANCED_ENTRY: e('internal', 'a journal entry does not sum to zero per asset'),
  INSUFFICIENT_FUNDS: e('refused', 'the posting would take a balance below zero'),
  RISK_REJECTED: e('refused', 'the online risk engine rejected the request'),
  DEVICE_REFUSED: e('refused', 'a signer device refused the transaction'),
  DUPLICATE: e('conflict', 'the idempotency key or reference was already used with other content'),
  INVALID_TRANSITION: e(
    'conflict',
    'the state machine does not allow this step from the current state',
  ),
  NOT_FOUND: e('not_found', 'no such record'),
  STORAGE: e('io', 'the database failed or is unreachable'),
  CHAIN_UNAVAILABLE: e(
    'io',
    'the chain backend is down, timed out or answered with a server error',
  ),
  CHAIN_BAD_RESPONSE: e(
    'io',
    'the chain backend answered with something that is not the documented shape',
  ),
  CHAIN_REJECTED: e('refused', 'the node refused the transaction (its reject reason is in detail)'),
  CHAIN_RPC: e('io', 'the node answered a call with an error (its code is in detail.rpcCode)'),
  PAUSED: e('refused', 'withdrawals are paused by an operator'),
  NO_DEVICE: e('io', 'not enough armed signer devices answered'),
  INTERNAL: e('internal', 'an unexpected condition'),
} as const);

export type CoordinatorErrorCode = keyof typeof COORDINATOR_ERROR_CODES;

export class CoordinatorError extends Error {
  override readonly name = 'CoordinatorError';
  readonly code: CoordinatorErrorCode;
  readonly kind: CoordinatorErrorKind;
  readonly detail: Readonly<Record<string, unknown>>;

  /** `message` starts with the place: `'ledger/post: expected ..., got ...'`. */
  constructor(
    code: CoordinatorErrorCode,
    message: string,
    detail: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kind = COORDINATOR_ERROR_CODES[code].kind;
    this.detail = Object.freeze({ ...detail });
  }
}

export function isCoordinatorError(x: unknown, code?: CoordinatorErrorCode): x is CoordinatorError {
  return x instanceof CoordinatorError && (code === undefined || x.code === code);
}

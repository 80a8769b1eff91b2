/**
 * The one error type of @keyline/wire-protocol, and the one table of numeric codes.
 *
 * Codes are grouped by kind and never reused: a retired code stays in the table, marked retired.
 *   1000-1999 malformed  the bytes or the parameters were not what the protocol allows
 *   2000-2999 refused    the request was well formed and the device said no (policy, authorisation)
 *   3000-3999 state      the request is valid but not in the device's current state
 *   4000-4999 link       local conditions of the frame, session and RPC layers (never a device verdict)
 *   5000-5999 internal   a bug or an unexpected condition on the answering side
 *
 * Codes 1000-3999 and 5000-5999 may travel in an RPC error reply; 4000-4999 are raised locally.
 * PROTOCOL.md lists every code; a test checks the two against each other both ways.
 */

export type ErrorKind = 'malformed' | 'refused' | 'state' | 'link' | 'internal';

interface CodeEntry {
  readonly code: number;
  readonly kind: ErrorKind;
  readonly summary: string;
}

function entry(code: number, kind: ErrorKind, summary: string): CodeEntry {
  return Object.freeze({ code, kind, summary });
}

export const ERROR_CODES = Object.freeze({
  // malformed
  BAD_FRAME: entry(1001, 'malformed', 'a frame failed COBS, length, version, type or CRC checks'),
  BAD_CBOR: entry(
    1002,
    'malformed',
    'bytes are not strict deterministic CBOR as PROTOCOL.md defines',
  ),
  BAD_ENVELOPE: entry(
    1003,
    'malformed',
    'the RPC envelope is not {id, method, params} or a reply shape',
  ),
  UNKNOWN_METHOD: entry(1004, 'malformed', 'the method name is not in the method table'),
  BAD_PARAMS: entry(1005, 'malformed', 'the params do not match the method schema'),
  MESSAGE_TOO_LARGE: entry(1006, 'malformed', 'a message or chunk sequence exceeds the size limit'),
  BAD_RESULT: entry(1007, 'malformed', 'a reply result does not match the method result schema'),
  BAD_CHUNK: entry(1008, 'malformed', 'a chunk sequence is out of order or inconsistent'),
  DUPLICATE_ID: entry(1009, 'malformed', 'a request reused an id already seen in this session'),
  BAD_PSBT: entry(1010, 'malformed', 'the PSBT could not be parsed or breaks a structural rule'),
  BAD_SIGNATURE_FORMAT: entry(
    1011,
    'malformed',
    'a signature or signed document is not well formed',
  ),
  // refused
  POLICY_REFUSED: entry(2001, 'refused', 'the device policy refused the transaction'),
  VERIFICATION_FAILED: entry(
    2002,
    'refused',
    'the device could not prove the transaction is safe to sign',
  ),
  UNAUTHORIZED: entry(2003, 'refused', 'a signature did not verify against the pinned keys'),
  STALE_POLICY: entry(
    2004,
    'refused',
    'the policy is expired, older, or does not chain to the current one',
  ),
  WALLET_NOT_REGISTERED: entry(2005, 'refused', 'the descriptor is not registered on the device'),
  WRONG_NETWORK: entry(
    2006,
    'refused',
    'the request is for another network than the device is pinned to',
  ),
  CLOCK_REFUSED: entry(
    2007,
    'refused',
    'offered time moved backwards or faster than the device clock',
  ),
  // state
  LOCKED: entry(3001, 'state', 'the device is locked: the holder must unlock it on its console'),
  NOT_ARMED: entry(3002, 'state', 'the device is unlocked but not activated by a second holder'),
  PAUSED: entry(3003, 'state', 'the device is paused'),
  BUSY: entry(3004, 'state', 'the device is handling another request'),
  SHUTTING_DOWN: entry(3005, 'state', 'the device is shutting down and takes no new work'),
  UNINITIALIZED: entry(3006, 'state', 'the device has no key yet'),
  // link (local only)
  LINK_DOWN: entry(4001, 'link', 'the peer stopped acknowledging frames within the retry limit'),
  LINK_CLOSED: entry(4002, 'link', 'the link or transport was closed'),
  HANDSHAKE_FAILED: entry(
    4003,
    'link',
    'the Noise handshake failed: wrong static key or bad message',
  ),
  SESSION_BROKEN: entry(4004, 'link', 'a record failed authentication, was replayed or reordered'),
  SESSION_CLOSED: entry(4005, 'link', 'the secure session ended before the operation completed'),
  TIMEOUT: entry(4006, 'link', 'no reply arrived within the request timeout'),
  REMOTE_ERROR: entry(4007, 'link', 'the peer answered with an error code unknown to this version'),
  // internal
  INTERNAL: entry(5001, 'internal', 'an unexpected condition on the answering side'),
} as const);

export type ErrorName = keyof typeof ERROR_CODES;

const BY_NUMBER: ReadonlyMap<number, ErrorName> = new Map(
  (Object.keys(ERROR_CODES) as ErrorName[]).map((name) => [ERROR_CODES[name].code, name]),
);

/** The name for a numeric code, or undefined when this version does not know it. */
export function errorNameOf(code: number): ErrorName | undefined {
  return BY_NUMBER.get(code);
}

export class WireError extends Error {
  override readonly name = 'WireError';
  readonly code: ErrorName;
  readonly number: number;
  readonly kind: ErrorKind;
  readonly data: unknown;

  /** `message` starts with the place: `'frame/decode: expected version 1, got 7'`. */
  constructor(code: ErrorName, message: string, options?: { data?: unknown; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    const e = ERROR_CODES[code];
    this.code = code;
    this.number = e.code;
    this.kind = e.kind;
    this.data = options?.data;
  }
}

export function isWireError(e: unknown, code?: ErrorName): e is WireError {
  return e instanceof WireError && (code === undefined || e.code === code);
}

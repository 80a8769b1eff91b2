import { WireError } from './errors.js';
import { TAG_LEN } from './noise.js';

/**
 * Session records: one lower-layer message carries one record, a type byte followed by a body.
 *
 *   0x01 HANDSHAKE_INIT  Noise message 1 (-> e, es, ss), empty payload: 48 bytes
 *   0x02 HANDSHAKE_RESP  Noise message 2 (<- e, ee, se), empty payload: 48 bytes
 *   0x03 DATA            ChaCha20-Poly1305 ciphertext of one message + 16-byte tag
 *   0x04 REHANDSHAKE     empty. An unauthenticated hint from the responder: "I hold no session
 *                        with you, start a new handshake". It carries no content at all.
 *
 * This module only frames records. What a record means in which state is up to `session.ts`.
 */

export const RECORD_TYPE = Object.freeze({
  HANDSHAKE_INIT: 0x01,
  HANDSHAKE_RESP: 0x02,
  DATA: 0x03,
  REHANDSHAKE: 0x04,
} as const);

export type RecordTypeName = keyof typeof RECORD_TYPE;

/** Bytes of Noise message 1 or 2 with an empty payload: ephemeral key (32) + tag (16). */
export const HANDSHAKE_MESSAGE_BYTES = 48;
/** Largest plaintext of one DATA record. */
export const SESSION_MAX_MESSAGE_BYTES = 4096;
/** Bytes a DATA record adds to its plaintext: the type byte and the tag. */
export const DATA_RECORD_OVERHEAD = 1 + TAG_LEN;

interface BodyBytes {
  readonly min: number;
  readonly max: number;
}

function bodyBytes(min: number, max: number): BodyBytes {
  return Object.freeze({ min, max });
}

/** The body lengths each record type allows (bytes after the type byte). */
export const RECORD_BODY_BYTES: Readonly<Record<RecordTypeName, BodyBytes>> = Object.freeze({
  HANDSHAKE_INIT: bodyBytes(HANDSHAKE_MESSAGE_BYTES, HANDSHAKE_MESSAGE_BYTES),
  HANDSHAKE_RESP: bodyBytes(HANDSHAKE_MESSAGE_BYTES, HANDSHAKE_MESSAGE_BYTES),
  DATA: bodyBytes(TAG_LEN, SESSION_MAX_MESSAGE_BYTES + TAG_LEN),
  REHANDSHAKE: bodyBytes(0, 0),
});

const NAME_BY_BYTE: ReadonlyMap<number, RecordTypeName> = new Map(
  (Object.keys(RECORD_TYPE) as RecordTypeName[]).map((name) => [RECORD_TYPE[name], name]),
);

export interface SessionRecord {
  readonly type: RecordTypeName;
  /** A view into the received message, not a copy. */
  readonly body: Uint8Array;
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * What is wrong with a body of `length` bytes for a record of this type, or undefined when the
 * length is allowed. The text completes a sentence that starts with the caller's place.
 */
export function bodyLengthProblem(type: RecordTypeName, length: number): string | undefined {
  const { min, max } = RECORD_BODY_BYTES[type];
  if (Number.isSafeInteger(length) && length >= min && length <= max) return undefined;
  const want = min === max ? `${min} bytes` : `${min} to ${max} bytes`;
  return `expected a ${type} of ${want} after the type, got ${String(length)}`;
}

/** Builds one record. The body must have a length its type allows (our own output: a bug if not). */
export function encodeRecord(type: RecordTypeName, body: Uint8Array): Uint8Array {
  const code = RECORD_TYPE[type];
  if (code === undefined) {
    throw new WireError('INTERNAL', `session/record: expected a record type name, got ${type}`);
  }
  if (!(body instanceof Uint8Array)) {
    throw new WireError(
      'INTERNAL',
      `session/record: expected a Uint8Array body, got ${typeof body}`,
    );
  }
  const problem = bodyLengthProblem(type, body.length);
  if (problem !== undefined) throw new WireError('INTERNAL', `session/record: ${problem}`);
  const out = new Uint8Array(1 + body.length);
  out[0] = code;
  out.set(body, 1);
  return out;
}

/**
 * Splits a received message into its type and body. The body length is NOT checked here: which
 * check comes first (direction, state, length) depends on the session state, so `session.ts`
 * calls `bodyLengthProblem` itself. Throws SESSION_BROKEN for an empty message or an unknown type.
 */
export function decodeRecord(message: unknown): SessionRecord {
  if (!(message instanceof Uint8Array) || message.length === 0) {
    const got = message instanceof Uint8Array ? 'an empty one' : typeof message;
    throw new WireError(
      'SESSION_BROKEN',
      `session/receive: expected a record of at least 1 byte, got ${got}`,
    );
  }
  const byte = message[0] ?? 0;
  const type = NAME_BY_BYTE.get(byte);
  if (type === undefined) {
    const known = [...NAME_BY_BYTE.keys()].map(hex).join(', ');
    throw new WireError(
      'SESSION_BROKEN',
      `session/receive: expected a record type of ${known}, got ${hex(byte)}`,
    );
  }
  return { type, body: message.subarray(1) };
}

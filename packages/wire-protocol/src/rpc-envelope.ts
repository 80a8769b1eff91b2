/**
 * Layer 4 framing: RPC envelopes and their chunking over a MessageChannel.
 *
 * An envelope is one deterministic CBOR map:
 *   request  {id, method, params}
 *   reply    {id, result} | {id, error: {code, message, data?}}
 * It travels as one or more chunks, each one channel message: byte 0 is the flag (0x00 MORE,
 * 0x01 FINAL), the rest is the next slice of the encoded envelope.
 */
import { z } from 'zod';
import { decodeStrict, encodeCanonical } from './cbor.js';
import type { MessageChannel } from './channel.js';
import { ERROR_CODES, type ErrorName, isWireError, WireError } from './errors.js';
import { issueReport, refusalReport, text, uint } from './schemas.js';

export const CHUNK_MORE = 0x00;
export const CHUNK_FINAL = 0x01;
/** Bytes of a chunk before its payload. */
export const CHUNK_HEADER_BYTES = 1;
/** Largest encoded envelope either side reassembles by default: a 4 MiB PSBT plus room. */
export const DEFAULT_MAX_ENVELOPE_BYTES = 8 * 1024 * 1024 + 64 * 1024;
/** Upper bound on any `maxEnvelopeBytes` option: lengths travel in at most 32 bits. */
export const ENVELOPE_BYTES_CEILING = 0xffff_ffff;
/** Largest `error.message`, in UTF-16 code units. */
export const MAX_ERROR_MESSAGE = 1024;
/** Chunks of one envelope handed to the channel before waiting for the oldest to complete. */
export const SEND_WINDOW = 8;
/** Id of a reply that answers a request which could not be attributed. */
export const UNATTRIBUTED_ID = 0;

// ---------------------------------------------------------------------------------------------
// Envelope schemas

/** A request id: 1..2^53-1. Strictly increasing within a session. */
export const requestId = uint.min(1);

function isPlainMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const map = z.custom<Record<string, unknown>>(isPlainMap, { message: 'expected a map' });
/** Any value, but the key must be present (a missing key is not an `undefined` value). */
const present = z.custom<unknown>((v) => v !== undefined, { message: 'expected a value' });

export const requestEnvelope = z.strictObject({
  id: requestId,
  method: text(1, 64),
  params: map,
});
export type RequestEnvelope = z.infer<typeof requestEnvelope>;

export const errorBody = z.strictObject({
  code: uint,
  message: text(0, MAX_ERROR_MESSAGE),
  data: present.optional(),
});
export type ErrorBody = z.infer<typeof errorBody>;

export const resultReply = z.strictObject({ id: uint, result: present });
export const errorReply = z.strictObject({ id: uint, error: errorBody });
export const replyEnvelope = z.union([resultReply, errorReply]);
export type ReplyEnvelope = z.infer<typeof replyEnvelope>;

/**
 * Error codes whose `data` has a defined shape. The server drops data that does not match
 * (keeping the code and message); the client keeps only data that matches.
 */
export const ERROR_DATA_SCHEMAS: Readonly<Partial<Record<ErrorName, z.ZodType>>> = Object.freeze({
  POLICY_REFUSED: refusalReport,
  BAD_ENVELOPE: issueReport,
  BAD_PARAMS: issueReport,
  BAD_RESULT: issueReport,
});

/** `data` checked against its code's schema: the parsed value, or undefined when it fails. */
export function checkErrorData(code: ErrorName, data: unknown): unknown {
  if (data === undefined) return undefined;
  const schema = ERROR_DATA_SCHEMAS[code];
  if (schema === undefined) return data;
  const parsed = schema.safeParse(data);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Make text safe for an error message: lone surrogates (which CBOR text cannot carry) become
 * U+FFFD, and the result is cut to `max` UTF-16 code units without splitting a surrogate pair.
 */
export function clipText(s: string, max: number): string {
  const clean = s.replace(/\p{Cs}/gu, '\ufffd');
  if (clean.length <= max) return clean;
  let cut = clean.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut;
}

/** Build an error reply value (not yet encoded). */
export function makeErrorReply(
  id: number,
  code: ErrorName,
  message: string,
  data?: unknown,
): ReplyEnvelope {
  const error: ErrorBody = {
    code: ERROR_CODES[code].code,
    message: clipText(message, MAX_ERROR_MESSAGE),
  };
  if (data !== undefined) error.data = data;
  return { id, error };
}

// ---------------------------------------------------------------------------------------------
// Encoding and decoding

/** Encode an envelope; MESSAGE_TOO_LARGE when it exceeds `maxBytes`, INTERNAL when unencodable. */
export function encodeEnvelope(place: string, value: unknown, maxBytes: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = encodeCanonical(value, { maxBytes, maxStringBytes: maxBytes });
  } catch (e) {
    if (isWireError(e, 'MESSAGE_TOO_LARGE')) {
      throw new WireError(
        'MESSAGE_TOO_LARGE',
        `${place}: expected an envelope of at most ${maxBytes} bytes, got more`,
        { cause: e },
      );
    }
    const reason = e instanceof Error ? e.message : String(e);
    throw new WireError('INTERNAL', `${place}: expected an encodable envelope: ${reason}`, {
      cause: e,
    });
  }
  if (bytes.length > maxBytes) {
    throw new WireError(
      'MESSAGE_TOO_LARGE',
      `${place}: expected an envelope of at most ${maxBytes} bytes, got ${bytes.length}`,
    );
  }
  return bytes;
}

/** Decode envelope bytes with the strict decoder; anything but a WireError becomes BAD_CBOR. */
export function decodeEnvelope(place: string, bytes: Uint8Array, maxBytes: number): unknown {
  try {
    return decodeStrict(bytes, { maxBytes, maxStringBytes: maxBytes });
  } catch (e) {
    if (isWireError(e)) throw e;
    throw new WireError('BAD_CBOR', `${place}: expected strict CBOR, the decoder failed`, {
      cause: e,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Chunking

/** Split encoded envelope bytes into chunk messages of at most `maxMessageSize` bytes. */
export function* chunkEnvelope(
  envelope: Uint8Array,
  maxMessageSize: number,
): Generator<Uint8Array> {
  if (!Number.isSafeInteger(maxMessageSize) || maxMessageSize < CHUNK_HEADER_BYTES + 1) {
    throw new WireError(
      'INTERNAL',
      `rpc/chunk: expected maxMessageSize an integer >= 2, got ${String(maxMessageSize)}`,
    );
  }
  const step = maxMessageSize - CHUNK_HEADER_BYTES;
  let offset = 0;
  do {
    const end = Math.min(offset + step, envelope.length);
    const chunk = new Uint8Array(CHUNK_HEADER_BYTES + end - offset);
    chunk[0] = end === envelope.length ? CHUNK_FINAL : CHUNK_MORE;
    chunk.set(envelope.subarray(offset, end), CHUNK_HEADER_BYTES);
    yield chunk;
    offset = end;
  } while (offset < envelope.length);
}

export type AssemblyResult =
  | { readonly kind: 'pending' }
  | { readonly kind: 'envelope'; readonly bytes: Uint8Array }
  | { readonly kind: 'error'; readonly error: WireError };

const PENDING: AssemblyResult = Object.freeze({ kind: 'pending' });

/**
 * Reassembles chunk messages into envelope bytes, never holding more than `maxEnvelopeBytes`.
 * On overflow it reports MESSAGE_TOO_LARGE once and drops chunks up to the next FINAL.
 */
export class ChunkAssembler {
  private parts: Uint8Array[] = [];
  private size = 0;
  private discarding = false;

  constructor(readonly maxEnvelopeBytes: number) {
    if (
      !Number.isSafeInteger(maxEnvelopeBytes) ||
      maxEnvelopeBytes < 1 ||
      maxEnvelopeBytes > ENVELOPE_BYTES_CEILING
    ) {
      throw new WireError(
        'INTERNAL',
        `rpc/assembler: expected maxEnvelopeBytes an integer in 1..${ENVELOPE_BYTES_CEILING}, got ${String(maxEnvelopeBytes)}`,
      );
    }
  }

  /** Drop any partial envelope (a new session begins, or the old one ended). */
  reset(): void {
    this.parts = [];
    this.size = 0;
    this.discarding = false;
  }

  push(message: unknown): AssemblyResult {
    if (!(message instanceof Uint8Array) || message.length < CHUNK_HEADER_BYTES) {
      this.reset();
      return fail('BAD_CHUNK', 'rpc/chunk: expected a flag byte, got an empty message');
    }
    const flag = message[0];
    if (flag !== CHUNK_MORE && flag !== CHUNK_FINAL) {
      this.reset();
      return fail(
        'BAD_CHUNK',
        `rpc/chunk: expected flag 0x00 or 0x01, got 0x${(flag ?? 0).toString(16).padStart(2, '0')}`,
      );
    }
    if (this.discarding) {
      if (flag === CHUNK_FINAL) this.discarding = false;
      return PENDING;
    }
    const payload = message.length - CHUNK_HEADER_BYTES;
    if (this.size + payload > this.maxEnvelopeBytes) {
      const seen = this.size + payload;
      this.reset();
      this.discarding = flag === CHUNK_MORE;
      return fail(
        'MESSAGE_TOO_LARGE',
        `rpc/chunk: expected an envelope of at most ${this.maxEnvelopeBytes} bytes, got ${seen} and counting`,
      );
    }
    if (flag === CHUNK_FINAL && this.parts.length === 0) {
      return { kind: 'envelope', bytes: message.slice(CHUNK_HEADER_BYTES) };
    }
    this.parts.push(message.slice(CHUNK_HEADER_BYTES));
    this.size += payload;
    if (flag === CHUNK_MORE) return PENDING;
    const bytes = new Uint8Array(this.size);
    let offset = 0;
    for (const part of this.parts) {
      bytes.set(part, offset);
      offset += part.length;
    }
    this.reset();
    return { kind: 'envelope', bytes };
  }
}

function fail(code: ErrorName, message: string): AssemblyResult {
  return { kind: 'error', error: new WireError(code, message) };
}

/**
 * Sends whole envelopes one after another (chunks of two envelopes never interleave), with up
 * to SEND_WINDOW chunks in flight. `reset()` abandons every envelope not yet fully handed to the
 * channel: after a session ends, no chunk of an old envelope may reach a new session.
 */
export class EnvelopeSender {
  private epoch = 0;
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly channel: MessageChannel) {}

  reset(): void {
    this.epoch += 1;
  }

  send(envelope: Uint8Array): Promise<void> {
    const epoch = this.epoch;
    const run = this.tail.then(() => this.sendChunks(envelope, epoch));
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async sendChunks(envelope: Uint8Array, epoch: number): Promise<void> {
    const inflight: Promise<void>[] = [];
    for (const chunk of chunkEnvelope(envelope, this.channel.maxMessageSize)) {
      if (epoch !== this.epoch) {
        throw new WireError(
          'SESSION_CLOSED',
          'rpc/send: the session ended before the envelope was sent',
        );
      }
      const sent = this.channel.send(chunk);
      // Observed by the await below or Promise.all; this only silences an early rejection.
      sent.catch(() => undefined);
      inflight.push(sent);
      if (inflight.length >= SEND_WINDOW) await inflight.shift();
    }
    await Promise.all(inflight);
  }
}

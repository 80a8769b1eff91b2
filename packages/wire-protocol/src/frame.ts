/**
 * Layer 2 frames. Before COBS, all integers big-endian:
 *
 *   off  size  field
 *   0    1     version = FRAME_VERSION (0x01)
 *   1    1     type (FRAME_TYPES)
 *   2    1     flags: bit 0 END (DATA only); every other bit must be 0
 *   3    1     seq: DATA's sequence number, NACK's missing sequence number, 0 otherwise
 *   4    1     ack: next sequence number the sender of this frame expects (DATA, ACK, NACK); 0 otherwise
 *   5    2     payload length
 *   7    len   payload
 *   7+len 4    CRC-32C over bytes 0 .. 7+len-1
 *
 * On the line: COBS(frame) followed by one 0x00 delimiter.
 */
import { cobsDecode, cobsEncode, cobsMaxEncodedLength } from './cobs.js';
import { crc32c } from './crc32c.js';
import { WireError } from './errors.js';

export const FRAME_VERSION = 0x01;
export const HEADER_SIZE = 7;
export const CRC_SIZE = 4;
/** Largest DATA payload any peer may send. */
export const MAX_PAYLOAD = 1024;
/** Size of the link epoch nonce carried by RESET and RESET_ACK. */
export const NONCE_SIZE = 8;
/** Bit 0 of the flags byte: this DATA frame is the last fragment of its message. */
export const FLAG_END = 0x01;
/** Largest frame before COBS: header + MAX_PAYLOAD + CRC = 1035. */
export const MAX_RAW_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE;
/** Smallest frame before COBS (no payload): 11. */
export const MIN_RAW_FRAME = HEADER_SIZE + CRC_SIZE;
/**
 * Longest COBS-encoded frame, without its 0x00 delimiter: 1035 + ceil(1035 / 254) = 1040.
 * This is the most bytes a receiver ever holds between two delimiters; `encodeFrame` output is at
 * most MAX_ENCODED_FRAME + 1 bytes.
 */
export const MAX_ENCODED_FRAME = cobsMaxEncodedLength(MAX_RAW_FRAME);

export type FrameTypeName = 'DATA' | 'ACK' | 'NACK' | 'RESET' | 'RESET_ACK';

export interface FrameTypeSpec {
  readonly name: FrameTypeName;
  readonly code: number;
  /** Inclusive bounds of the payload length field. */
  readonly minLength: number;
  readonly maxLength: number;
  /** Flag bits this type may set. */
  readonly flags: number;
  /** Whether seq / ack carry a value; when false they must be 0. */
  readonly hasSeq: boolean;
  readonly hasAck: boolean;
}

function spec(
  name: FrameTypeName,
  code: number,
  length: readonly [number, number],
  flags: number,
  hasSeq: boolean,
  hasAck: boolean,
): FrameTypeSpec {
  return Object.freeze({
    name,
    code,
    minLength: length[0],
    maxLength: length[1],
    flags,
    hasSeq,
    hasAck,
  });
}

/** The frame type table. */
export const FRAME_TYPES: Readonly<Record<FrameTypeName, FrameTypeSpec>> = Object.freeze({
  DATA: spec('DATA', 0x01, [1, MAX_PAYLOAD], FLAG_END, true, true),
  ACK: spec('ACK', 0x02, [0, 0], 0, false, true),
  NACK: spec('NACK', 0x03, [0, 0], 0, true, true),
  RESET: spec('RESET', 0x04, [NONCE_SIZE, NONCE_SIZE], 0, false, false),
  RESET_ACK: spec('RESET_ACK', 0x05, [NONCE_SIZE, NONCE_SIZE], 0, false, false),
});

const BY_CODE: ReadonlyMap<number, FrameTypeSpec> = new Map(
  Object.values(FRAME_TYPES).map((s) => [s.code, s]),
);

export interface DataFrame {
  readonly type: 'DATA';
  readonly seq: number;
  readonly ack: number;
  /** Last fragment of its message. */
  readonly end: boolean;
  readonly payload: Uint8Array;
}
export interface AckFrame {
  readonly type: 'ACK';
  readonly ack: number;
}
export interface NackFrame {
  readonly type: 'NACK';
  /** The sequence number the receiver is missing. */
  readonly seq: number;
  readonly ack: number;
}
export interface ResetFrame {
  readonly type: 'RESET';
  readonly nonce: Uint8Array;
}
export interface ResetAckFrame {
  readonly type: 'RESET_ACK';
  readonly nonce: Uint8Array;
}
export type Frame = DataFrame | AckFrame | NackFrame | ResetFrame | ResetAckFrame;

/** Encode a frame for the line: COBS(header | payload | CRC-32C) followed by 0x00. */
export function encodeFrame(frame: Frame): Uint8Array {
  if (typeof frame !== 'object' || frame === null) {
    throw new WireError('BAD_FRAME', `frame/encode: expected a frame object, got ${String(frame)}`);
  }
  const s = FRAME_TYPES[frame.type as FrameTypeName];
  if (s === undefined || !Object.hasOwn(FRAME_TYPES, frame.type)) {
    throw new WireError(
      'BAD_FRAME',
      `frame/encode: expected a frame type name, got ${String(frame.type)}`,
    );
  }
  let seq = 0;
  let ack = 0;
  let flags = 0;
  let payload: Uint8Array;
  switch (frame.type) {
    case 'DATA':
      seq = checkU8('seq', frame.seq);
      ack = checkU8('ack', frame.ack);
      if (typeof frame.end !== 'boolean') {
        throw new WireError(
          'BAD_FRAME',
          `frame/encode: expected end to be a boolean, got ${typeof frame.end}`,
        );
      }
      flags = frame.end ? FLAG_END : 0;
      payload = frame.payload;
      break;
    case 'ACK':
      ack = checkU8('ack', frame.ack);
      payload = new Uint8Array(0);
      break;
    case 'NACK':
      seq = checkU8('seq', frame.seq);
      ack = checkU8('ack', frame.ack);
      payload = new Uint8Array(0);
      break;
    case 'RESET':
    case 'RESET_ACK':
      payload = frame.nonce;
      break;
  }
  if (!(payload instanceof Uint8Array)) {
    throw new WireError(
      'BAD_FRAME',
      `frame/encode: expected ${s.name} payload bytes, got ${typeof payload}`,
    );
  }
  if (payload.length < s.minLength || payload.length > s.maxLength) {
    throw new WireError(
      'BAD_FRAME',
      `frame/encode: expected ${s.name} payload of ${range(s)} bytes, got ${payload.length}`,
    );
  }
  const raw = new Uint8Array(MIN_RAW_FRAME + payload.length);
  const view = new DataView(raw.buffer);
  raw[0] = FRAME_VERSION;
  raw[1] = s.code;
  raw[2] = flags;
  raw[3] = seq;
  raw[4] = ack;
  view.setUint16(5, payload.length);
  raw.set(payload, HEADER_SIZE);
  const crcAt = HEADER_SIZE + payload.length;
  view.setUint32(crcAt, crc32c(raw.subarray(0, crcAt)));
  const body = cobsEncode(raw);
  const out = new Uint8Array(body.length + 1);
  out.set(body); // the last byte stays 0x00: the delimiter
  return out;
}

/**
 * Decode the bytes between two delimiters (COBS-encoded, no 0x00). Throws BAD_FRAME on anything
 * that is not exactly one valid frame.
 */
export function decodeFrame(body: Uint8Array): Frame {
  if (!(body instanceof Uint8Array)) {
    throw new WireError('BAD_FRAME', 'frame/decode: expected a Uint8Array');
  }
  if (body.length > MAX_ENCODED_FRAME) {
    throw new WireError(
      'BAD_FRAME',
      `frame/decode: expected at most ${MAX_ENCODED_FRAME} encoded bytes, got ${body.length}`,
    );
  }
  const raw = cobsDecode(body);
  if (raw.length < MIN_RAW_FRAME) {
    throw new WireError(
      'BAD_FRAME',
      `frame/decode: expected at least ${MIN_RAW_FRAME} bytes after COBS, got ${raw.length}`,
    );
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const version = raw[0] as number;
  if (version !== FRAME_VERSION) {
    throw new WireError(
      'BAD_FRAME',
      `frame/decode: expected version ${FRAME_VERSION}, got ${version}`,
    );
  }
  const length = view.getUint16(5);
  if (raw.length !== MIN_RAW_FRAME + length) {
    throw new WireError(
      'BAD_FRAME',
      `frame/decode: expected ${MIN_RAW_FRAME + length} bytes for payload length ${length}, got ${raw.length}`,
    );
  }
  const crcAt = HEADER_SIZE + length;
  const stated = view.getUint32(crcAt);
  const actual = crc32c(raw.subarray(0, crcAt));
  if (stated !== actual) {
    throw new WireError(
      'BAD_FRAME',
      `frame/decode: expected CRC-32C 0x${hex32(actual)}, got 0x${hex32(stated)}`,
    );
  }
  const code = raw[1] as number;
  const s = BY_CODE.get(code);
  if (s === undefined) {
    throw new WireError('BAD_FRAME', `frame/decode: expected type 0x01..0x05, got 0x${hex8(code)}`);
  }
  const flags = raw[2] as number;
  if ((flags & ~s.flags) !== 0) {
    throw new WireError(
      'BAD_FRAME',
      `frame/decode: expected ${s.name} flags within 0x${hex8(s.flags)}, got 0x${hex8(flags)}`,
    );
  }
  if (length < s.minLength || length > s.maxLength) {
    throw new WireError(
      'BAD_FRAME',
      `frame/decode: expected ${s.name} payload of ${range(s)} bytes, got ${length}`,
    );
  }
  const seq = raw[3] as number;
  const ack = raw[4] as number;
  if (!s.hasSeq && seq !== 0) {
    throw new WireError('BAD_FRAME', `frame/decode: expected seq 0 in ${s.name}, got ${seq}`);
  }
  if (!s.hasAck && ack !== 0) {
    throw new WireError('BAD_FRAME', `frame/decode: expected ack 0 in ${s.name}, got ${ack}`);
  }
  const payload = raw.slice(HEADER_SIZE, crcAt);
  switch (s.name) {
    case 'DATA':
      return { type: 'DATA', seq, ack, end: (flags & FLAG_END) !== 0, payload };
    case 'ACK':
      return { type: 'ACK', ack };
    case 'NACK':
      return { type: 'NACK', seq, ack };
    case 'RESET':
      return { type: 'RESET', nonce: payload };
    case 'RESET_ACK':
      return { type: 'RESET_ACK', nonce: payload };
  }
}

function checkU8(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new WireError(
      'BAD_FRAME',
      `frame/encode: expected ${field} 0..255, got ${String(value)}`,
    );
  }
  return value;
}

function range(s: FrameTypeSpec): string {
  return s.minLength === s.maxLength ? `${s.minLength}` : `${s.minLength}..${s.maxLength}`;
}

function hex8(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

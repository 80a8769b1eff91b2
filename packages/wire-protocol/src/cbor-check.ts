/**
 * The strict deterministic CBOR checker: a bounded, iterative walk over the bytes that runs
 * BEFORE any general-purpose decoder sees them. PROTOCOL.md §4 defines the data model.
 *
 * Accepted: unsigned and negative integers (major 0/1), byte strings (2), valid UTF-8 text
 * strings (3), arrays (4), maps (5) with text-string keys, and the simple values false, true, null.
 * Required: RFC 8949 §4.2.1 core deterministic encoding (shortest heads, map keys in strictly
 * increasing bytewise order of their encoding, hence no duplicates), no trailing bytes.
 *
 * The walk allocates one small frame per open container (at most `maxDepth`) and nothing per
 * item; every declared length or count is compared with the bytes that remain before it is used.
 */
import { isUtf8 } from 'node:buffer';
import { WireError } from './errors.js';

export interface CborLimits {
  /** Containers (arrays, maps) nested inside each other; a top-level container is depth 1. */
  maxDepth: number;
  /** Total encoded size of one message. */
  maxBytes: number;
  /** Items per container and in total: array elements plus map entries (a key-value pair is one). */
  maxItems: number;
  /** Content bytes of one byte string or text string. */
  maxStringBytes: number;
}

export const DEFAULT_CBOR_LIMITS: Readonly<CborLimits> = Object.freeze({
  maxDepth: 16,
  maxBytes: 8 * 1024 * 1024 + 64 * 1024,
  maxItems: 100_000,
  maxStringBytes: 8 * 1024 * 1024,
});

/**
 * Upper bounds on the limits themselves: the decoder and encoder recurse once per nesting level,
 * and lengths travel in at most 32 bits in this protocol.
 */
export const CBOR_LIMIT_CEILINGS: Readonly<CborLimits> = Object.freeze({
  maxDepth: 256,
  maxBytes: 0xffff_ffff,
  maxItems: 0xffff_ffff,
  maxStringBytes: 0xffff_ffff,
});

/**
 * Map keys that are refused anywhere: assigning them on a plain JS object can replace its
 * prototype (`__proto__`) or shadow what code expects to find there (`constructor`, `prototype`).
 */
export const FORBIDDEN_MAP_KEYS: readonly string[] = Object.freeze([
  '__proto__',
  'constructor',
  'prototype',
]);

const FORBIDDEN_KEY_BYTES: readonly Uint8Array[] = Object.freeze(
  FORBIDDEN_MAP_KEYS.map((k) => new TextEncoder().encode(k)),
);

const LIMIT_NAMES: readonly (keyof CborLimits)[] = Object.freeze([
  'maxDepth',
  'maxBytes',
  'maxItems',
  'maxStringBytes',
]);

/** Merge `limits` over the defaults, checking each given field. Throws INTERNAL: a caller bug. */
export function resolveCborLimits(place: string, limits?: Partial<CborLimits>): CborLimits {
  const out: CborLimits = { ...DEFAULT_CBOR_LIMITS };
  if (limits === undefined) return out;
  if (typeof limits !== 'object' || limits === null) {
    throw new WireError(
      'INTERNAL',
      `${place}: expected limits to be an object, got ${typeof limits}`,
    );
  }
  for (const name of LIMIT_NAMES) {
    const v: unknown = limits[name];
    if (v === undefined) continue;
    const ceiling = CBOR_LIMIT_CEILINGS[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > ceiling) {
      throw new WireError(
        'INTERNAL',
        `${place}: expected limits.${name} to be an integer in 0..${ceiling}, got ${String(v)}`,
      );
    }
    out[name] = v;
  }
  return out;
}

/** Human-readable names for the three allowed simple values and everything else in major 7. */
function describeMajor7(initial: number): string {
  const ai = initial & 0x1f;
  if (ai < 20) return `simple value ${ai}`;
  if (ai === 23) return 'undefined';
  if (ai === 24) return 'a one-byte simple value';
  if (ai === 25) return 'a float16';
  if (ai === 26) return 'a float32';
  if (ai === 27) return 'a float64';
  if (ai === 31) return 'a break stop code';
  return `reserved additional info ${ai}`;
}

const MAJOR_NAMES: readonly string[] = Object.freeze([
  'unsigned integer',
  'negative integer',
  'byte string',
  'text string',
  'array',
  'map',
  'tag',
  'simple/float',
]);

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/** Bytewise lexicographic comparison of two ranges of one buffer. */
function compareRanges(b: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number) {
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  for (let i = 0; i < n; i++) {
    const d = (b[aStart + i] ?? 0) - (b[bStart + i] ?? 0);
    if (d !== 0) return d;
  }
  return aEnd - aStart - (bEnd - bStart);
}

function rangeEquals(b: Uint8Array, start: number, end: number, other: Uint8Array): boolean {
  if (end - start !== other.length) return false;
  for (let i = 0; i < other.length; i++) if (b[start + i] !== other[i]) return false;
  return true;
}

/** Short, safe preview of a (validated UTF-8) key for error messages. */
function keyPreview(b: Uint8Array, start: number, end: number): string {
  const text = new TextDecoder().decode(b.subarray(start, Math.min(end, start + 48)));
  return JSON.stringify(end - start > 48 ? `${text}...` : text);
}

interface Frame {
  isMap: boolean;
  /** Elements (array) or entries (map) still to read. */
  remaining: number;
  /** Map only: the next item is a key. */
  expectKey: boolean;
  /** Map only: encoded bytes of the previous key, for the ordering rule; start -1 when none. */
  prevKeyStart: number;
  prevKeyEnd: number;
}

class StrictWalk {
  private readonly view: DataView;
  private pos = 0;
  private totalItems = 0;
  /** Argument of the last head read: high and low 32 bits (exact), and their number value. */
  private argHi = 0;
  private argLo = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly limits: CborLimits,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(
    at: number,
    what: string,
    code: 'BAD_CBOR' | 'MESSAGE_TOO_LARGE' = 'BAD_CBOR',
  ): never {
    throw new WireError(code, `cbor/check: at byte ${at}: ${what}`);
  }

  private argText(): string {
    return this.argHi === 0
      ? String(this.argLo)
      : ((BigInt(this.argHi) << 32n) | BigInt(this.argLo)).toString();
  }

  /** The argument as a number, exact below 2^53 and always above 2^32 when argHi > 0. */
  private argValue(): number {
    return this.argHi * 0x1_0000_0000 + this.argLo;
  }

  private need(start: number, n: number, what: string): void {
    if (this.bytes.length - this.pos < n) {
      this.fail(
        start,
        `expected ${n} more byte(s) for ${what}, got ${this.bytes.length - this.pos}`,
      );
    }
  }

  /**
   * Read the head at `pos` for majors 0-5: the argument in shortest form. Rejects reserved
   * additional info 28-30 and indefinite lengths (31). Leaves pos after the head.
   */
  private readHead(start: number, major: number, ai: number): void {
    this.pos = start + 1;
    const name = MAJOR_NAMES[major] ?? 'item';
    if (ai < 24) {
      this.argHi = 0;
      this.argLo = ai;
      return;
    }
    if (ai === 24) {
      this.need(start, 1, `the argument of a ${name}`);
      this.argHi = 0;
      this.argLo = this.view.getUint8(this.pos);
      this.pos += 1;
      if (this.argLo < 24) this.nonShortest(start, ai);
      return;
    }
    if (ai === 25) {
      this.need(start, 2, `the argument of a ${name}`);
      this.argHi = 0;
      this.argLo = this.view.getUint16(this.pos);
      this.pos += 2;
      if (this.argLo < 0x100) this.nonShortest(start, ai);
      return;
    }
    if (ai === 26) {
      this.need(start, 4, `the argument of a ${name}`);
      this.argHi = 0;
      this.argLo = this.view.getUint32(this.pos);
      this.pos += 4;
      if (this.argLo < 0x1_0000) this.nonShortest(start, ai);
      return;
    }
    if (ai === 27) {
      this.need(start, 8, `the argument of a ${name}`);
      this.argHi = this.view.getUint32(this.pos);
      this.argLo = this.view.getUint32(this.pos + 4);
      this.pos += 8;
      if (this.argHi === 0) this.nonShortest(start, ai);
      return;
    }
    if (ai === 31) {
      this.fail(
        start,
        major >= 2
          ? `expected a definite length, got an indefinite-length ${name} (${hex(major * 32 + ai)})`
          : `expected an integer argument, got additional info 31 on a ${name} (${hex(major * 32 + ai)})`,
      );
    }
    this.fail(start, `expected additional info 0-27, got reserved ${ai} (${hex(major * 32 + ai)})`);
  }

  private nonShortest(start: number, ai: number): never {
    const width = ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : 8;
    this.fail(
      start,
      `expected the shortest encoding of ${this.argText()}, got a ${width}-byte argument (additional info ${ai})`,
    );
  }

  /** Check one string body of `len` bytes at pos: bounds, size limit, and UTF-8 when text. */
  private readStringBody(start: number, major: number): { bodyStart: number; bodyEnd: number } {
    const name = MAJOR_NAMES[major] ?? 'string';
    const left = this.bytes.length - this.pos;
    if (this.argHi !== 0 || this.argLo > left) {
      this.fail(start, `${name} declares ${this.argText()} bytes, only ${left} remain`);
    }
    const len = this.argLo;
    if (len > this.limits.maxStringBytes) {
      this.fail(
        start,
        `expected a ${name} of at most ${this.limits.maxStringBytes} bytes, got ${len}`,
        'MESSAGE_TOO_LARGE',
      );
    }
    const bodyStart = this.pos;
    const bodyEnd = bodyStart + len;
    if (major === 3 && !isUtf8(this.bytes.subarray(bodyStart, bodyEnd))) {
      this.fail(start, `expected valid UTF-8 in a text string of ${len} bytes, got invalid bytes`);
    }
    this.pos = bodyEnd;
    return { bodyStart, bodyEnd };
  }

  /** Check a container head's count against the limits and the bytes left, before any use. */
  private openContainer(start: number, major: number, depth: number): Frame {
    const isMap = major === 5;
    const name = isMap ? 'map' : 'array';
    if (depth > this.limits.maxDepth) {
      this.fail(start, `expected nesting depth at most ${this.limits.maxDepth}, got ${depth}`);
    }
    const left = this.bytes.length - this.pos;
    const minBytesEach = isMap ? 2 : 1;
    const count = this.argValue();
    if (count * minBytesEach > left) {
      this.fail(
        start,
        `${name} declares ${this.argText()} ${isMap ? 'entries' : 'elements'} needing at least ${
          isMap ? '2 bytes each' : '1 byte each'
        }, only ${left} bytes remain`,
      );
    }
    if (count > this.limits.maxItems) {
      this.fail(start, `expected a ${name} of at most ${this.limits.maxItems} items, got ${count}`);
    }
    this.totalItems += count;
    if (this.totalItems > this.limits.maxItems) {
      this.fail(
        start,
        `expected at most ${this.limits.maxItems} items in the message, got ${this.totalItems}`,
      );
    }
    return { isMap, remaining: count, expectKey: true, prevKeyStart: -1, prevKeyEnd: -1 };
  }

  private checkKey(start: number, frame: Frame, bodyStart: number, bodyEnd: number): void {
    for (const forbidden of FORBIDDEN_KEY_BYTES) {
      if (rangeEquals(this.bytes, bodyStart, bodyEnd, forbidden)) {
        this.fail(
          start,
          `expected no map key ${keyPreview(this.bytes, bodyStart, bodyEnd)} (prototype-pollution guard), got one`,
        );
      }
    }
    if (frame.prevKeyStart < 0) return;
    const order = compareRanges(this.bytes, frame.prevKeyStart, frame.prevKeyEnd, start, this.pos);
    if (order === 0) {
      this.fail(
        start,
        `expected unique map keys, got ${keyPreview(this.bytes, bodyStart, bodyEnd)} twice`,
      );
    }
    if (order > 0) {
      this.fail(
        start,
        `expected map keys in increasing bytewise order of their encoding, got ${keyPreview(
          this.bytes,
          bodyStart,
          bodyEnd,
        )} after a greater key`,
      );
    }
  }

  run(): void {
    const stack: Frame[] = [];
    let rootRead = false;
    for (;;) {
      const frame = stack[stack.length - 1];
      if (frame === undefined) {
        if (rootRead) break;
      } else if (frame.remaining === 0) {
        stack.pop();
        continue;
      }
      const isKey = frame?.isMap === true && frame.expectKey;
      const start = this.pos;
      if (start >= this.bytes.length) {
        this.fail(start, `expected a data item, got end of input`);
      }
      const initial = this.view.getUint8(start);
      const major = initial >> 5;
      const ai = initial & 0x1f;
      if (isKey && major !== 3) {
        this.fail(
          start,
          `expected a text-string map key, got a ${MAJOR_NAMES[major] ?? 'item'} (${hex(initial)})`,
        );
      }
      let child: Frame | undefined;
      switch (major) {
        case 0:
        case 1:
          this.readHead(start, major, ai);
          break;
        case 2:
        case 3: {
          this.readHead(start, major, ai);
          const body = this.readStringBody(start, major);
          if (isKey && frame !== undefined)
            this.checkKey(start, frame, body.bodyStart, body.bodyEnd);
          break;
        }
        case 4:
        case 5:
          this.readHead(start, major, ai);
          child = this.openContainer(start, major, stack.length + 1);
          break;
        case 6:
          this.fail(start, `expected no tags, got a tag (${hex(initial)})`);
          break;
        default:
          if (initial < 0xf4 || initial > 0xf6) {
            this.fail(
              start,
              `expected false, true or null, got ${describeMajor7(initial)} (${hex(initial)})`,
            );
          }
          this.pos = start + 1;
      }
      // The item fills one slot of its parent.
      if (frame === undefined) {
        rootRead = true;
      } else if (frame.isMap) {
        if (frame.expectKey) {
          frame.expectKey = false;
          frame.prevKeyStart = start;
          frame.prevKeyEnd = this.pos;
        } else {
          frame.expectKey = true;
          frame.remaining -= 1;
        }
      } else {
        frame.remaining -= 1;
      }
      if (child !== undefined) stack.push(child);
    }
    if (this.pos !== this.bytes.length) {
      this.fail(
        this.pos,
        `expected end of input after the top-level item, got ${this.bytes.length - this.pos} trailing byte(s)`,
      );
    }
  }
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return v.constructor?.name ?? 'object';
  return typeof v;
}

/**
 * Throw unless `bytes` is exactly one data item of strict deterministic CBOR within `limits`.
 * Throws WireError BAD_CBOR, or MESSAGE_TOO_LARGE for a message or string over its byte limit;
 * INTERNAL only for invalid `limits` (a caller bug).
 */
export function checkStrictCbor(bytes: Uint8Array, limits?: Partial<CborLimits>): void {
  const resolved = resolveCborLimits('cbor/check', limits);
  if (!(bytes instanceof Uint8Array)) {
    throw new WireError(
      'BAD_CBOR',
      `cbor/check: expected a Uint8Array, got ${describeValue(bytes)}`,
    );
  }
  if (bytes.length > resolved.maxBytes) {
    throw new WireError(
      'MESSAGE_TOO_LARGE',
      `cbor/check: at byte 0: expected at most ${resolved.maxBytes} bytes, got ${bytes.length}`,
    );
  }
  new StrictWalk(bytes, resolved).run();
}

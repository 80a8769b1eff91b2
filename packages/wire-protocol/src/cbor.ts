/**
 * The strict CBOR codec of the RPC layer: `encodeCanonical` produces RFC 8949 §4.2.1 core
 * deterministic encoding of the data model in PROTOCOL.md §4; `decodeStrict` runs the strict
 * checker and only then hands the bytes to cbor-x.
 *
 * Encoding: cbor-x alone is not deterministic (bigints always as 8-byte 0x1b, numbers >= 2^32 as
 * float64, -2^64 as tag 3, plain objects with a fixed 3-byte map head and insertion key order,
 * Maps with tag 259, Uint8Array with tag 64). So this module writes every head itself (integers,
 * lengths, counts, false/true/null), sorts map entries by their encoded keys, and uses cbor-x only
 * for text-string leaves, where its output is canonical. Byte strings are a head plus a copy.
 * The output then passes `checkStrictCbor` before it is returned, so a bug here surfaces as
 * INTERNAL on the sending side rather than BAD_CBOR at the peer.
 */
import { Buffer } from 'node:buffer';
import { Decoder, Encoder } from 'cbor-x';
import {
  type CborLimits,
  checkStrictCbor,
  FORBIDDEN_MAP_KEYS,
  resolveCborLimits,
} from './cbor-check.js';
import { WireError } from './errors.js';

const U64_MAX = (1n << 64n) - 1n;
const NEG_U64_MIN = -(1n << 64n);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** Options under which cbor-x writes a JS string as a canonical CBOR text string, and nothing else. */
const TEXT_ENCODER = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  bundleStrings: false,
  pack: false,
  structuredClone: false,
  useSelfDescribedHeader: false,
});

/** Options under which cbor-x decodes checked input to plain values (no records, no Maps). */
const DECODER = new Decoder({
  useRecords: false,
  mapsAsObjects: true,
  bundleStrings: false,
  pack: false,
  structuredClone: false,
  sequential: false,
});

/** A lone UTF-16 surrogate cannot be written as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A growable output buffer; heads are written in the shortest form RFC 8949 §4.2.1 asks. */
class CanonicalWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  constructor(private readonly maxBytes: number) {}

  private reserve(n: number): void {
    const need = this.length + n;
    if (need > this.maxBytes) {
      throw new WireError(
        'MESSAGE_TOO_LARGE',
        `cbor/encode: expected at most ${this.maxBytes} encoded bytes, got at least ${need}`,
      );
    }
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(Math.min(size, this.maxBytes));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Head of major type 0-5 with a non-negative argument below 2^64. */
  head(major: number, arg: number | bigint): void {
    const mt = major << 5;
    if (typeof arg === 'bigint' && arg > 0xffff_ffffn) {
      this.reserve(9);
      this.view.setUint8(this.length, mt | 27);
      this.view.setBigUint64(this.length + 1, arg);
      this.length += 9;
      return;
    }
    const n = Number(arg);
    if (n < 24) {
      this.reserve(1);
      this.view.setUint8(this.length, mt | n);
      this.length += 1;
    } else if (n < 0x100) {
      this.reserve(2);
      this.view.setUint8(this.length, mt | 24);
      this.view.setUint8(this.length + 1, n);
      this.length += 2;
    } else if (n < 0x1_0000) {
      this.reserve(3);
      this.view.setUint8(this.length, mt | 25);
      this.view.setUint16(this.length + 1, n);
      this.length += 3;
    } else if (n < 0x1_0000_0000) {
      this.reserve(5);
      this.view.setUint8(this.length, mt | 26);
      this.view.setUint32(this.length + 1, n);
      this.length += 5;
    } else {
      this.head(major, BigInt(n));
    }
  }

  byte(b: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, b);
    this.length += 1;
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === null) return 'object';
  const ctor = (v as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === 'string' ? ctor.name : 'object';
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

interface Entry {
  key: string;
  encodedKey: Uint8Array;
  value: unknown;
}

/** Marks "the key being encoded" in an error path, as opposed to the value under it. */
const KEY_SEGMENT = Symbol('key');

class CanonicalEncoder {
  private readonly out: CanonicalWriter;
  private totalItems = 0;
  /** Encoded keys of this call, reused: messages repeat the same few keys many times. */
  private readonly keyCache = new Map<string, Uint8Array>();
  /** Where the walk is: array indexes and map keys; its length is the nesting depth. */
  private readonly path: (string | number | typeof KEY_SEGMENT)[] = [];

  constructor(private readonly limits: CborLimits) {
    this.out = new CanonicalWriter(limits.maxBytes);
  }

  result(): Uint8Array {
    return this.out.result();
  }

  /** The current position as `$.params.inputs[3]`, built only when an error needs it. */
  private where(): string {
    let text = '$';
    for (const seg of this.path) {
      if (typeof seg === 'number') text += `[${seg}]`;
      else if (seg === KEY_SEGMENT) text += '.<key>';
      else text += `.${JSON.stringify(seg)}`;
    }
    return text;
  }

  private fail(what: string, code: 'INTERNAL' | 'MESSAGE_TOO_LARGE' = 'INTERNAL'): never {
    throw new WireError(code, `cbor/encode: at ${this.where()}: ${what}`);
  }

  /**
   * A text string as cbor-x writes it (canonical for well-formed strings). The result is a view
   * of cbor-x's reusable buffer: use or copy it before the next call.
   */
  private encodeText(s: string): Uint8Array {
    if (LONE_SURROGATE.test(s)) this.fail('expected a well-formed string, got a lone surrogate');
    const size = Buffer.byteLength(s, 'utf8');
    if (size > this.limits.maxStringBytes) {
      this.fail(
        `expected a text string of at most ${this.limits.maxStringBytes} bytes, got ${size}`,
        'MESSAGE_TOO_LARGE',
      );
    }
    return TEXT_ENCODER.encode(s);
  }

  private countItems(count: number, kind: string): void {
    if (count > this.limits.maxItems) {
      this.fail(`expected a ${kind} of at most ${this.limits.maxItems} items, got ${count}`);
    }
    this.totalItems += count;
    if (this.totalItems > this.limits.maxItems) {
      this.fail(`expected at most ${this.limits.maxItems} items in total, got ${this.totalItems}`);
    }
  }

  private integer(v: bigint): void {
    if (v > U64_MAX || v < NEG_U64_MIN) {
      this.fail(`expected an integer in -2^64..2^64-1, got ${v}`);
    }
    if (v >= 0n) this.out.head(0, v <= 0xffff_ffffn ? Number(v) : v);
    else {
      const arg = -1n - v;
      this.out.head(1, arg <= 0xffff_ffffn ? Number(arg) : arg);
    }
  }

  private encodedKey(key: unknown): Uint8Array {
    if (typeof key !== 'string') this.fail(`expected text map keys, got a ${typeName(key)} key`);
    if (FORBIDDEN_MAP_KEYS.includes(key)) {
      this.fail(`expected no map key ${JSON.stringify(key)} (prototype-pollution guard), got one`);
    }
    let encoded = this.keyCache.get(key);
    if (encoded === undefined) {
      this.path.push(KEY_SEGMENT);
      encoded = new Uint8Array(this.encodeText(key));
      this.path.pop();
      this.keyCache.set(key, encoded);
    }
    return encoded;
  }

  /** The entries of a Map or plain object, sorted by the bytes of their encoded keys. */
  private entriesOf(v: object): Entry[] {
    const entries: Entry[] = [];
    if (v instanceof Map) {
      this.countItems(v.size, 'map');
      for (const [key, value] of v) {
        entries.push({ key, encodedKey: this.encodedKey(key), value });
      }
    } else {
      if (Object.getOwnPropertySymbols(v).length > 0) {
        this.fail('expected only string keys, got a symbol key');
      }
      const record = v as Record<string, unknown>;
      const keys = Object.keys(record);
      this.countItems(keys.length, 'map');
      for (const key of keys) {
        entries.push({ key, encodedKey: this.encodedKey(key), value: record[key] });
      }
    }
    entries.sort((a, b) => compareBytes(a.encodedKey, b.encodedKey));
    for (let i = 1; i < entries.length; i++) {
      const prev = entries[i - 1];
      const cur = entries[i];
      if (prev !== undefined && cur !== undefined) {
        if (compareBytes(prev.encodedKey, cur.encodedKey) === 0) {
          this.fail(`expected unique map keys, got ${JSON.stringify(cur.key)} twice`);
        }
      }
    }
    return entries;
  }

  /** Write `v`; `this.path` says where it is and how deep. */
  write(v: unknown): void {
    switch (typeof v) {
      case 'boolean':
        this.out.byte(v ? 0xf5 : 0xf4);
        return;
      case 'number':
        if (!Number.isSafeInteger(v)) {
          const kind = Number.isInteger(v) ? 'unsafe integer ' : '';
          this.fail(`expected a safe integer (use bigint beyond 2^53), got ${kind}${v}`);
        }
        // -1 - v is exact for every safe integer; -0 is written as 0.
        if (v >= 0) this.out.head(0, v);
        else this.out.head(1, -1 - v);
        return;
      case 'bigint':
        this.integer(v);
        return;
      case 'string':
        this.out.raw(this.encodeText(v));
        return;
      case 'object':
        break;
      default:
        this.fail(`expected a value of the CBOR data model, got ${typeof v}`);
    }
    if (v === null) {
      this.out.byte(0xf6);
      return;
    }
    if (v instanceof Uint8Array) {
      if (v.length > this.limits.maxStringBytes) {
        this.fail(
          `expected a byte string of at most ${this.limits.maxStringBytes} bytes, got ${v.length}`,
          'MESSAGE_TOO_LARGE',
        );
      }
      this.out.head(2, v.length);
      this.out.raw(v);
      return;
    }
    const isArray = Array.isArray(v);
    const isMap = v instanceof Map && Object.getPrototypeOf(v) === Map.prototype;
    if (!isArray && !isMap && !isPlainObject(v)) {
      this.fail(`expected an array, Map, plain object or Uint8Array, got ${typeName(v)}`);
    }
    const depth = this.path.length + 1;
    if (depth > this.limits.maxDepth) {
      this.fail(`expected nesting depth at most ${this.limits.maxDepth}, got ${depth}`);
    }
    if (isArray) {
      const arr = v as readonly unknown[];
      this.countItems(arr.length, 'array');
      this.out.head(4, arr.length);
      for (let i = 0; i < arr.length; i++) {
        this.path.push(i);
        this.write(arr[i]);
        this.path.pop();
      }
      return;
    }
    const entries = this.entriesOf(v);
    this.out.head(5, entries.length);
    for (const e of entries) {
      this.out.raw(e.encodedKey);
      this.path.push(e.key);
      this.write(e.value);
      this.path.pop();
    }
  }
}

/**
 * Encode `value` as strict deterministic CBOR (PROTOCOL.md §4). Equal values give equal bytes,
 * whatever the key insertion order or number/bigint choice. The output always passes
 * `checkStrictCbor` with the same limits.
 * Throws WireError INTERNAL for a value outside the data model (float, NaN, undefined, function,
 * symbol, Date, class instance, non-string key, forbidden key, integer outside -2^64..2^64-1,
 * lone surrogate, depth or item count over the limits), MESSAGE_TOO_LARGE for a string or the
 * whole output over its byte limit.
 */
export function encodeCanonical(value: unknown, limits?: Partial<CborLimits>): Uint8Array {
  const resolved = resolveCborLimits('cbor/encode', limits);
  const encoder = new CanonicalEncoder(resolved);
  try {
    encoder.write(value);
  } catch (e) {
    if (e instanceof WireError) throw e;
    // A getter or proxy in the value threw: still only WireError leaves this module.
    const reason = e instanceof Error ? e.message : String(e);
    throw new WireError('INTERNAL', `cbor/encode: reading the value threw: ${reason}`, {
      cause: e,
    });
  }
  const bytes = encoder.result();
  try {
    checkStrictCbor(bytes, resolved);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new WireError('INTERNAL', `cbor/encode: output failed the strict check: ${reason}`, {
      cause: e,
    });
  }
  return bytes;
}

/**
 * Bring cbor-x's output to the data model's JS shape, in place: integers within the safe range as
 * number (cbor-x returns bigint for every 8-byte argument), larger ones as bigint; byte strings as
 * fresh Uint8Array copies (cbor-x returns views of the input). Depth is bounded by the checker.
 */
function normalise(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = normalise(v[i]);
    return v;
  }
  const record = v as Record<string, unknown>;
  for (const key of Object.keys(record)) record[key] = normalise(record[key]);
  return record;
}

/**
 * Decode one strict deterministic CBOR message: `checkStrictCbor` first (throws BAD_CBOR or
 * MESSAGE_TOO_LARGE), then cbor-x. Maps become plain objects (their keys were checked against
 * the prototype-pollution guard), integers number when safe else bigint, byte strings copies.
 */
export function decodeStrict(bytes: Uint8Array, limits?: Partial<CborLimits>): unknown {
  checkStrictCbor(bytes, limits);
  // A fresh view: cbor-x caches a DataView on the object it is given; keep the caller's clean.
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let decoded: unknown;
  try {
    decoded = DECODER.decode(view);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new WireError('BAD_CBOR', `cbor/decode: cbor-x refused checked input: ${reason}`, {
      cause: e,
    });
  }
  return normalise(decoded);
}

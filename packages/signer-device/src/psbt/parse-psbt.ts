/**
 * The bounded prescan of a PSBT (BIP174, version 0): walks magic, maps, keys and values against
 * the remaining bytes and the limits BEFORE any library allocates from a length the coordinator
 * chose, and parses the unsigned transaction and every previous transaction itself, keeping the
 * exact bytes (a txid is the hash of the bytes given, never of a re-encoding).
 * Pure: no I/O, no clock. Throws SignerError BAD_PSBT with `detail.reason` (VERIFY_REASONS).
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { SignerError } from '../errors.js';
import type { PsbtLimits } from './limits.js';
import { VERIFY_REASONS, type VerifyReason } from './verify-reasons.js';

/** One key-value record: `keyType` is the decoded compact-size type, `key` the whole key. */
export interface RawEntry {
  readonly keyType: number;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}
export type RawMap = readonly RawEntry[];

export interface RawTxInput {
  /** Previous txid, 32 bytes, internal byte order (as serialized). */
  readonly txid: Uint8Array;
  readonly vout: number;
  readonly scriptSig: Uint8Array;
  readonly sequence: number;
}
export interface RawTxOutput {
  /** Unsigned 64-bit as serialized: a "negative" int64 shows as 2^64 − X, caught by MAX_MONEY. */
  readonly amount: bigint;
  readonly script: Uint8Array;
}
export interface RawTx {
  readonly version: number;
  readonly inputs: readonly RawTxInput[];
  readonly outputs: readonly RawTxOutput[];
  readonly locktime: number;
  readonly hasWitness: boolean;
  /** Double SHA-256 of the serialization without witness, internal byte order. */
  readonly txid: Uint8Array;
}

export interface PrescannedPsbt {
  readonly global: RawMap;
  readonly inputs: readonly RawMap[];
  readonly outputs: readonly RawMap[];
  readonly tx: RawTx;
}

export const PSBT_MAGIC = Object.freeze([0x70, 0x73, 0x62, 0x74, 0xff]);

/** Global key types defined only for PSBT version 2 (BIP370): excluded from version 0. */
const GLOBAL_V2_ONLY = Object.freeze([0x02, 0x03, 0x04, 0x05, 0x06]);
const GLOBAL_UNSIGNED_TX = 0x00;
const GLOBAL_VERSION = 0xfb;

export function badPsbt(
  place: string,
  what: string,
  reason: VerifyReason,
  extra: Record<string, unknown> = {},
): SignerError {
  return new SignerError('BAD_PSBT', `verify-psbt/${place}: ${what}`, { reason, ...extra });
}

/** A cursor over bytes that never reads past the end and never trusts a length. */
export class Reader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly place: string,
    readonly end = bytes.length,
  ) {}
  get remaining(): number {
    return this.end - this.pos;
  }
  private need(n: number, what: string): void {
    if (n > this.remaining) {
      throw badPsbt(
        this.place,
        `expected ${n} bytes of ${what} at offset ${this.pos}, got ${this.remaining}`,
        VERIFY_REASONS.TRUNCATED,
      );
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos++] ?? 0;
  }
  u32(what: string): number {
    this.need(4, what);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return (
      ((b[p] ?? 0) | ((b[p + 1] ?? 0) << 8) | ((b[p + 2] ?? 0) << 16) | ((b[p + 3] ?? 0) << 24)) >>>
      0
    );
  }
  u64(what: string): bigint {
    const lo = BigInt(this.u32(what));
    const hi = BigInt(this.u32(what));
    return (hi << 32n) | lo;
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
  bytesOf(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** Compact size, minimally encoded, at most `max` (and never above 2^32 − 1). */
  compactSize(what: string, max: number): number {
    const first = this.u8(what);
    let n: number;
    let min: number;
    if (first < 0xfd) return check(first, 0, max, this, what);
    if (first === 0xfd) {
      this.need(2, what);
      n = (this.bytes[this.pos] ?? 0) | ((this.bytes[this.pos + 1] ?? 0) << 8);
      this.pos += 2;
      min = 0xfd;
    } else if (first === 0xfe) {
      n = this.u32(what);
      min = 0x10000;
    } else {
      const big = this.u64(what);
      if (big < 0x100000000n) {
        throw badPsbt(
          this.place,
          `expected a minimal compact size for ${what}`,
          VERIFY_REASONS.NON_MINIMAL_COMPACT_SIZE,
        );
      }
      throw badPsbt(
        this.place,
        `expected ${what} at most ${max}, got ${big}`,
        VERIFY_REASONS.TRUNCATED,
      );
    }
    return check(n, min, max, this, what);
  }
}

function check(n: number, min: number, max: number, r: Reader, what: string): number {
  if (n < min) {
    throw badPsbt(
      r.place,
      `expected a minimal compact size for ${what}, got ${n} in a longer form`,
      VERIFY_REASONS.NON_MINIMAL_COMPACT_SIZE,
    );
  }
  if (n > max) {
    throw badPsbt(r.place, `expected ${what} at most ${max}, got ${n}`, VERIFY_REASONS.TRUNCATED);
  }
  return n;
}

export const dsha256 = (b: Uint8Array): Uint8Array => sha256(sha256(b));

/** Smallest serialized input (36 outpoint + 1 script length + 4 sequence) and output (8 + 1). */
const MIN_INPUT_BYTES = 41;
const MIN_OUTPUT_BYTES = 9;

export interface TxParseLimits {
  readonly maxInputs: number;
  readonly maxOutputs: number;
  readonly maxScriptBytes: number;
  /** Reason when the input/output count is above the limit. */
  readonly tooManyInputs: VerifyReason;
  readonly tooManyOutputs: VerifyReason;
}

/**
 * Parses one whole transaction (legacy or BIP144 witness serialization) from exactly `bytes`.
 * Counts are checked against the limits and against the bytes left before anything is allocated.
 */
export function parseTx(bytes: Uint8Array, place: string, lim: TxParseLimits): RawTx {
  const r = new Reader(bytes, place);
  const version = r.u32('version') | 0;
  let hasWitness = false;
  if (r.remaining >= 2 && bytes[r.pos] === 0x00 && bytes[r.pos + 1] === 0x01) {
    hasWitness = true;
    r.pos += 2;
  }
  const ioStart = r.pos;
  const nIn = r.compactSize('input count', Number.MAX_SAFE_INTEGER);
  if (nIn > lim.maxInputs) {
    throw badPsbt(
      place,
      `expected at most ${lim.maxInputs} inputs, got ${nIn}`,
      lim.tooManyInputs,
      { count: nIn },
    );
  }
  if (nIn * MIN_INPUT_BYTES > r.remaining) {
    throw badPsbt(
      place,
      `expected room for ${nIn} inputs, got ${r.remaining} bytes`,
      VERIFY_REASONS.TRUNCATED,
    );
  }
  const inputs: RawTxInput[] = [];
  for (let i = 0; i < nIn; i++) {
    const txid = r.bytesOf(32, `input ${i} txid`);
    const vout = r.u32(`input ${i} vout`);
    const scriptSig = r.bytesOf(
      r.compactSize(`input ${i} scriptSig length`, lim.maxScriptBytes),
      `input ${i} scriptSig`,
    );
    const sequence = r.u32(`input ${i} sequence`);
    inputs.push(Object.freeze({ txid, vout, scriptSig, sequence }));
  }
  const nOut = r.compactSize('output count', Number.MAX_SAFE_INTEGER);
  if (nOut > lim.maxOutputs) {
    throw badPsbt(
      place,
      `expected at most ${lim.maxOutputs} outputs, got ${nOut}`,
      lim.tooManyOutputs,
      { count: nOut },
    );
  }
  if (nOut * MIN_OUTPUT_BYTES > r.remaining) {
    throw badPsbt(
      place,
      `expected room for ${nOut} outputs, got ${r.remaining} bytes`,
      VERIFY_REASONS.TRUNCATED,
    );
  }
  const outputs: RawTxOutput[] = [];
  for (let j = 0; j < nOut; j++) {
    const amount = r.u64(`output ${j} amount`);
    const script = r.bytesOf(
      r.compactSize(`output ${j} script length`, lim.maxScriptBytes),
      `output ${j} script`,
    );
    outputs.push(Object.freeze({ amount, script }));
  }
  const ioEnd = r.pos;
  if (hasWitness) {
    for (let i = 0; i < nIn; i++) {
      const items = r.compactSize(`input ${i} witness count`, r.remaining);
      for (let k = 0; k < items; k++) {
        r.skip(r.compactSize(`input ${i} witness item ${k} length`, r.remaining), 'witness item');
      }
    }
  }
  const locktime = r.u32('locktime');
  if (r.remaining !== 0) {
    throw badPsbt(
      place,
      `expected the transaction to end at byte ${r.pos}, got ${r.remaining} more`,
      VERIFY_REASONS.TRAILING_BYTES,
    );
  }
  const stripped = new Uint8Array(4 + (ioEnd - ioStart) + 4);
  stripped.set(bytes.subarray(0, 4), 0);
  stripped.set(bytes.subarray(ioStart, ioEnd), 4);
  stripped.set(bytes.subarray(bytes.length - 4), 4 + ioEnd - ioStart);
  return Object.freeze({
    version,
    inputs: Object.freeze(inputs),
    outputs: Object.freeze(outputs),
    locktime,
    hasWitness,
    txid: dsha256(stripped),
  });
}

function readMap(r: Reader, place: string, limits: PsbtLimits): RawEntry[] {
  const entries: RawEntry[] = [];
  const seen = new Set<string>();
  for (;;) {
    const keyLen = r.compactSize(`${place} key length`, r.remaining);
    if (keyLen === 0) return entries;
    if (keyLen > limits.maxKeyBytes) {
      throw badPsbt(
        place,
        `expected keys of at most ${limits.maxKeyBytes} bytes, got ${keyLen}`,
        VERIFY_REASONS.KEY_TOO_LONG,
      );
    }
    if (entries.length >= limits.maxKeysPerMap) {
      throw badPsbt(
        place,
        `expected at most ${limits.maxKeysPerMap} records in one map, got more`,
        VERIFY_REASONS.TOO_MANY_KEYS,
      );
    }
    const key = r.bytesOf(keyLen, `${place} key`);
    const keyType = new Reader(key, `${place} key type`).compactSize('key type', 0xffffffff);
    const value = r.bytesOf(r.compactSize(`${place} value length`, r.remaining), `${place} value`);
    const id = bytesToHex(key);
    if (seen.has(id)) {
      throw badPsbt(
        place,
        `expected unique keys, got key type 0x${keyType.toString(16)} twice`,
        VERIFY_REASONS.DUPLICATE_KEY,
        { keyType },
      );
    }
    seen.add(id);
    entries.push(Object.freeze({ keyType, key, value }));
  }
}

/** The one record of `type` in a map, which must carry no key data; undefined when absent. */
export function singleValue(map: RawMap, type: number, place: string): Uint8Array | undefined {
  const e = map.find((x) => x.keyType === type);
  if (e === undefined) return undefined;
  if (e.key.length !== 1) {
    throw badPsbt(
      place,
      `expected no key data for key type 0x${type.toString(16)}, got ${e.key.length - 1} bytes`,
      VERIFY_REASONS.BAD_FIELD,
      { keyType: type },
    );
  }
  return e.value;
}

/**
 * Step 2: the bounded walk. Checks magic, the global map (unsigned transaction present and in the
 * old serialization with empty scriptSigs, PSBT version 0 only, no version-2 fields), exactly one
 * input map per input and one output map per output, and nothing after the last map.
 */
export function prescanPsbt(bytes: Uint8Array, limits: PsbtLimits): PrescannedPsbt {
  const r = new Reader(bytes, 'prescan');
  for (const [i, m] of PSBT_MAGIC.entries()) {
    if (r.remaining === 0 || bytes[i] !== m) {
      throw badPsbt(
        'prescan',
        'expected the magic 70736274ff, got other bytes',
        VERIFY_REASONS.BAD_MAGIC,
      );
    }
    r.pos++;
  }
  const global = Object.freeze(readMap(r, 'global', limits));
  for (const e of global) {
    if (GLOBAL_V2_ONLY.includes(e.keyType)) {
      throw badPsbt(
        'global',
        `expected no PSBTv2 field in a version 0 PSBT, got key type 0x${e.keyType.toString(16)}`,
        VERIFY_REASONS.BAD_FIELD,
        { keyType: e.keyType },
      );
    }
  }
  const version = singleValue(global, GLOBAL_VERSION, 'global');
  if (version !== undefined && (version.length !== 4 || version.some((b) => b !== 0))) {
    throw badPsbt(
      'global',
      'expected PSBT version 0, got another version',
      VERIFY_REASONS.UNSUPPORTED_PSBT_VERSION,
    );
  }
  const unsigned = singleValue(global, GLOBAL_UNSIGNED_TX, 'global');
  if (unsigned === undefined) {
    throw badPsbt(
      'global',
      'expected PSBT_GLOBAL_UNSIGNED_TX, got none',
      VERIFY_REASONS.MISSING_UNSIGNED_TX,
    );
  }
  const tx = parseTx(unsigned, 'global/unsigned tx', {
    maxInputs: limits.maxInputs,
    maxOutputs: limits.maxOutputs,
    maxScriptBytes: limits.maxScriptBytes,
    tooManyInputs: VERIFY_REASONS.TOO_MANY_INPUTS,
    tooManyOutputs: VERIFY_REASONS.TOO_MANY_OUTPUTS,
  });
  if (tx.hasWitness) {
    throw badPsbt(
      'global/unsigned tx',
      'expected the old serialization without witness, got a witness flag',
      VERIFY_REASONS.BAD_UNSIGNED_TX,
    );
  }
  if (tx.inputs.length === 0 || tx.outputs.length === 0) {
    throw badPsbt(
      'global/unsigned tx',
      `expected at least one input and one output, got ${tx.inputs.length} and ${tx.outputs.length}`,
      VERIFY_REASONS.BAD_UNSIGNED_TX,
    );
  }
  tx.inputs.forEach((inp, i) => {
    if (inp.scriptSig.length !== 0) {
      throw badPsbt(
        'global/unsigned tx',
        `expected an empty scriptSig in input ${i}, got ${inp.scriptSig.length} bytes`,
        VERIFY_REASONS.BAD_UNSIGNED_TX,
        { input: i },
      );
    }
  });
  const inputs: RawMap[] = [];
  for (let i = 0; i < tx.inputs.length; i++) {
    if (r.remaining === 0) {
      throw badPsbt(
        'prescan',
        `expected ${tx.inputs.length} input maps, got ${i}`,
        VERIFY_REASONS.MAP_COUNT,
      );
    }
    inputs.push(Object.freeze(readMap(r, `input ${i}`, limits)));
  }
  const outputs: RawMap[] = [];
  for (let j = 0; j < tx.outputs.length; j++) {
    if (r.remaining === 0) {
      throw badPsbt(
        'prescan',
        `expected ${tx.outputs.length} output maps, got ${j}`,
        VERIFY_REASONS.MAP_COUNT,
      );
    }
    outputs.push(Object.freeze(readMap(r, `output ${j}`, limits)));
  }
  if (r.remaining !== 0) {
    throw badPsbt(
      'prescan',
      `expected the PSBT to end after the last output map, got ${r.remaining} more bytes`,
      VERIFY_REASONS.TRAILING_BYTES,
    );
  }
  return Object.freeze({
    global,
    inputs: Object.freeze(inputs),
    outputs: Object.freeze(outputs),
    tx,
  });
}

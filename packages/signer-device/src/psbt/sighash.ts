/**
 * BIP143 signature hash (segwit v0) for SIGHASH_ALL only, with the three hashes shared by every
 * input — hashPrevouts, hashSequence, hashOutputs — computed once per transaction in the
 * constructor. Each `digest` then hashes one fixed-size preimage (plus the script), so signing n
 * inputs costs O(n) hashing instead of the O(n^2) of recomputing the shared hashes per input
 * (NOTES.md: @scure/btc-signer does the latter). Pure: no I/O, no clock.
 *
 * Preimage (all integers little-endian):
 *   version u32 | hashPrevouts 32 | hashSequence 32 | outpoint (txid 32 | vout u32) |
 *   scriptCode (compact size | bytes) | amount u64 | sequence u32 | hashOutputs 32 |
 *   locktime u32 | sighash type u32 (= 1)
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { SignerError } from '../errors.js';

export interface SighashTx {
  version: number;
  locktime: number;
  inputs: readonly { txid: Uint8Array /* internal order */; vout: number; sequence: number }[];
  outputs: readonly { script: Uint8Array; amount: bigint }[];
}

/** A single SHA-256; injectable so a test can count what is hashed. */
export type Sha256 = (data: Uint8Array) => Uint8Array;

export const SIGHASH_ALL = 1;
/** 21 million BTC in satoshis: no amount may exceed it. */
export const MAX_MONEY = 2_100_000_000_000_000n;
/** Consensus limit of a witness script (and of any script). */
export const MAX_SCRIPT_BYTES = 10_000;
const MAX_U32 = 0xffffffff;

function fail(message: string, detail: Record<string, unknown> = {}): SignerError {
  return new SignerError('BAD_PSBT', `sighash/${message}`, detail);
}

function isU32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_U32;
}

function checkAmount(a: unknown, place: string): bigint {
  if (typeof a !== 'bigint' || a < 0n || a > MAX_MONEY) {
    throw fail(
      `${place}: expected an amount 0..${MAX_MONEY} sat as bigint, got ${typeof a === 'bigint' ? a.toString() : typeof a}`,
    );
  }
  return a;
}

function checkScript(s: unknown, place: string, min: number): Uint8Array {
  if (!(s instanceof Uint8Array) || s.length < min || s.length > MAX_SCRIPT_BYTES) {
    throw fail(
      `${place}: expected a script of ${min}..${MAX_SCRIPT_BYTES} bytes, got ${s instanceof Uint8Array ? `${s.length} bytes` : typeof s}`,
    );
  }
  return s;
}

const compactSizeLength = (n: number): number => (n < 0xfd ? 1 : n <= 0xffff ? 3 : 5);

/** Little-endian writer over a preallocated buffer. */
class Writer {
  private pos = 0;
  constructor(readonly buf: Uint8Array) {}
  u32(n: number): void {
    const v = n >>> 0;
    this.buf[this.pos++] = v & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 24) & 0xff;
  }
  u64(n: bigint): void {
    this.u32(Number(n & 0xffffffffn));
    this.u32(Number((n >> 32n) & 0xffffffffn));
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  compactSize(n: number): void {
    if (n < 0xfd) this.buf[this.pos++] = n;
    else if (n <= 0xffff) {
      this.buf[this.pos++] = 0xfd;
      this.buf[this.pos++] = n & 0xff;
      this.buf[this.pos++] = n >>> 8;
    } else {
      this.buf[this.pos++] = 0xfe;
      this.u32(n);
    }
  }
  done(): Uint8Array {
    if (this.pos !== this.buf.length) throw fail('writer: internal length mismatch');
    return this.buf;
  }
}

export class Bip143Sighash {
  private readonly version: number;
  private readonly locktime: number;
  private readonly inputs: readonly { txid: Uint8Array; vout: number; sequence: number }[];
  private readonly hashPrevouts: Uint8Array;
  private readonly hashSequence: Uint8Array;
  private readonly hashOutputs: Uint8Array;
  private readonly sha: Sha256;

  /**
   * Validates the transaction and computes the three shared hashes (6 SHA-256 calls, total input
   * linear in the transaction size). `hash` defaults to @noble/hashes sha256.
   */
  constructor(tx: SighashTx, hash: Sha256 = sha256) {
    if (tx === null || typeof tx !== 'object')
      throw fail(`tx: expected an object, got ${tx === null ? 'null' : typeof tx}`);
    const { version, locktime, inputs, outputs } = tx;
    if (
      typeof version !== 'number' ||
      !Number.isInteger(version) ||
      version < -0x80000000 ||
      version > MAX_U32
    ) {
      throw fail(`tx: expected a 32-bit version, got ${String(version).slice(0, 24)}`);
    }
    if (!isU32(locktime))
      throw fail(`tx: expected a u32 locktime, got ${String(locktime).slice(0, 24)}`);
    if (!Array.isArray(inputs) || inputs.length === 0)
      throw fail('tx: expected at least one input');
    if (!Array.isArray(outputs) || outputs.length === 0)
      throw fail('tx: expected at least one output');
    this.sha = hash;
    this.version = version;
    this.locktime = locktime;

    const prevouts = new Writer(new Uint8Array(36 * inputs.length));
    const sequences = new Writer(new Uint8Array(4 * inputs.length));
    const copies: { txid: Uint8Array; vout: number; sequence: number }[] = [];
    inputs.forEach((inp, i) => {
      const txid: unknown = inp?.txid;
      if (!(txid instanceof Uint8Array) || txid.length !== 32)
        throw fail(`input ${i}: expected a 32-byte txid`, { input: i });
      if (!isU32(inp.vout))
        throw fail(`input ${i}: expected a u32 vout, got ${String(inp.vout).slice(0, 24)}`, {
          input: i,
        });
      if (!isU32(inp.sequence))
        throw fail(
          `input ${i}: expected a u32 sequence, got ${String(inp.sequence).slice(0, 24)}`,
          { input: i },
        );
      const copy = { txid: txid.slice(), vout: inp.vout, sequence: inp.sequence };
      copies.push(copy);
      prevouts.bytes(copy.txid);
      prevouts.u32(copy.vout);
      sequences.u32(copy.sequence);
    });
    this.inputs = Object.freeze(copies);

    let outLen = 0;
    const scripts = outputs.map((o, i) => {
      checkAmount(o?.amount, `output ${i}`);
      const s = checkScript(o.script, `output ${i}`, 0);
      outLen += 8 + compactSizeLength(s.length) + s.length;
      return s;
    });
    const outs = new Writer(new Uint8Array(outLen));
    outputs.forEach((o, i) => {
      const s = scripts[i] ?? new Uint8Array();
      outs.u64(o.amount);
      outs.compactSize(s.length);
      outs.bytes(s);
    });

    this.hashPrevouts = this.dsha(prevouts.done());
    this.hashSequence = this.dsha(sequences.done());
    this.hashOutputs = this.dsha(outs.done());
  }

  private dsha(data: Uint8Array): Uint8Array {
    return this.sha(this.sha(data));
  }

  /** Copies of the shared hashes (for tests and audit). */
  sharedHashes(): { hashPrevouts: Uint8Array; hashSequence: Uint8Array; hashOutputs: Uint8Array } {
    return {
      hashPrevouts: this.hashPrevouts.slice(),
      hashSequence: this.hashSequence.slice(),
      hashOutputs: this.hashOutputs.slice(),
    };
  }

  /** The BIP143 preimage for SIGHASH_ALL (exposed for tests; `digest` is its double SHA-256). */
  preimage(inputIndex: number, scriptCode: Uint8Array, amount: bigint): Uint8Array {
    if (!Number.isInteger(inputIndex) || inputIndex < 0 || inputIndex >= this.inputs.length) {
      throw fail(
        `digest: expected an input index 0..${this.inputs.length - 1}, got ${String(inputIndex).slice(0, 24)}`,
      );
    }
    const input = this.inputs[inputIndex];
    if (input === undefined) throw fail(`digest: input ${inputIndex} missing`);
    const script = checkScript(scriptCode, `input ${inputIndex} scriptCode`, 1);
    checkAmount(amount, `input ${inputIndex}`);
    const w = new Writer(new Uint8Array(156 + compactSizeLength(script.length) + script.length));
    w.u32(this.version);
    w.bytes(this.hashPrevouts);
    w.bytes(this.hashSequence);
    w.bytes(input.txid);
    w.u32(input.vout);
    w.compactSize(script.length);
    w.bytes(script);
    w.u64(amount);
    w.u32(input.sequence);
    w.bytes(this.hashOutputs);
    w.u32(this.locktime);
    w.u32(SIGHASH_ALL);
    return w.done();
  }

  /** SIGHASH_ALL digest of input `inputIndex` spending `amount` under `scriptCode` (the witness script). */
  digest(inputIndex: number, scriptCode: Uint8Array, amount: bigint): Uint8Array {
    return this.dsha(this.preimage(inputIndex, scriptCode, amount));
  }
}

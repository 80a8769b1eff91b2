import { readFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import { Transaction } from '@scure/btc-signer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSignerError } from '../../src/errors.js';
import { Bip143Sighash, MAX_MONEY, type SighashTx } from '../../src/psbt/sighash.js';

interface Bip143Case {
  name: string;
  unsignedTx: string;
  inputIndex: number;
  scriptCode: string;
  amount: string;
  hashPrevouts: string;
  hashSequence: string;
  hashOutputs: string;
  preimage?: string;
  sigHash: string;
}
const vectors = JSON.parse(
  readFileSync(new URL('../vectors/bip143/sighash-all.json', import.meta.url), 'utf8'),
) as { cases: Bip143Case[] };

/** Reads a non-witness serialized transaction (enough for the BIP143 examples). */
function parseLegacyTx(txHex: string): SighashTx {
  const b = hex.decode(txHex);
  let p = 0;
  const u32 = () => {
    const v =
      ((b[p] ?? 0) | ((b[p + 1] ?? 0) << 8) | ((b[p + 2] ?? 0) << 16) | ((b[p + 3] ?? 0) << 24)) >>>
      0;
    p += 4;
    return v;
  };
  const varint = () => {
    const f = b[p++] ?? 0;
    if (f < 0xfd) return f;
    throw new Error('test parser: large varint not needed here');
  };
  const bytes = (n: number) => {
    const out = b.slice(p, p + n);
    p += n;
    return out;
  };
  const version = u32();
  const inputs = Array.from({ length: varint() }, () => {
    const txid = bytes(32);
    const vout = u32();
    bytes(varint());
    return { txid, vout, sequence: u32() };
  });
  const outputs = Array.from({ length: varint() }, () => {
    const lo = BigInt(u32());
    const amount = lo | (BigInt(u32()) << 32n);
    return { amount, script: bytes(varint()) };
  });
  const locktime = u32();
  if (p !== b.length) throw new Error('test parser: trailing bytes');
  return { version, locktime, inputs, outputs };
}

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (isSignerError(e)) return e.code;
    throw e;
  }
  return 'no error';
};

describe('BIP143 published SIGHASH_ALL examples, byte-exact', () => {
  it.each(vectors.cases.map((c) => [c.name, c]))('%s', (_n, c) => {
    const s = new Bip143Sighash(parseLegacyTx(c.unsignedTx));
    const shared = s.sharedHashes();
    expect(hex.encode(shared.hashPrevouts)).toBe(c.hashPrevouts);
    expect(hex.encode(shared.hashSequence)).toBe(c.hashSequence);
    expect(hex.encode(shared.hashOutputs)).toBe(c.hashOutputs);
    const script = hex.decode(c.scriptCode);
    if (c.preimage !== undefined) {
      expect(hex.encode(s.preimage(c.inputIndex, script, BigInt(c.amount)))).toBe(c.preimage);
    }
    expect(hex.encode(s.digest(c.inputIndex, script, BigInt(c.amount)))).toBe(c.sigHash);
  });

  it('commits to the input amount (SegWit fee attack) and to the script', () => {
    const c = vectors.cases[2] as Bip143Case;
    const s = new Bip143Sighash(parseLegacyTx(c.unsignedTx));
    const script = hex.decode(c.scriptCode);
    const d = hex.encode(s.digest(0, script, BigInt(c.amount)));
    expect(hex.encode(s.digest(0, script, BigInt(c.amount) + 1n))).not.toBe(d);
    const other = script.slice();
    other[5] = (other[5] ?? 0) ^ 1;
    expect(hex.encode(s.digest(0, other, BigInt(c.amount)))).not.toBe(d);
  });
});

const toBytes = (a: number[]) => Uint8Array.from(a);
const arbTx = fc.record({
  version: fc.integer({ min: 1, max: 3 }),
  locktime: fc.nat({ max: 0xffffffff }),
  inputs: fc.array(
    fc.record({
      txid: fc.array(fc.nat({ max: 255 }), { minLength: 32, maxLength: 32 }).map(toBytes),
      vout: fc.nat({ max: 0xffffffff }),
      sequence: fc.nat({ max: 0xffffffff }),
    }),
    { minLength: 1, maxLength: 6 },
  ),
  outputs: fc.array(
    fc.record({
      script: fc.array(fc.nat({ max: 255 }), { minLength: 0, maxLength: 300 }).map(toBytes),
      amount: fc.bigInt({ min: 0n, max: MAX_MONEY }),
    }),
    { minLength: 1, maxLength: 5 },
  ),
});

describe('cross-check with @scure/btc-signer preimageWitnessV0 on random transactions', () => {
  it('gives the same SIGHASH_ALL digest for every input', () => {
    fc.assert(
      fc.property(
        arbTx,
        fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 400 }).map(toBytes),
        fc.bigInt({ min: 0n, max: MAX_MONEY }),
        (tx, scriptCode, amount) => {
          const ref = new Transaction({
            version: tx.version,
            lockTime: tx.locktime,
            allowUnknownOutputs: true,
            allowUnknownInputs: true,
            disableScriptCheck: true,
          });
          for (const i of tx.inputs) {
            ref.addInput({ txid: i.txid.slice().reverse(), index: i.vout, sequence: i.sequence });
          }
          for (const o of tx.outputs) ref.addOutput({ script: o.script, amount: o.amount });
          const mine = new Bip143Sighash(tx);
          tx.inputs.forEach((_i, idx) => {
            const want = ref.preimageWitnessV0(idx, scriptCode, 1, amount);
            expect(hex.encode(mine.digest(idx, scriptCode, amount))).toBe(hex.encode(want));
          });
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('shared hashes are computed once (linear cost, counted, not timed)', () => {
  function counted(n: number) {
    let calls = 0;
    let bytes = 0;
    const spy = (d: Uint8Array) => {
      calls++;
      bytes += d.length;
      return sha256(d);
    };
    const tx: SighashTx = {
      version: 2,
      locktime: 0,
      inputs: Array.from({ length: n }, (_v, i) => ({
        txid: new Uint8Array(32).fill(i % 256),
        vout: i,
        sequence: 0xfffffffd,
      })),
      outputs: [{ script: new Uint8Array(34), amount: 1000n }],
    };
    const s = new Bip143Sighash(tx, spy);
    const afterConstructor = { calls, bytes };
    const ws = new Uint8Array(105).fill(7);
    for (let i = 0; i < n; i++) s.digest(i, ws, 5000n);
    return {
      afterConstructor,
      perDigestCalls: (calls - afterConstructor.calls) / n,
      perDigestBytes: (bytes - afterConstructor.bytes) / n,
    };
  }

  it('hashes 3 shared buffers (6 SHA-256) in the constructor and 2 per digest, whatever n', () => {
    for (const n of [1, 10, 200]) {
      const r = counted(n);
      expect(r.afterConstructor.calls).toBe(6);
      // prevouts 36n + sequences 4n + one output 43, each hashed once plus three 32-byte rehashes
      expect(r.afterConstructor.bytes).toBe(36 * n + 4 * n + 43 + 3 * 32);
      expect(r.perDigestCalls).toBe(2);
    }
    // the bytes hashed per input do not grow with the number of inputs
    expect(counted(200).perDigestBytes).toBe(counted(1).perDigestBytes);
    expect(counted(1).perDigestBytes).toBe(156 + 1 + 105 + 32);
  });
});

describe('input validation', () => {
  const base = (): SighashTx => ({
    version: 2,
    locktime: 0,
    inputs: [{ txid: new Uint8Array(32), vout: 0, sequence: 0xffffffff }],
    outputs: [{ script: new Uint8Array(22), amount: 1n }],
  });
  const withInput = (patch: object): SighashTx => ({
    ...base(),
    inputs: [{ ...base().inputs[0], ...patch } as SighashTx['inputs'][0]],
  });
  const withOutput = (patch: object): SighashTx => ({
    ...base(),
    outputs: [{ ...base().outputs[0], ...patch } as SighashTx['outputs'][0]],
  });
  it.each([
    ['31-byte txid', withInput({ txid: new Uint8Array(31) })],
    ['negative vout', withInput({ vout: -1 })],
    ['sequence 2^32', withInput({ sequence: 2 ** 32 })],
    ['fractional sequence', withInput({ sequence: 1.5 })],
    ['negative amount', withOutput({ amount: -1n })],
    ['amount above 21e6 BTC', withOutput({ amount: MAX_MONEY + 1n })],
    ['amount as number', withOutput({ amount: 1 })],
    ['script not bytes', withOutput({ script: 'ab' })],
    ['oversized script', withOutput({ script: new Uint8Array(10_001) })],
    ['no inputs', { ...base(), inputs: [] }],
    ['no outputs', { ...base(), outputs: [] }],
    ['locktime 2^32', { ...base(), locktime: 2 ** 32 }],
    ['version 1.5', { ...base(), version: 1.5 }],
  ])('refuses %s with BAD_PSBT', (_n, tx) => {
    expect(code(() => new Bip143Sighash(tx as SighashTx))).toBe('BAD_PSBT');
  });
  it('refuses bad digest arguments', () => {
    const s = new Bip143Sighash(base());
    const ws = new Uint8Array(105);
    expect(code(() => s.digest(1, ws, 1n))).toBe('BAD_PSBT');
    expect(code(() => s.digest(-1, ws, 1n))).toBe('BAD_PSBT');
    expect(code(() => s.digest(0, new Uint8Array(0), 1n))).toBe('BAD_PSBT');
    expect(code(() => s.digest(0, ws, MAX_MONEY + 1n))).toBe('BAD_PSBT');
    expect(code(() => s.digest(0, ws, 1 as unknown as bigint))).toBe('BAD_PSBT');
  });
  it('copies the transaction: mutating it afterwards does not change digests', () => {
    const tx = base();
    const s = new Bip143Sighash(tx);
    const ws = new Uint8Array(105).fill(1);
    const d = hex.encode(s.digest(0, ws, 10n));
    (tx.inputs[0] as { txid: Uint8Array }).txid.fill(9);
    expect(hex.encode(s.digest(0, ws, 10n))).toBe(d);
  });
});

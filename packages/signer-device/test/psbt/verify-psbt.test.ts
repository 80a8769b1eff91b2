import { sha256 } from '@noble/hashes/sha2.js';
import { createBase58check } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { Transaction } from '@scure/btc-signer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSignerError, SignerError } from '../../src/errors.js';
import { DEFAULT_PSBT_LIMITS, MAX_MONEY } from '../../src/psbt/limits.js';
import { VERIFY_REASONS, type VerifyContext, verifyPsbt } from '../../src/psbt/verify-psbt.js';
import {
  bip32Value,
  buildPsbt,
  cosigner,
  decodePsbt,
  type EditablePsbt,
  findField,
  H,
  KEYS,
  makeContext,
  makeWallet,
  mutate,
  originPath,
  STRANGER,
  setField,
  walletScript,
} from './fixtures.js';

function outcome(psbt: Uint8Array, ctx: VerifyContext = makeContext()) {
  try {
    verifyPsbt(psbt, ctx);
  } catch (e) {
    if (!isSignerError(e)) throw e;
    return {
      code: e.code,
      message: e.message,
      ...(e.detail as { reason?: string; input?: number; output?: number }),
    };
  }
  return { code: 'ACCEPTED' as const, message: '' };
}

const refused = (reason: string, extra: Record<string, unknown> = {}) =>
  expect.objectContaining({ code: 'VERIFICATION_FAILED', reason, ...extra });
const malformed = (reason?: string) =>
  expect.objectContaining(
    reason === undefined ? { code: 'BAD_PSBT' } : { code: 'BAD_PSBT', reason },
  );

const valid = buildPsbt();
const ctx = makeContext();
const u32le = (n: number) =>
  Uint8Array.from([n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24]);
const edit = (f: (p: EditablePsbt) => void) => mutate(valid.psbt, f);
const withLocktime = (n: number) =>
  edit((e) => {
    e.tx.locktime = n;
  });
const withOutput = (o: { amount: bigint; script: Uint8Array }) =>
  edit((e) => {
    e.tx.outputs.push(o);
    e.outputs.push([]);
  });
const withVersion = (n: number) =>
  edit((e) => {
    e.tx.version = n;
  });

describe('verifyPsbt: the valid PSBT', () => {
  const { summary, jobs } = verifyPsbt(valid.psbt, ctx);

  it('is accepted with amounts, change, fee and vsize computed by the device', () => {
    expect(summary.walletId).toEqual(ctx.wallet.id);
    expect(summary.totalIn).toBe(3_000_000n);
    expect(summary.totalOut).toBe(2_990_000n);
    expect(summary.totalExternal).toBe(1_500_000n);
    expect(summary.fee).toBe(10_000n);
    expect(summary.inputs.map((i) => [i.branch, i.addressIndex, i.amount])).toEqual([
      [0, 0, 1_000_000n],
      [0, 1, 1_000_000n],
      [0, 2, 1_000_000n],
    ]);
    expect(summary.outputs.map((o) => o.kind)).toEqual(['external', 'external', 'change']);
    const change = summary.outputs[2];
    expect(change?.kind === 'change' && change.addressIndex).toBe(5);
    // base 250 B, witness 2 + 3 x 254 = 764 WU: (4 x 250 + 764) / 4 = 441 vB
    expect(summary.vsize).toBe(441);
    expect(summary.feerateMsatPerVb).toBe((10_000_000n + 440n) / 441n);
  });

  it('txid is the double SHA-256 of the unsigned transaction (internal order), as btc-signer computes it', () => {
    const lib = Transaction.fromPSBT(valid.psbt).id;
    const mine = Array.from(summary.txid, (b) => b.toString(16).padStart(2, '0'))
      .reverse()
      .join('');
    expect(mine).toBe(lib);
  });

  it("sighash digests equal btc-signer's preimageWitnessV0, and pubkeys are the device's own", () => {
    const tx = Transaction.fromPSBT(valid.psbt);
    expect(jobs).toHaveLength(3);
    jobs.forEach((job, i) => {
      const input = valid.inputs[i];
      if (input === undefined) throw new Error('fixture');
      // btc-signer's preimageWitnessV0 returns the double-SHA256 digest itself
      expect(job.digest).toEqual(tx.preimageWitnessV0(i, input.witnessScript, 1, input.amount));
      expect(job.pubkey).toEqual(walletScript(KEYS, 0, input.index).pubkeys[0]);
      expect([job.branch, job.addressIndex]).toEqual([0, input.index]);
    });
  });

  it('vsize is an upper bound of the real signed transaction, within 1 vB per input', () => {
    const tx = Transaction.fromPSBT(valid.psbt);
    for (const k of [1, 2]) {
      const master = HDKey.fromMasterSeed(new Uint8Array(32).fill(k), {
        private: 0x04358394,
        public: 0x043587cf,
      });
      valid.inputs.forEach((inp, i) => {
        const child = master.derive(`m/48'/1'/0'/2'/0/${inp.index}`);
        if (child.privateKey === null) throw new Error('fixture');
        tx.signIdx(child.privateKey, i);
      });
    }
    tx.finalize();
    expect(summary.vsize).toBeGreaterThanOrEqual(tx.vsize);
    expect(summary.vsize - tx.vsize).toBeLessThanOrEqual(3);
  });

  it("ignores PSBT_GLOBAL_XPUB (even a stranger's): the registered descriptor decides", () => {
    const raw = createBase58check(sha256).decode(STRANGER.xpub); // 78-byte serialized xpub
    const key = Uint8Array.from([0x01, ...raw]);
    const p = edit((e) => {
      e.global.push({ key, value: bip32Value(STRANGER.fingerprint, originPath()) });
    });
    expect(verifyPsbt(p, ctx).summary.outputs.map((o) => o.kind)).toEqual([
      'external',
      'external',
      'change',
    ]);
  });

  it('accepts a sighash type of exactly 1', () => {
    const p = edit((e) => {
      for (const m of e.inputs) setField(m, [0x03], u32le(1));
    });
    expect(outcome(p).code).toBe('ACCEPTED');
  });
});

describe('verifyPsbt: change is recognised only by recomputation', () => {
  const kinds = (psbt: Uint8Array, c = ctx) =>
    verifyPsbt(psbt, c).summary.outputs.map((o) => o.kind);

  it('change replaced by a foreign script is external, not change', () => {
    const p = edit((e) => {
      const out = e.tx.outputs[2];
      if (out) out.script = walletScript([STRANGER, cosigner(5), cosigner(6)], 1, 5).script;
    });
    const s = verifyPsbt(p, ctx).summary;
    expect(s.outputs.map((o) => o.kind)).toEqual(['external', 'external', 'external']);
    expect(s.totalExternal).toBe(2_990_000n);
  });

  it('change with a swapped cosigner key (same index, our path claimed) is external', () => {
    const p = edit((e) => {
      const out = e.tx.outputs[2];
      if (out) out.script = walletScript([KEYS[0]!, KEYS[1]!, STRANGER], 1, 5).script;
    });
    expect(kinds(p)).toEqual(['external', 'external', 'external']);
  });

  it('change at an index beyond the window is external', () => {
    expect(kinds(valid.psbt, makeContext({ changeWindow: { from: 0, size: 5 } }))[2]).toBe(
      'external',
    );
    expect(kinds(valid.psbt, makeContext({ changeWindow: { from: 6, size: 100 } }))[2]).toBe(
      'external',
    );
    expect(kinds(valid.psbt, makeContext({ changeWindow: { from: 5, size: 1 } }))[2]).toBe(
      'change',
    );
  });

  it('an output to our own receive branch is external', () => {
    const b = buildPsbt({
      change: null,
      external: [{ amount: 2_990_000n, script: walletScript(KEYS, 0, 5).script }],
    });
    const p = mutate(b.psbt, (e) => {
      setField(
        e.outputs[0]!,
        [0x02, ...walletScript(KEYS, 0, 5).pubkeys[0]!],
        bip32Value(KEYS[0]!.fingerprint, [...originPath(), 0, 5]),
      );
    });
    expect(kinds(p)).toEqual(['external']);
  });

  it('a change claim lying about the index is external', () => {
    const p = edit((e) => {
      const m = e.outputs[2]!;
      const entry = m.find(
        (x) =>
          x.key[0] === 0x02 &&
          x.value.subarray(0, 4).every((b, i) => b === KEYS[0]!.fingerprint[i]),
      );
      if (entry) entry.value = bip32Value(KEYS[0]!.fingerprint, [...originPath(), 1, 6]);
    });
    expect(kinds(p)[2]).toBe('external');
  });
});

describe('verifyPsbt: inputs', () => {
  it('refuses a lying witness_utxo, amount higher or lower than the real prevout (SegWit fee attack)', () => {
    for (const delta of [1n, -1n, 500_000n, -999_999n]) {
      const p = edit((e) => {
        const amount = 1_000_000n + delta;
        const v = new Uint8Array(8 + 1 + 34);
        new DataView(v.buffer).setBigUint64(0, amount, true);
        v[8] = 34;
        v.set(valid.inputs[1]!.script, 9);
        setField(e.inputs[1]!, [0x01], v);
      });
      expect(outcome(p)).toEqual(refused('WITNESS_UTXO_MISMATCH', { input: 1 }));
    }
  });

  it('refuses a witness_utxo with the right amount and another script', () => {
    const p = edit((e) => {
      const v = new Uint8Array(8 + 1 + 34);
      new DataView(v.buffer).setBigUint64(0, 1_000_000n, true);
      v[8] = 34;
      v.set(valid.inputs[0]!.script, 9);
      setField(e.inputs[1]!, [0x01], v);
    });
    expect(outcome(p)).toEqual(refused('WITNESS_UTXO_MISMATCH', { input: 1 }));
  });

  it('refuses a missing non_witness_utxo', () => {
    const p = edit((e) => setField(e.inputs[2]!, [0x00]));
    expect(outcome(p)).toEqual(refused('MISSING_NON_WITNESS_UTXO', { input: 2 }));
  });

  it('refuses a non_witness_utxo of another transaction', () => {
    const other = buildPsbt({ inputIndices: [0, 1, 2], inputAmount: 1_000_001n });
    const p = edit((e) => setField(e.inputs[0]!, [0x00], other.funding));
    expect(outcome(p)).toEqual(refused('NON_WITNESS_UTXO_MISMATCH', { input: 0 }));
  });

  it('refuses a prevout index beyond the previous transaction outputs', () => {
    const p = edit((e) => {
      e.tx.inputs[0]!.vout = 9;
    });
    expect(outcome(p)).toEqual(refused('NON_WITNESS_UTXO_MISMATCH', { input: 0 }));
  });

  it('refuses every sighash byte other than 0x01, and multi-byte values', () => {
    const values = [
      ...Array.from({ length: 256 }, (_, i) => i).filter((i) => i !== 1),
      0x101,
      0x80000001,
      0x00010001,
      0xffffffff,
      0x41,
    ];
    const base = mutate(valid.psbt, () => {});
    for (const t of values) {
      const p = mutate(base, (e) => setField(e.inputs[1]!, [0x03], u32le(t)));
      expect(outcome(p), `sighash 0x${t.toString(16)}`).toEqual(
        refused('SIGHASH_NOT_ALL', { input: 1 }),
      );
    }
  });

  it('refuses a sighash field that is not 4 bytes as malformed', () => {
    const p = edit((e) => setField(e.inputs[0]!, [0x03], Uint8Array.of(1)));
    expect(outcome(p)).toEqual(malformed());
  });

  it('refuses a duplicate input', () => {
    const p = edit((e) => {
      e.tx.inputs.push({ ...e.tx.inputs[0]! });
      e.inputs.push(e.inputs[0]!.map((x) => ({ ...x })));
    });
    expect(outcome(p)).toEqual(refused('DUPLICATE_INPUT', { input: 3 }));
  });

  it('refuses a foreign input (script of another wallet, our fingerprint and a valid path claimed)', () => {
    const b = buildPsbt({ input0Keys: [KEYS[0]!, KEYS[1]!, STRANGER] });
    expect(outcome(b.psbt)).toEqual(refused('FOREIGN_INPUT', { input: 0 }));
  });

  it('refuses an input without a derivation for our fingerprint', () => {
    const b = buildPsbt({ input0Keys: [STRANGER, KEYS[1]!, KEYS[2]!] });
    expect(outcome(b.psbt)).toEqual(refused('FOREIGN_INPUT', { input: 0 }));
  });

  it('refuses an input claiming our fingerprint with a wrong path', () => {
    const pk = walletScript(KEYS, 0, 1).pubkeys[0]!;
    const fp = KEYS[0]!.fingerprint;
    const paths = [
      [...originPath(), 0], // too short
      [...originPath(), 0, 1, 0], // too long
      [...originPath(), 2, 1], // branch 2
      [...originPath(), 0, H + 1], // hardened index
      [48 + H, 1 + H, 1 + H, 2 + H, 0, 1], // another account
      [48 + H, 1 + H, H, 1 + H, 0, 1], // script type 1' (P2SH-P2WSH)
      [44 + H, 1 + H, H, 0, 1], // BIP44
    ];
    for (const path of paths) {
      const p = edit((e) => setField(e.inputs[1]!, [0x06, ...pk], bip32Value(fp, path)));
      expect(outcome(p), path.join('/')).toEqual(refused('WRONG_DERIVATION_PATH', { input: 1 }));
    }
  });

  it('refuses a path that names another index of our wallet than the prevout', () => {
    const pk = walletScript(KEYS, 0, 1).pubkeys[0]!;
    const p = edit((e) =>
      setField(
        e.inputs[1]!,
        [0x06, ...pk],
        bip32Value(KEYS[0]!.fingerprint, [...originPath(), 0, 2]),
      ),
    );
    expect(outcome(p)).toEqual(refused('FOREIGN_INPUT', { input: 1 }));
  });

  it("refuses a derivation for our fingerprint carrying a cosigner's public key", () => {
    const p = edit((e) => {
      const m = e.inputs[1]!;
      const ours = m.filter(
        (x) =>
          x.key[0] === 0x06 &&
          x.value.subarray(0, 4).every((b, i) => b === KEYS[0]!.fingerprint[i]),
      );
      for (const x of ours) setField(m, x.key);
      setField(
        m,
        [0x06, ...walletScript(KEYS, 0, 1).pubkeys[1]!],
        bip32Value(KEYS[0]!.fingerprint, [...originPath(), 0, 1]),
      );
      setField(
        m,
        [0x06, ...walletScript(KEYS, 0, 1).pubkeys[1]!],
        bip32Value(KEYS[0]!.fingerprint, [...originPath(), 0, 1]),
      );
    });
    expect(outcome(p)).toEqual(refused('BIP32_PUBKEY_MISMATCH', { input: 1 }));
  });

  it('refuses a witness_script other than the recomputed one', () => {
    const p = edit((e) => setField(e.inputs[0]!, [0x05], walletScript(KEYS, 0, 1).witnessScript));
    expect(outcome(p)).toEqual(refused('WITNESS_SCRIPT_MISMATCH', { input: 0 }));
  });

  it('refuses finalized or Taproot input fields', () => {
    for (const t of [0x04, 0x07, 0x08, 0x13, 0x17]) {
      const p = edit((e) =>
        setField(e.inputs[0]!, [t], new Uint8Array(t === 0x13 ? 64 : t === 0x17 ? 32 : 2)),
      );
      expect(outcome(p).code, `type 0x${t.toString(16)}`).not.toBe('ACCEPTED');
    }
    const p = edit((e) => setField(e.inputs[0]!, [0x07], Uint8Array.of(0)));
    expect(outcome(p)).toEqual(refused('FIELD_NOT_ALLOWED', { input: 0 }));
  });
});

describe('verifyPsbt: wrong network', () => {
  const mainnetKeys = [cosigner(1, 'mainnet'), cosigner(2, 'mainnet'), cosigner(3, 'mainnet')];
  const mainnet = makeWallet(mainnetKeys, 'mainnet');

  it('refuses a testnet PSBT under the mainnet wallet of the same seeds', () => {
    expect(outcome(valid.psbt, makeContext({ wallet: mainnet }))).toEqual(
      refused('WRONG_NETWORK_SCRIPT', { input: 0 }),
    );
  });

  it('refuses a context whose network is not the wallet network', () => {
    expect(outcome(valid.psbt, makeContext({ network: 'mainnet' }))).toEqual(
      expect.objectContaining({ code: 'WRONG_NETWORK' }),
    );
  });
});

describe('verifyPsbt: amounts', () => {
  it('refuses an output above 21e14 sat', () => {
    const p = edit((e) => {
      e.tx.outputs[0]!.amount = MAX_MONEY + 1n;
    });
    expect(outcome(p)).toEqual(refused('AMOUNT_OVERFLOW', { output: 0 }));
  });

  it('refuses outputs whose sum overflows 21e14 sat', () => {
    const p = edit((e) => {
      e.tx.outputs[0]!.amount = MAX_MONEY;
      e.tx.outputs[1]!.amount = 1_000n;
    });
    expect(outcome(p)).toEqual(refused('AMOUNT_OVERFLOW', { output: 1 }));
  });

  it('refuses a negative amount encoded as 2^64 - X', () => {
    const p = edit((e) => {
      e.tx.outputs[1]!.amount = 2n ** 64n - 1_000n;
    });
    expect(outcome(p)).toEqual(refused('AMOUNT_OVERFLOW', { output: 1 }));
  });

  it('refuses an input amount above 21e14 sat in the previous transaction', () => {
    const b = buildPsbt({ inputAmount: MAX_MONEY + 1n });
    expect(outcome(b.psbt)).toEqual(refused('AMOUNT_OVERFLOW', { input: 0 }));
  });

  it('refuses inputs whose sum overflows 21e14 sat', () => {
    const b = buildPsbt({ inputAmount: MAX_MONEY / 2n + 1n });
    expect(outcome(b.psbt)).toEqual(refused('AMOUNT_OVERFLOW', { input: 1 }));
  });

  it('refuses outputs exceeding inputs', () => {
    const p = edit((e) => {
      e.tx.outputs[0]!.amount += 10_001n;
    });
    expect(outcome(p)).toEqual(refused('OUTPUTS_EXCEED_INPUTS'));
    const q = edit((e) => {
      e.tx.outputs[0]!.amount += 10_000n;
    });
    expect(verifyPsbt(q, ctx).summary.fee).toBe(0n);
  });

  it('refuses an OP_RETURN with value, accepts one of 0 sat and <= 83 bytes', () => {
    const opret = Uint8Array.from([0x6a, 0x04, 1, 2, 3, 4]);
    const p = withOutput({ amount: 1n, script: opret });
    expect(outcome(p)).toEqual(refused('OP_RETURN_WITH_VALUE', { output: 3 }));
    const q = withOutput({ amount: 0n, script: opret });
    expect(outcome(q).code).toBe('ACCEPTED');
    const big = Uint8Array.from([0x6a, 0x4c, 82, ...new Uint8Array(82)]);
    const r = withOutput({ amount: 0n, script: big });
    expect(outcome(r)).toEqual(refused('NONSTANDARD_OUTPUT', { output: 3 }));
  });

  it('refuses nonstandard output scripts', () => {
    for (const script of [
      Uint8Array.of(0x51),
      Uint8Array.from([0x00, 0x15, ...new Uint8Array(21)]),
      Uint8Array.from([0x52, 0x20, ...new Uint8Array(32)]),
      new Uint8Array(0),
    ]) {
      const p = edit((e) => {
        e.tx.outputs[0]!.script = script;
      });
      expect(outcome(p)).toEqual(refused('NONSTANDARD_OUTPUT', { output: 0 }));
    }
  });

  it('refuses dust below the limit, accepts the limit itself', () => {
    const p = edit((e) => {
      e.tx.outputs[1]!.amount = 545n;
    });
    expect(outcome(p)).toEqual(refused('DUST_OUTPUT', { output: 1 }));
    const q = edit((e) => {
      e.tx.outputs[1]!.amount = 546n;
    });
    expect(outcome(q).code).toBe('ACCEPTED');
  });
});

describe('verifyPsbt: version, locktime, sequence', () => {
  it('refuses a time-based locktime', () => {
    const p = edit((e) => {
      e.tx.locktime = 500_000_000;
    });
    expect(outcome(p)).toEqual(refused('LOCKTIME_NOT_ALLOWED'));
  });

  it('refuses a far-future block height, accepts up to maxLocktime', () => {
    expect(outcome(withLocktime(900_001))).toEqual(refused('LOCKTIME_NOT_ALLOWED'));
    expect(outcome(withLocktime(900_000)).code).toBe('ACCEPTED');
  });

  it('refuses a version not allowed', () => {
    for (const v of [1, 3, -1, 0]) {
      expect(outcome(withVersion(v))).toEqual(refused('VERSION_NOT_ALLOWED'));
    }
  });

  it('refuses a relative-locktime sequence', () => {
    const p = edit((e) => {
      e.tx.inputs[2]!.sequence = 10;
    });
    expect(outcome(p)).toEqual(refused('SEQUENCE_NOT_ALLOWED', { input: 2 }));
  });
});

describe('verifyPsbt: size and malformed input', () => {
  it('refuses an oversized PSBT before reading it', () => {
    const big = new Uint8Array(DEFAULT_PSBT_LIMITS.maxPsbtBytes + 1);
    expect(outcome(big)).toEqual(malformed('PSBT_TOO_LARGE'));
    const limits = { ...DEFAULT_PSBT_LIMITS, maxPsbtBytes: valid.psbt.length - 1 };
    expect(outcome(valid.psbt, makeContext({ limits }))).toEqual(malformed('PSBT_TOO_LARGE'));
  });

  it('refuses too many inputs in the prescan', () => {
    const limits = { ...DEFAULT_PSBT_LIMITS, maxInputs: 2 };
    expect(outcome(valid.psbt, makeContext({ limits }))).toEqual(malformed('TOO_MANY_INPUTS'));
  });

  it('refuses every truncation', () => {
    for (let n = 0; n < valid.psbt.length; n++) {
      expect(outcome(valid.psbt.subarray(0, n)).code, `length ${n}`).toBe('BAD_PSBT');
    }
  });

  it('refuses garbage with BAD_PSBT only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(outcome(bytes).code).toBe('BAD_PSBT');
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but a SignerError on a one-byte corruption', () => {
    fc.assert(
      fc.property(fc.nat(valid.psbt.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const p = valid.psbt.slice();
        p[at] = (p[at] ?? 0) ^ x;
        try {
          verifyPsbt(p, ctx);
        } catch (e) {
          expect(e).toBeInstanceOf(SignerError);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('refuses a non-bytes argument and a bad context', () => {
    expect(outcome('cHNidP8=' as unknown as Uint8Array)).toEqual(malformed('NOT_BYTES'));
    expect(outcome(valid.psbt, makeContext({ ownKeyIndex: 3 }))).toEqual(malformed('BAD_CONTEXT'));
    expect(outcome(valid.psbt, makeContext({ changeWindow: { from: -1, size: 2 } }))).toEqual(
      malformed('BAD_CONTEXT'),
    );
  });

  it('every reason code is a distinct frozen string', () => {
    const values = Object.values(VERIFY_REASONS);
    expect(new Set(values).size).toBe(values.length);
    expect(Object.isFrozen(VERIFY_REASONS)).toBe(true);
  });

  it('a refusal message starts with its place', () => {
    const p = edit((e) => setField(e.inputs[2]!, [0x00]));
    expect(outcome(p).message).toMatch(/^verify-psbt\/input 2: expected/);
  });

  it('the fixture editor keeps the transaction and the UTXO records intact', () => {
    const p = mutate(valid.psbt, () => {});
    expect(verifyPsbt(p, ctx).summary.txid).toEqual(verifyPsbt(valid.psbt, ctx).summary.txid);
    expect(findField(decodePsbt(valid.psbt).inputs[0]!, 0x00)?.value).toEqual(valid.funding);
  });
});

import { Transaction } from '@scure/btc-signer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildPsbt, RBF_SEQUENCE } from '../../src/vault/build-psbt.js';
import { selectCoins } from '../../src/vault/coin-selection.js';
import type { TxPlan } from '../../src/vault/plan.js';
import { checkReplacement, replaceByFee } from '../../src/vault/rbf.js';
import { feeFor } from '../../src/vault/tx-weight.js';
import { DEST, fund, payment, thrown, WALLET } from './fixtures.js';

const funded = fund(
  [
    { branch: 0, index: 10, amount: 1_000_000n },
    { branch: 0, index: 11, amount: 800_000n },
  ],
  'rbf',
);
const PREV = new Map([[funded.txid, funded.raw]]);

function original(feerate = 2_000n, amount = 1_500_000n): TxPlan {
  return selectCoins({
    utxos: funded.utxos,
    withdrawals: [payment('w-1', amount, DEST.p2wpkh), payment('w-2', 100_000n, DEST.p2tr)],
    feerateSatPerKvB: feerate,
    tipHeight: 500,
  });
}
/** The signed original's vsize: our estimate less up to 1 vB per input (shorter signatures). */
const signedVsize = (p: TxPlan) => p.vsize - p.inputs.length;

describe('rbf', () => {
  it('keeps inputs and payments, takes the higher fee from change, satisfies BIP125', () => {
    const o = original();
    const v0 = signedVsize(o);
    const r = replaceByFee({ original: o, originalVsize: v0, feerateSatPerKvB: 10_000n });
    expect(r.inputs).toEqual(o.inputs);
    expect(r.payments).toEqual(o.payments);
    expect(r.change).not.toBeNull();
    expect(o.change! - r.change!).toBe(r.fee - o.fee);
    expect(r.fee).toBe(feeFor(r.vsize, 10_000n));
    expect(r.fee - o.fee >= feeFor(r.vsize, 1_000n)).toBe(true);
    expect(r.fee * BigInt(v0) > o.fee * BigInt(r.vsize)).toBe(true);
    expect(r.totalIn).toBe(r.totalOut + r.fee);
    checkReplacement(o, v0, r);
  });

  it('bumps by at least the incremental relay fee even when the target feerate is not higher', () => {
    const o = original(5_000n);
    const r = replaceByFee({
      original: o,
      originalVsize: signedVsize(o),
      feerateSatPerKvB: 1_000n,
    });
    expect(r.fee).toBe(o.fee + feeFor(r.vsize, 1_000n));
    checkReplacement(o, signedVsize(o), r);
    const r2 = replaceByFee({
      original: r,
      originalVsize: signedVsize(r),
      feerateSatPerKvB: 1_000n,
      incrementalRelaySatPerKvB: 5_000n,
    });
    expect(r2.fee).toBe(r.fee + feeFor(r2.vsize, 5_000n));
  });

  it('drops change that would be dust, giving all of it to the fee, when that pays the bump', () => {
    // Change of about 2 000 sat: a bump to 60 sat/vB eats it.
    const o = original(2_000n, 1_800_000n - 100_000n - 2_700n);
    expect(o.change).not.toBeNull();
    const r = replaceByFee({
      original: o,
      originalVsize: signedVsize(o),
      feerateSatPerKvB: 3_000n + (o.change! * 1000n) / BigInt(o.vsize),
    });
    expect(r.change).toBeNull();
    expect(r.fee).toBe(o.fee + o.change!);
    checkReplacement(o, signedVsize(o), r);
  });

  it('refuses when the change cannot pay, or there is no change', () => {
    const o = original();
    const e = thrown(() =>
      replaceByFee({ original: o, originalVsize: signedVsize(o), feerateSatPerKvB: 9_000_000n }),
    );
    expect(e.code).toBe('INSUFFICIENT_FUNDS');
    const noChange: TxPlan = {
      ...o,
      change: null,
      fee: o.fee + (o.change ?? 0n),
      totalOut: o.totalOut - (o.change ?? 0n),
    };
    expect(
      thrown(() =>
        replaceByFee({ original: noChange, originalVsize: 100, feerateSatPerKvB: 9_000n }),
      ).code,
    ).toBe('INSUFFICIENT_FUNDS');
  });

  it('refuses a signed vsize larger than the estimate, and bad rates', () => {
    const o = original();
    for (const over of [
      { originalVsize: o.vsize + 1 },
      { originalVsize: 0 },
      { feerateSatPerKvB: 0n },
      { incrementalRelaySatPerKvB: 0n },
    ]) {
      expect(
        thrown(() =>
          replaceByFee({
            original: o,
            originalVsize: signedVsize(o),
            feerateSatPerKvB: 5_000n,
            ...over,
          }),
        ).code,
      ).toBe('BAD_REQUEST');
    }
  });

  it('builds the replacement PSBT: same outpoints, same payments, same change address, new txid', () => {
    const o = original();
    const r = replaceByFee({
      original: o,
      originalVsize: signedVsize(o),
      feerateSatPerKvB: 8_000n,
    });
    const a = buildPsbt({ wallet: WALLET, plan: o, changeIndex: 2, prevTxs: PREV });
    const b = buildPsbt({ wallet: WALLET, plan: r, changeIndex: 2, prevTxs: PREV });
    expect(b.summary.txid).not.toBe(a.summary.txid);
    const ta = Transaction.fromPSBT(a.psbt);
    const tb = Transaction.fromPSBT(b.psbt);
    for (let i = 0; i < ta.inputsLength; i++) {
      expect([tb.getInput(i).txid, tb.getInput(i).index, tb.getInput(i).sequence]).toEqual([
        ta.getInput(i).txid,
        ta.getInput(i).index,
        RBF_SEQUENCE,
      ]);
    }
    expect(tb.getOutput(0)).toEqual(ta.getOutput(0));
    expect(tb.getOutput(1)).toEqual(ta.getOutput(1));
    expect(tb.getOutput(2).script).toEqual(ta.getOutput(2).script);
    expect(tb.getOutput(2).amount).toBe(r.change);
  });

  it('checkReplacement refuses other inputs, other payments, more change and each BIP125 rule', () => {
    const o = original();
    const v0 = signedVsize(o);
    const r = replaceByFee({ original: o, originalVsize: v0, feerateSatPerKvB: 10_000n });
    const cases: [TxPlan, RegExp][] = [
      [{ ...r, inputs: [...r.inputs].reverse() }, /same inputs/],
      [
        { ...r, payments: [r.payments[0]!, { ...r.payments[1]!, scriptPubKey: DEST.p2wsh }] },
        /same payments/,
      ],
      [
        {
          ...r,
          payments: [r.payments[0]!, { ...r.payments[1]!, amount: 100_001n }],
          change: r.change! - 1n,
        },
        /same payments/,
      ],
      [{ ...o }, /rule 4/],
      [{ ...o, change: o.change! + 1n, fee: o.fee - 1n, totalOut: o.totalOut + 1n }, /change only/],
    ];
    for (const [bad, re] of cases) {
      expect(thrown(() => checkReplacement(o, v0, bad)).message).toMatch(re);
    }
    // Rule 6: a replacement that pays the incremental fee but at a lower feerate (much larger).
    const vsize = o.vsize * 3;
    const bump = feeFor(vsize, 1_000n);
    const bigger = {
      ...o,
      vsize,
      fee: o.fee + bump,
      change: o.change! - bump,
      totalOut: o.totalOut - bump,
    };
    expect(thrown(() => checkReplacement(o, v0, bigger)).message).toMatch(/rule 6/);
  });

  it('property: any successful bump keeps inputs and payments and meets rules 3, 4, 6 and the target', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1_000n, max: 50_000n }),
        fc.bigInt({ min: 1n, max: 400_000n }),
        fc.bigInt({ min: 1n, max: 20_000n }),
        fc.integer({ min: 0, max: 2 }),
        fc.bigInt({ min: 546n, max: 1_500_000n }),
        (f0, f1, incr, shrink, amount) => {
          let o: TxPlan;
          try {
            o = original(f0, amount);
          } catch {
            return;
          }
          const v0 = o.vsize - shrink * o.inputs.length;
          let r: TxPlan;
          try {
            r = replaceByFee({
              original: o,
              originalVsize: v0,
              feerateSatPerKvB: f1,
              incrementalRelaySatPerKvB: incr,
            });
          } catch (e) {
            expect((e as { code?: string }).code).toBe('INSUFFICIENT_FUNDS');
            return;
          }
          checkReplacement(o, v0, r, incr);
          expect(r.fee >= feeFor(r.vsize, f1)).toBe(true);
          expect(r.totalIn).toBe(r.totalOut + r.fee);
          if (r.change !== null) expect(r.change >= 546n).toBe(true);
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });
});

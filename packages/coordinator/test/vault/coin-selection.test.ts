import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SelectionLimits, selectCoins } from '../../src/vault/coin-selection.js';
import type { Payment, SpendableUtxo } from '../../src/vault/plan.js';
import {
  CHANGE_OUTPUT_WEIGHT,
  feeFor,
  INPUT_WEIGHT,
  outputWeight,
  txWeight,
  vsizeOf,
} from '../../src/vault/tx-weight.js';
import { DEST, payment, thrown } from './fixtures.js';

const TIP = 1000;
const SCRIPT = new Uint8Array(34);
const hex64 = (n: number) => n.toString(16).padStart(64, '0');

function utxo(n: number, value: bigint, over: Partial<SpendableUtxo> = {}): SpendableUtxo {
  return {
    txid: hex64(n),
    vout: 0,
    value,
    height: TIP - 10,
    branch: 0,
    index: n,
    script: SCRIPT,
    ...over,
  };
}

const confirmations = (u: SpendableUtxo) =>
  u.height === null || u.height > TIP ? 0 : TIP - u.height + 1;

describe('coin selection: examples', () => {
  it('pays a withdrawal with the fewest inputs, largest first, and returns change', () => {
    const s = selectCoins({
      utxos: [utxo(1, 50_000n), utxo(2, 400_000n), utxo(3, 300_000n)],
      withdrawals: [payment('w1', 500_000n)],
      feerateSatPerKvB: 2_000n,
      tipHeight: TIP,
    });
    expect(s.inputs.map((u) => u.value)).toEqual([400_000n, 300_000n]);
    expect(s.payments.map((p) => p.withdrawalId)).toEqual(['w1']);
    const weight = txWeight(2, 2, outputWeight(22) + CHANGE_OUTPUT_WEIGHT);
    expect(s.weight).toBe(weight);
    expect(s.fee).toBe(feeFor(vsizeOf(weight), 2_000n));
    expect(s.change).toBe(700_000n - 500_000n - s.fee);
    expect(s.deferred).toEqual([]);
  });

  it('never spends a shallow deposit, spends own change at its own depth', () => {
    const deep = utxo(1, 100_000n, { height: TIP - 2 }); // 3 confirmations
    const shallow = utxo(2, 5_000_000n, { height: TIP - 1 }); // 2
    const unconfirmed = utxo(3, 9_000_000n, { height: null });
    const ownChange = utxo(4, 200_000n, { height: null, branch: 1 });
    const base = {
      withdrawals: [payment('w', 250_000n)],
      feerateSatPerKvB: 1_000n,
      tipHeight: TIP,
    };
    const s = selectCoins({
      ...base,
      utxos: [deep, shallow, unconfirmed, ownChange],
      limits: { minConfirmationsChange: 0 },
    });
    expect(s.inputs.map((u) => u.index).sort()).toEqual([1, 4]);
    expect(s.eligible).toBe(2);
    const e = thrown(() =>
      selectCoins({ ...base, utxos: [deep, shallow, unconfirmed, ownChange] }),
    );
    expect(e.code).toBe('INSUFFICIENT_FUNDS');
  });

  it('batches withdrawals in order, bounded by outputs and by the amount cap', () => {
    const utxos = Array.from({ length: 10 }, (_, i) => utxo(i + 1, 10_000_000n));
    const withdrawals = Array.from({ length: 6 }, (_, i) =>
      payment(`w${i}`, 1_000_000n, i % 2 ? DEST.p2tr : DEST.p2pkh),
    );
    const a = selectCoins({
      utxos,
      withdrawals,
      feerateSatPerKvB: 5_000n,
      tipHeight: TIP,
      limits: { maxOutputs: 4 },
    });
    expect(a.payments.map((p) => p.withdrawalId)).toEqual(['w0', 'w1', 'w2']);
    expect(a.deferred.map((p) => p.withdrawalId)).toEqual(['w3', 'w4', 'w5']);
    const b = selectCoins({
      utxos,
      withdrawals,
      feerateSatPerKvB: 5_000n,
      tipHeight: TIP,
      limits: { maxBatchAmount: 2_500_000n },
    });
    expect(b.payments).toHaveLength(2);
    const c = thrown(() =>
      selectCoins({
        utxos,
        withdrawals,
        feerateSatPerKvB: 5_000n,
        tipHeight: TIP,
        limits: { maxBatchAmount: 999_999n },
      }),
    );
    expect(c.code).toBe('INSUFFICIENT_FUNDS');
  });

  it('pays the longest payable prefix when funds cover only part of the queue', () => {
    const s = selectCoins({
      utxos: [utxo(1, 1_000_000n), utxo(2, 1_000_000n)],
      withdrawals: [payment('a', 900_000n), payment('b', 900_000n), payment('c', 900_000n)],
      feerateSatPerKvB: 1_000n,
      tipHeight: TIP,
    });
    expect(s.payments.map((p) => p.withdrawalId)).toEqual(['a', 'b']);
    expect(s.deferred.map((p) => p.withdrawalId)).toEqual(['c']);
  });

  it('bounds the inputs: a payment needing more than maxInputs coins is not payable', () => {
    const utxos = Array.from({ length: 5 }, (_, i) => utxo(i + 1, 100_000n));
    const w = [payment('w', 350_000n)];
    expect(
      selectCoins({ utxos, withdrawals: w, feerateSatPerKvB: 1_000n, tipHeight: TIP }).inputs,
    ).toHaveLength(4);
    expect(
      thrown(() =>
        selectCoins({
          utxos,
          withdrawals: w,
          feerateSatPerKvB: 1_000n,
          tipHeight: TIP,
          limits: { maxInputs: 3 },
        }),
      ).code,
    ).toBe('INSUFFICIENT_FUNDS');
  });

  it('folds change below the dust threshold into the fee', () => {
    const feerate = 1_000n;
    const noChange = feeFor(vsizeOf(txWeight(1, 1, outputWeight(22))), feerate);
    const s = selectCoins({
      utxos: [utxo(1, 100_000n + noChange + 500n)],
      withdrawals: [payment('w', 100_000n)],
      feerateSatPerKvB: feerate,
      tipHeight: TIP,
    });
    expect(s.change).toBeNull();
    expect(s.fee).toBe(noChange + 500n);
    expect(s.totalOut).toBe(100_000n);
  });

  it('skips UTXOs worth less than spending them costs', () => {
    const feerate = 100_000n; // 100 sat/vB: an input costs 10 500 sat
    const dusty = utxo(1, feeFor(vsizeOf(INPUT_WEIGHT + 8), feerate));
    const s = selectCoins({
      utxos: [dusty, utxo(2, 1_000_000n)],
      withdrawals: [payment('w', 10_000n)],
      feerateSatPerKvB: feerate,
      tipHeight: TIP,
    });
    expect(s.eligible).toBe(1);
    expect(s.inputs.map((u) => u.index)).toEqual([2]);
  });

  it('refuses malformed requests with coded errors', () => {
    const ok = {
      utxos: [utxo(1, 1_000_000n)],
      withdrawals: [payment('w', 10_000n)],
      feerateSatPerKvB: 1_000n,
      tipHeight: TIP,
    };
    const cases: [object, string][] = [
      [{ utxos: [utxo(1, 1_000_000n), utxo(1, 1_000_000n)] }, 'BAD_REQUEST'],
      [{ withdrawals: [payment('w', 10_000n), payment('w', 20_000n)] }, 'BAD_REQUEST'],
      [{ withdrawals: [payment('w', 10_000n, Uint8Array.of(0x6a, 1, 2))] }, 'BAD_REQUEST'],
      [{ withdrawals: [payment('w', 545n)] }, 'BAD_AMOUNT'],
      [{ withdrawals: [payment('w', 10_000 as unknown as bigint)] }, 'BAD_AMOUNT'],
      [{ withdrawals: [] }, 'BAD_REQUEST'],
      [{ feerateSatPerKvB: 1000 }, 'BAD_REQUEST'],
      [{ feerateSatPerKvB: 0n }, 'BAD_REQUEST'],
      [{ utxos: [utxo(1, 0n)] }, 'BAD_AMOUNT'],
      [{ utxos: [utxo(1, 1n, { txid: 'XYZ' })] }, 'BAD_REQUEST'],
      [{ limits: { maxOutputs: 1 } }, 'BAD_REQUEST'],
      [{ limits: { minConfirmationsDeposit: 0 } }, 'BAD_REQUEST'],
      [{ tipHeight: -1 }, 'BAD_REQUEST'],
    ];
    for (const [over, code] of cases) {
      expect(
        thrown(() => selectCoins({ ...ok, ...over } as Parameters<typeof selectCoins>[0])).code,
      ).toBe(code);
    }
  });

  it('selects 500 withdrawals out of 100 000 UTXOs', () => {
    const utxos = Array.from({ length: 100_000 }, (_, i) =>
      utxo(i + 1, 10_000n + BigInt((i * 7919) % 5_000_000), {
        height: i % 10 === 0 ? null : TIP - (i % 50),
        branch: i % 7 === 0 ? 1 : 0,
      }),
    );
    const withdrawals = Array.from({ length: 500 }, (_, i) =>
      payment(`w${i}`, 50_000n + BigInt(i) * 1_000n),
    );
    const s = selectCoins({ utxos, withdrawals, feerateSatPerKvB: 3_000n, tipHeight: TIP });
    expect(s.payments).toHaveLength(500);
    expect(s.totalIn).toBe(s.totalOut + s.fee);
    expect(s.inputs.length).toBeLessThanOrEqual(500);
  });
});

const utxoArb = fc.record({
  value: fc.bigInt({ min: 1n, max: 20_000_000n }),
  height: fc.option(fc.integer({ min: TIP - 20, max: TIP + 1 }), { nil: null }),
  branch: fc.constantFrom<0 | 1>(0, 1),
});
const withdrawalArb = fc.record({
  amount: fc.bigInt({ min: 546n, max: 8_000_000n }),
  script: fc.constantFrom(DEST.p2wpkh, DEST.p2tr, DEST.p2pkh, DEST.p2sh, DEST.p2wsh),
});
const limitsArb = fc.record({
  maxOutputs: fc.integer({ min: 2, max: 12 }),
  maxInputs: fc.integer({ min: 1, max: 40 }),
  minConfirmationsDeposit: fc.integer({ min: 1, max: 6 }),
  minConfirmationsChange: fc.integer({ min: 0, max: 2 }),
  dustThreshold: fc.bigInt({ min: 294n, max: 5_000n }),
  maxBatchAmount: fc.bigInt({ min: 1_000n, max: 100_000_000n }),
});
const requestArb = fc.record({
  utxos: fc.array(utxoArb, { minLength: 0, maxLength: 60 }),
  withdrawals: fc.array(withdrawalArb, { minLength: 1, maxLength: 25 }),
  feerate: fc.bigInt({ min: 1n, max: 300_000n }),
  limits: limitsArb,
  seed: fc.integer(),
});

describe('coin selection: properties', () => {
  it('balances, pays its fee, keeps depth and bounds, is deterministic — or is truly unpayable', () => {
    fc.assert(
      fc.property(requestArb, (r) => {
        const limits = r.limits as SelectionLimits;
        const dust = limits.dustThreshold;
        const utxos = r.utxos.map((u, i) =>
          utxo(i + 1, u.value, { height: u.height, branch: u.branch }),
        );
        const withdrawals: Payment[] = r.withdrawals.map((w, i) =>
          // biome-ignore lint/complexity/useMathMinMax: bigint amounts (Math.max takes numbers)
          payment(`w${i}`, w.amount < dust ? dust : w.amount, w.script),
        );
        const req = { utxos, withdrawals, feerateSatPerKvB: r.feerate, tipHeight: TIP, limits };
        let s: ReturnType<typeof selectCoins>;
        try {
          s = selectCoins(req);
        } catch (e) {
          expect((e as { code?: string }).code).toBe('INSUFFICIENT_FUNDS');
          // Unpayable: even the best maxInputs eligible UTXOs cannot pay the first withdrawal.
          const first = withdrawals[0] as Payment;
          if (first.amount > limits.maxBatchAmount) return;
          const need = (u: SpendableUtxo) =>
            u.branch === 1 ? limits.minConfirmationsChange : limits.minConfirmationsDeposit;
          const minValue = feeFor(vsizeOf(INPUT_WEIGHT + 8), r.feerate);
          const best = utxos
            .filter((u) => confirmations(u) >= need(u) && u.value > minValue)
            .map((u) => u.value)
            .sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))
            .slice(0, limits.maxInputs);
          const sum = best.reduce((a, b) => a + b, 0n);
          const fee = feeFor(
            vsizeOf(txWeight(best.length, 1, outputWeight(first.scriptPubKey.length))),
            r.feerate,
          );
          expect(sum < first.amount + fee).toBe(true);
          return;
        }
        // outputs + fee + change = inputs
        const ins = s.inputs.reduce((a, u) => a + u.value, 0n);
        const pays = s.payments.reduce((a, p) => a + p.amount, 0n);
        expect(ins).toBe(s.totalIn);
        expect(pays + (s.change ?? 0n) + s.fee).toBe(ins);
        // fee >= feerate × vsize, vsize of the exact weight formula
        const outsW =
          s.payments.reduce((a, p) => a + outputWeight(p.scriptPubKey.length), 0) +
          (s.change === null ? 0 : CHANGE_OUTPUT_WEIGHT);
        const nOut = s.payments.length + (s.change === null ? 0 : 1);
        expect(s.weight).toBe(txWeight(s.inputs.length, nOut, outsW));
        expect(s.vsize).toBe(vsizeOf(s.weight));
        expect(s.fee >= feeFor(s.vsize, r.feerate)).toBe(true);
        // change: none or at least dust; a folded remainder is bounded
        if (s.change !== null) expect(s.change >= dust).toBe(true);
        else
          expect(s.fee - feeFor(s.vsize, r.feerate) < dust + feeFor(43, r.feerate) + 1n).toBe(true);
        // depth
        for (const u of s.inputs) {
          expect(
            confirmations(u) >=
              (u.branch === 1 ? limits.minConfirmationsChange : limits.minConfirmationsDeposit),
          ).toBe(true);
        }
        // bounds and order
        expect(nOut <= limits.maxOutputs).toBe(true);
        expect(s.inputs.length <= limits.maxInputs).toBe(true);
        expect(pays <= limits.maxBatchAmount).toBe(true);
        expect([...s.payments, ...s.deferred]).toEqual(withdrawals);
        expect(new Set(s.inputs.map((u) => `${u.txid}:${u.vout}`)).size).toBe(s.inputs.length);
        // deterministic, whatever the order the UTXOs come in
        const shuffled = [...utxos].sort(
          (a, b) => ((a.index * 7919 + r.seed) % 101) - ((b.index * 7919 + r.seed) % 101),
        );
        expect(selectCoins({ ...req, utxos: shuffled })).toEqual(s);
      }),
      { numRuns: 400, seed: 20_261_123 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import { buildPsbt } from '../../src/vault/build-psbt.js';
import { selectCoins } from '../../src/vault/coin-selection.js';
import { planFromPsbt } from '../../src/vault/plan-from-psbt.js';
import { DEST, fund, payment, WALLET } from './fixtures.js';

function built() {
  const f = fund(
    [
      { branch: 0, index: 0, amount: 600_000n },
      { branch: 1, index: 4, amount: 300_000n },
    ],
    'plan-from-psbt',
  );
  const plan = selectCoins({
    utxos: f.utxos,
    withdrawals: [payment('w-1', 500_000n, DEST.p2wpkh), payment('w-2', 200_000n, DEST.p2tr)],
    feerateSatPerKvB: 5_000n,
    tipHeight: 200,
  });
  const b = buildPsbt({
    wallet: WALLET,
    plan,
    changeIndex: 7,
    prevTxs: new Map([[f.txid, f.raw]]),
  });
  return { plan, psbt: b.psbt };
}

const recorded = [
  { withdrawalId: 'w-1', outputIndex: 0 },
  { withdrawalId: 'w-2', outputIndex: 1 },
];

describe('planFromPsbt (the plan an RBF replacement must keep)', () => {
  it('reads back the inputs, the payments, the change address index and the fee as built', () => {
    const { plan, psbt } = built();
    const back = planFromPsbt(psbt, recorded);
    expect(back.changeIndex).toBe(7);
    expect(back.plan.inputs.map((u) => [u.txid, u.vout, u.value, u.branch, u.index])).toEqual(
      plan.inputs.map((u) => [u.txid, u.vout, u.value, u.branch, u.index]),
    );
    expect(back.plan.payments).toEqual(plan.payments);
    expect(back.plan.change).toBe(plan.change);
    expect(back.plan.fee).toBe(plan.fee);
    expect(back.plan.vsize).toBe(plan.vsize);
  });

  it('refuses a PSBT whose outputs do not match the payout record (swapped or missing payments)', () => {
    const { psbt } = built();
    const swapped = [
      { withdrawalId: 'w-1', outputIndex: 2 },
      { withdrawalId: 'w-2', outputIndex: 1 },
    ];
    for (const r of [swapped, [recorded[0] as (typeof recorded)[number]]]) {
      let err: unknown;
      try {
        planFromPsbt(psbt, r);
      } catch (e) {
        err = e;
      }
      expect(isCoordinatorError(err, 'INTERNAL')).toBe(true);
    }
  });
});

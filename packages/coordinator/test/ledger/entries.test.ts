import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import {
  accountKey,
  depositCleared,
  depositCredited,
  depositDelayed,
  depositReversed,
  depositSeen,
  type JournalEntry,
  MAX_SATS,
  refillReceived,
  sweepToCold,
  withdrawalAccepted,
  withdrawalBroadcast,
  withdrawalConfirmed,
  withdrawalFeeBumped,
  withdrawalReleased,
} from '../../src/ledger/index.js';

const TX = 'ab'.repeat(32);

/** Postings as `account key → amount` (debit positive) for table comparison. */
function table(e: JournalEntry): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const p of e.postings)
    out[accountKey(p.account)] = (out[accountKey(p.account)] ?? 0n) + p.amount;
  return out;
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isCoordinatorError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe('builders post what docs/ledger.md §3 says', () => {
  it('deposits', () => {
    const d = { depositId: 'd1', amount: 7n };
    expect(table(depositSeen(d))).toEqual({
      'external/BTC': 7n,
      'deposits_in_flight/BTC/d1': -7n,
    });
    expect(table(depositCredited({ ...d, userId: 'u' }))).toEqual({
      'hot_wallet/BTC': 7n,
      'external/BTC': -7n,
      'deposits_in_flight/BTC/d1': 7n,
      'user/BTC/u': -7n,
    });
    expect(table(depositDelayed(d))).toEqual({ 'hot_wallet/BTC': 7n, 'external/BTC': -7n });
    expect(table(depositCleared({ ...d, userId: 'u' }))).toEqual({
      'deposits_in_flight/BTC/d1': 7n,
      'user/BTC/u': -7n,
    });
    expect(table(depositReversed({ ...d, stage: 'seen' }))).toEqual({
      'deposits_in_flight/BTC/d1': 7n,
      'external/BTC': -7n,
    });
    expect(table(depositReversed({ ...d, stage: 'delayed' }))).toEqual({
      'deposits_in_flight/BTC/d1': 7n,
      'hot_wallet/BTC': -7n,
    });
    expect(table(depositReversed({ ...d, stage: 'credited', userId: 'u' }))).toEqual({
      'user/BTC/u': 7n,
      'hot_wallet/BTC': -7n,
    });
    expect(depositSeen(d).reference).toBe('d1');
    expect(depositSeen({ ...d, epoch: 2 }).reference).toBe('d1#2');
  });

  it('withdrawals', () => {
    const w = { withdrawalId: 'w1', userId: 'u', amount: 100n, userFee: 3n };
    expect(table(withdrawalAccepted(w))).toEqual({
      'user/BTC/u': 103n,
      'pending_withdrawals/BTC/w1': -103n,
    });
    expect(table(withdrawalReleased(w))).toEqual({
      'user/BTC/u': -103n,
      'pending_withdrawals/BTC/w1': 103n,
    });
    expect(table(withdrawalBroadcast({ withdrawalId: 'w1', networkFee: 5n }))).toEqual({
      'fees/BTC': 5n,
      'pending_withdrawals/BTC/w1': -5n,
    });
    const bump = withdrawalFeeBumped({ withdrawalId: 'w1', replacementTxid: TX, feeIncrease: 2n });
    expect(table(bump)).toEqual({ 'fees/BTC': 2n, 'pending_withdrawals/BTC/w1': -2n });
    expect(bump.reference).toBe(`w1/${TX}`);
    const settle = { withdrawalId: 'w1', amount: 100n, userFee: 3n, reservedNetworkFee: 7n };
    expect(table(withdrawalConfirmed({ ...settle, paidNetworkFee: 7n }))).toEqual({
      'pending_withdrawals/BTC/w1': 110n,
      'hot_wallet/BTC': -107n,
      'fees/BTC': -3n,
    });
    // the cheaper original confirmed instead of the replacement: the difference returns to fees
    expect(table(withdrawalConfirmed({ ...settle, paidNetworkFee: 5n }))).toEqual({
      'pending_withdrawals/BTC/w1': 110n,
      'hot_wallet/BTC': -105n,
      'fees/BTC': -5n,
    });
  });

  it('zero fees leave no zero postings', () => {
    const e = withdrawalConfirmed({
      withdrawalId: 'w1',
      amount: 100n,
      userFee: 0n,
      reservedNetworkFee: 0n,
      paidNetworkFee: 0n,
    });
    expect(e.postings.every((p) => p.amount !== 0n)).toBe(true);
    expect(e.postings).toHaveLength(2);
  });

  it('hot and cold wallet moves', () => {
    const m = { txid: TX, amount: 50n, networkFee: 2n };
    expect(table(sweepToCold(m))).toEqual({
      'cold_wallet/BTC': 50n,
      'fees/BTC': 2n,
      'hot_wallet/BTC': -52n,
    });
    expect(table(refillReceived(m))).toEqual({
      'hot_wallet/BTC': 50n,
      'fees/BTC': 2n,
      'cold_wallet/BTC': -52n,
    });
  });
});

describe('builders validate their input', () => {
  it('amounts: bigint only, positive where a move must move, within 21e14', () => {
    expect(code(() => depositSeen({ depositId: 'd', amount: 0n }))).toBe('BAD_AMOUNT');
    expect(code(() => depositSeen({ depositId: 'd', amount: -1n }))).toBe('BAD_AMOUNT');
    expect(code(() => depositSeen({ depositId: 'd', amount: 5 as unknown as bigint }))).toBe(
      'BAD_AMOUNT',
    );
    expect(code(() => depositSeen({ depositId: 'd', amount: MAX_SATS + 1n }))).toBe('BAD_AMOUNT');
    expect(
      code(() => withdrawalAccepted({ withdrawalId: 'w', userId: 'u', amount: 1n, userFee: -1n })),
    ).toBe('BAD_AMOUNT');
    expect(code(() => withdrawalBroadcast({ withdrawalId: 'w', networkFee: 0n }))).toBe(
      'BAD_AMOUNT',
    );
  });
  it('ids, txids, stages and epochs', () => {
    expect(code(() => depositSeen({ depositId: '', amount: 1n }))).toBe('BAD_REQUEST');
    expect(code(() => depositSeen({ depositId: 'd', amount: 1n, epoch: -1 }))).toBe('BAD_REQUEST');
    expect(code(() => depositCredited({ depositId: 'd', amount: 1n, userId: ' ' }))).toBe(
      'BAD_REQUEST',
    );
    expect(code(() => depositReversed({ depositId: 'd', amount: 1n, stage: 'credited' }))).toBe(
      'BAD_REQUEST',
    );
    expect(
      code(() => depositReversed({ depositId: 'd', amount: 1n, stage: 'other' as 'seen' })),
    ).toBe('BAD_REQUEST');
    expect(code(() => sweepToCold({ txid: TX.toUpperCase(), amount: 1n, networkFee: 0n }))).toBe(
      'BAD_REQUEST',
    );
    expect(code(() => depositSeen(null as never))).toBe('BAD_REQUEST');
  });
});

describe('property: every builder returns a balanced entry', () => {
  const amt = fc.bigInt({ min: 1n, max: MAX_SATS / 4n });
  const fee = fc.bigInt({ min: 0n, max: MAX_SATS / 4n });
  const id = fc.stringMatching(/^[a-z0-9]{1,12}$/);
  const sums = (e: JournalEntry) => e.postings.reduce((s, p) => s + p.amount, 0n);

  it('for random amounts and ids', () => {
    fc.assert(
      fc.property(id, id, amt, fee, fee, fee, (d, u, a, f1, f2, f3) => {
        const fp = f1 === 0n ? 1n : f1;
        const entries = [
          depositSeen({ depositId: d, amount: a }),
          depositCredited({ depositId: d, userId: u, amount: a }),
          depositDelayed({ depositId: d, amount: a }),
          depositCleared({ depositId: d, userId: u, amount: a }),
          depositReversed({ depositId: d, amount: a, stage: 'seen' }),
          depositReversed({ depositId: d, amount: a, stage: 'delayed' }),
          depositReversed({ depositId: d, amount: a, stage: 'credited', userId: u }),
          withdrawalAccepted({ withdrawalId: d, userId: u, amount: a, userFee: f1 }),
          withdrawalReleased({ withdrawalId: d, userId: u, amount: a, userFee: f1 }),
          withdrawalBroadcast({ withdrawalId: d, networkFee: fp }),
          withdrawalFeeBumped({ withdrawalId: d, replacementTxid: TX, feeIncrease: fp }),
          withdrawalConfirmed({
            withdrawalId: d,
            amount: a,
            userFee: f1,
            reservedNetworkFee: f2,
            paidNetworkFee: f3,
          }),
          sweepToCold({ txid: TX, amount: a, networkFee: f2 }),
          refillReceived({ txid: TX, amount: a, networkFee: f2 }),
        ];
        for (const e of entries) expect(sums(e)).toBe(0n);
      }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import {
  applyToBalances,
  type ChainSnapshot,
  depositCredited,
  depositSeen,
  reconcile,
  withdrawalAccepted,
} from '../../src/ledger/index.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isCoordinatorError(e)) return e.code;
    throw e;
  }
  return undefined;
}

let b = new Map<string, bigint>();
b = applyToBalances(b, depositSeen({ depositId: 'd1', amount: 1000n }));
b = applyToBalances(b, depositCredited({ depositId: 'd1', userId: 'u', amount: 1000n }));
b = applyToBalances(b, depositSeen({ depositId: 'd2', amount: 30n }));
b = applyToBalances(
  b,
  withdrawalAccepted({ withdrawalId: 'w1', userId: 'u', amount: 200n, userFee: 5n }),
);

const good: ChainSnapshot = {
  confirmedUtxos: [
    { outpoint: `${'aa'.repeat(32)}:0`, amount: 600n },
    { outpoint: `${'aa'.repeat(32)}:1`, amount: 400n },
  ],
  incomingDeposits: [{ depositId: 'd2', amount: 30n }],
  uncreditedDeposits: [{ depositId: 'd2', amount: 30n }],
  openWithdrawals: [{ withdrawalId: 'w1', reserved: 205n }],
};

describe('reconcile', () => {
  it('reports ok when the ledger matches the chain and the records', () => {
    const r = reconcile(b, good);
    expect(r.ok).toBe(true);
    expect(r.lines.map((l) => [l.item, l.ledger, l.actual])).toEqual([
      ['hot_wallet', 1000n, 1000n],
      ['incoming_deposits', 30n, 30n],
      ['deposits_in_flight', 30n, 30n],
      ['pending', 205n, 205n],
    ]);
  });

  it('reports a missing hot wallet coin (theft or a missed spend) as a difference', () => {
    const r = reconcile(b, { ...good, confirmedUtxos: good.confirmedUtxos.slice(0, 1) });
    expect(r.ok).toBe(false);
    expect(r.lines[0]).toMatchObject({ item: 'hot_wallet', difference: 400n });
  });

  it('reports per-id differences even when the totals agree', () => {
    const r = reconcile(b, {
      ...good,
      uncreditedDeposits: [{ depositId: 'd3', amount: 30n }],
      openWithdrawals: [{ withdrawalId: 'w2', reserved: 205n }],
    });
    expect(r.ok).toBe(false);
    const inFlight = r.lines.find((l) => l.item === 'deposits_in_flight');
    expect(inFlight?.difference).toBe(0n);
    expect(inFlight?.ids).toEqual([
      { id: 'd2', ledger: 30n, actual: 0n },
      { id: 'd3', ledger: 0n, actual: 30n },
    ]);
    expect(r.lines.find((l) => l.item === 'pending')?.ids).toHaveLength(2);
  });

  it('refuses malformed snapshots', () => {
    expect(code(() => reconcile(b, { ...good, confirmedUtxos: 'x' as never }))).toBe('BAD_REQUEST');
    expect(
      code(() =>
        reconcile(b, {
          ...good,
          confirmedUtxos: [good.confirmedUtxos[0]!, good.confirmedUtxos[0]!],
        }),
      ),
    ).toBe('BAD_REQUEST');
    expect(
      code(() =>
        reconcile(b, { ...good, incomingDeposits: [{ depositId: 'd', amount: 1 as never }] }),
      ),
    ).toBe('BAD_AMOUNT');
    expect(code(() => reconcile({} as never, good))).toBe('BAD_REQUEST');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeviceMemory } from '../../src/device-memory.js';
import { emptyMemory } from '../../src/device-memory.js';
import { isSignerError } from '../../src/errors.js';
import { applyClock, applyPolicy, applySpend, pruneSpends } from '../../src/state/memory-ops.js';
import { hex64, sampleMemory, spend } from './fixtures.js';

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

const base = (): DeviceMemory => ({ ...emptyMemory('regtest'), lastTime: 1_000 });

describe('memory-ops', () => {
  it('applySpend records the spend, withdrawals and change index without mutating its inputs', () => {
    const m = deepFreeze(sampleMemory());
    const w = {
      withdrawalId: 'w-50',
      txids: [hex64(50)],
      outpoints: [`${hex64(1050)}:0`],
      output: '0014aa:5',
      maxFee: 1_000n,
      replacements: 0,
    };
    const update = deepFreeze({
      spend: spend(1_200, 50, 5n),
      withdrawals: [w],
      changeIndex: { walletId: 'cafe', index: 9 },
    });
    const snapshot = structuredClone(m);
    const next = applySpend(m, update, 1_200, 3_600);
    expect(m).toEqual(snapshot);
    expect(next.spends.map((s) => s.txid)).toEqual([hex64(1), hex64(2), hex64(50)]);
    expect(next.withdrawals['w-50']).toEqual(w);
    expect(next.withdrawals['w-1']).toEqual(m.withdrawals['w-1']);
    expect(next.changeIndex).toEqual({ cafe: 9 });
    expect(next.lastTime).toBe(1_200);
  });

  it('prunes spends at or before now - longest window, keeps those after', () => {
    const spends = [spend(100, 1, 1n), spend(101, 2, 1n), spend(200, 3, 1n)];
    expect(pruneSpends(spends, 200, 100).map((s) => s.at)).toEqual([101, 200]);
    const m = { ...base(), lastTime: 100, spends };
    expect(
      applySpend(m, { spend: spend(200, 4, 1n), withdrawals: [] }, 200, 100).spends.map(
        (s) => s.at,
      ),
    ).toEqual([101, 200, 200]);
  });

  it('never lowers a change index and counts a re-signed txid once', () => {
    const m = { ...base(), changeIndex: { cafe: 10 } };
    const a = applySpend(
      m,
      { spend: spend(1_000, 1, 5n), withdrawals: [], changeIndex: { walletId: 'cafe', index: 3 } },
      1_000,
      60,
    );
    expect(a.changeIndex).toEqual({ cafe: 10 });
    const b = applySpend(a, { spend: spend(1_000, 1, 5n), withdrawals: [] }, 1_000, 60);
    expect(b.spends).toHaveLength(1);
  });

  it('refuses a fail-closed memory, time going backwards, a spend from the future, a stray withdrawal', () => {
    const bad = (f: () => unknown) =>
      expect(f).toThrow(expect.objectContaining({ code: 'STATE_CORRUPT' }));
    bad(() =>
      applySpend(
        { ...base(), failClosed: true },
        { spend: spend(1_000, 1, 1n), withdrawals: [] },
        1_000,
        60,
      ),
    );
    bad(() => applySpend(base(), { spend: spend(900, 1, 1n), withdrawals: [] }, 900, 60));
    bad(() => applySpend(base(), { spend: spend(2_000, 1, 1n), withdrawals: [] }, 1_500, 60));
    bad(() => applySpend(base(), { spend: spend(1_000, 1, 1n), withdrawals: [] }, 1_000, -1));
    const stray = {
      withdrawalId: 'other',
      txids: [hex64(1)],
      outpoints: [],
      output: '00:1',
      maxFee: 0n,
      replacements: 0,
    };
    bad(() => applySpend(base(), { spend: spend(1_000, 1, 1n), withdrawals: [stray] }, 1_000, 60));
    bad(() => applyClock(base(), 999, 0));
    bad(() => applyClock({ ...base(), lastHeight: 5 }, 1_000, 4));
    expect(applyClock(base(), 1_001, 7)).toMatchObject({ lastTime: 1_001, lastHeight: 7 });
    bad(() => applyPolicy({ ...base(), policyVersion: 3 }, 3, 'ab'.repeat(32)));
    expect(applyPolicy(base(), 1, 'ab'.repeat(32))).toMatchObject({ policyVersion: 1 });
    try {
      applyClock(base(), 1, 0);
    } catch (e) {
      expect(
        isSignerError(e, 'STATE_CORRUPT') && e.message.startsWith('memory-ops/applyClock: '),
      ).toBe(true);
    }
  });

  it('property: every window up to the longest still sees all its spends after applySpend', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 500 }), fc.bigInt({ min: 1n, max: 10n ** 12n })),
          { maxLength: 30 },
        ),
        fc.integer({ min: 1, max: 2_000 }),
        fc.integer({ min: 1, max: 2_000 }),
        (steps, longest, shorterRaw) => {
          const shorter = Math.min(shorterRaw, longest);
          let m = base();
          let now = 1_000;
          const all: { at: number; amount: bigint }[] = [];
          steps.forEach(([dt, amount], i) => {
            now += dt;
            m = applySpend(m, { spend: spend(now, i + 10, amount), withdrawals: [] }, now, longest);
            all.push({ at: now, amount });
          });
          for (const w of [shorter, longest]) {
            const want = all.filter((s) => s.at > now - w).reduce((a, s) => a + s.amount, 0n);
            const got = m.spends.filter((s) => s.at > now - w).reduce((a, s) => a + s.amount, 0n);
            expect(got).toBe(want);
          }
        },
      ),
    );
  });
});

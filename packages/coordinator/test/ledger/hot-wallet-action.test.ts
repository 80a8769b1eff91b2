import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import { hotWalletAction } from '../../src/ledger/index.js';

const t = { refillBelow: 100n, target: 500n, sweepAbove: 1000n };

describe('hotWalletAction', () => {
  it('sweeps above sweepAbove down to target', () => {
    expect(hotWalletAction(1001n, t)).toEqual({ action: 'sweep', amount: 501n });
    expect(hotWalletAction(1000n, t)).toEqual({ action: 'none' });
  });
  it('asks for a refill below refillBelow up to target', () => {
    expect(hotWalletAction(99n, t)).toEqual({ action: 'refill', amount: 401n });
    expect(hotWalletAction(0n, t)).toEqual({ action: 'refill', amount: 500n });
    expect(hotWalletAction(100n, t)).toEqual({ action: 'none' });
  });
  it('skips moves below minMove', () => {
    expect(hotWalletAction(1001n, { ...t, target: 1000n, minMove: 2n })).toEqual({
      action: 'none',
    });
  });
  it('refuses inconsistent thresholds and bad balances', () => {
    const c = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return isCoordinatorError(e) ? e.code : 'other';
      }
      return undefined;
    };
    expect(c(() => hotWalletAction(5n, { ...t, target: 50n }))).toBe('BAD_CONFIG');
    expect(c(() => hotWalletAction(-1n, t))).toBe('BAD_AMOUNT');
    expect(c(() => hotWalletAction(5 as never, t))).toBe('BAD_AMOUNT');
  });
  it('property: after the action the balance is inside [refillBelow, sweepAbove]', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), (bal) => {
        const a = hotWalletAction(bal, t);
        const after =
          a.action === 'sweep' ? bal - a.amount : a.action === 'refill' ? bal + a.amount : bal;
        expect(after >= t.refillBelow && after <= t.sweepAbove).toBe(true);
      }),
    );
  });
});

/**
 * The hot-wallet marks the demo writes before the sweep (scenario-sweep.ts): the coordinator's own
 * decision (ledger/hot-wallet-action.ts, with target = (low + high) / 2 as its daemon computes it)
 * must sweep exactly the planned amount, once; and RPC amounts read back as exact satoshis.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hotWalletAction } from '../../coordinator/src/ledger/hot-wallet-action.js';
import { btcString, satsFromBtcNumber } from '../src/devnet.js';
import { SWEEP_AMOUNT, sweepMarks } from '../src/scenario-sweep.js';
import { DemoError } from '../src/wait.js';

const MAX_SATS = 2_100_000_000_000_000n;

describe('sweepMarks', () => {
  it('makes the coordinator sweep exactly the amount, and leaves nothing to sweep or refill after it', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 250_000_000n }).map((n) => n * 4n),
        fc.bigInt({ min: 0n, max: 10_000_000_000_000n }),
        fc.bigInt({ min: 0n, max: 1_000_000n }),
        (amount, extra, feeFraction) => {
          const available = (amount * 7n) / 4n + extra;
          const { highMark, lowMark } = sweepMarks(available, amount);
          const thresholds = {
            refillBelow: lowMark,
            target: (lowMark + highMark) / 2n,
            sweepAbove: highMark,
          };
          expect(lowMark).toBeGreaterThanOrEqual(0n);
          expect(lowMark).toBeLessThan(highMark);
          expect(hotWalletAction(available, thresholds)).toEqual({ action: 'sweep', amount });
          // After the sweep and any fee under 3/4 of it: between the marks, no further action.
          const fee = (((amount * 3n) / 4n - 1n) * feeFraction) / 1_000_000n;
          expect(hotWalletAction(available - amount - fee, thresholds)).toEqual({
            action: 'none',
          });
        },
      ),
    );
  });

  it('gives the demo figures: 0.8 BTC out of 9.72 BTC', () => {
    const available = 971_997_790n;
    expect(sweepMarks(available, SWEEP_AMOUNT)).toEqual({
      highMark: 951_997_790n,
      lowMark: 831_997_790n,
    });
  });

  it('refuses a hot wallet too small for the sweep, a zero sweep and an odd one', () => {
    expect(() => sweepMarks(139_999_999n, SWEEP_AMOUNT)).toThrow(DemoError);
    expect(() => sweepMarks(1_000_000n, 0n)).toThrow(/positive sweep/);
    expect(() => sweepMarks(1_000_000n, 1_001n)).toThrow(/multiple of 4/);
  });
});

describe('satsFromBtcNumber', () => {
  it('reads back the satoshis of any amount written with 8 decimals', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_SATS }), (sats) => {
        expect(satsFromBtcNumber(Number(btcString(sats)))).toBe(sats);
      }),
    );
  });

  it('refuses what is not an amount', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, 21_000_001]) {
      expect(() => satsFromBtcNumber(bad)).toThrow(DemoError);
    }
  });
});

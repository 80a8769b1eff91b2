import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { transition } from '../../src/device/lifecycle.js';
import {
  clearRefusals,
  newRefusalCounter,
  type RefusalCounter,
  recordRefusal,
  refusalsInWindow,
} from '../../src/device/refusal-counter.js';
import { SignerError } from '../../src/errors.js';

const T = 1_800_000_000;

function recordAll(c: RefusalCounter, times: number[]): { c: RefusalCounter; trips: boolean[] } {
  const trips: boolean[] = [];
  for (const t of times) {
    const out = recordRefusal(c, t);
    c = out.counter;
    trips.push(out.lockout);
  }
  return { c, trips };
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof SignerError) return e.code;
    throw e;
  }
  return 'none';
}

describe('refusal lockout', () => {
  it('trips on the refusal that makes more than max in the window, not before', () => {
    const { trips } = recordAll(newRefusalCounter(3, 600), [T, T + 1, T + 2, T + 3]);
    expect(trips).toEqual([false, false, false, true]);
    expect(transition('armed', 'refusalLockout')).toBe('paused');
  });

  it('max = 0 pauses on the first refusal', () => {
    expect(recordRefusal(newRefusalCounter(0, 60), T).lockout).toBe(true);
  });

  it('window boundary: a refusal exactly windowSeconds old no longer counts', () => {
    // window (t - 600, t]: T is out at T + 600, in at T + 599
    const c = recordAll(newRefusalCounter(2, 600), [T, T + 1]).c;
    expect(recordRefusal(c, T + 599).lockout).toBe(true);
    expect(recordRefusal(c, T + 600).lockout).toBe(false);
    expect(recordRefusal(c, T + 600).inWindow).toBe(2);
    expect(refusalsInWindow(c, T + 600)).toBe(1);
    expect(refusalsInWindow(c, T + 599)).toBe(2);
  });

  it('a clock that goes backwards cannot age refusals out early', () => {
    const c = recordAll(newRefusalCounter(2, 600), [T + 1000, T + 1001]).c;
    const out = recordRefusal(c, T);
    expect(out.lockout).toBe(true);
    expect(out.counter.times).toEqual([T + 1000, T + 1001, T + 1001]);
  });

  it('keeps at most max + 1 times and forgets them on clear (two-holder resume)', () => {
    const { c } = recordAll(
      newRefusalCounter(2, 10_000),
      Array.from({ length: 50 }, (_, i) => T + i),
    );
    expect(c.times).toHaveLength(3);
    const cleared = clearRefusals(c);
    expect(cleared.times).toEqual([]);
    expect(recordRefusal(cleared, T + 60).lockout).toBe(false);
  });

  it('agrees with a brute-force count over any schedule', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 40 }),
        (max, window, gaps) => {
          let c = newRefusalCounter(max, window);
          const seen: number[] = [];
          let t = T;
          for (const g of gaps) {
            t += g;
            seen.push(t);
            const out = recordRefusal(c, t);
            const want = seen.filter((x) => x > t - window).length;
            expect(out.inWindow).toBe(Math.min(want, max + 2));
            expect(out.lockout).toBe(want > max);
            c = out.counter;
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses bad settings, times and corrupt counters', () => {
    expect(code(() => newRefusalCounter(-1, 60))).toBe('BAD_CONFIG');
    expect(code(() => newRefusalCounter(1, 0))).toBe('BAD_CONFIG');
    expect(code(() => recordRefusal(newRefusalCounter(1, 60), -5))).toBe('CLOCK_REFUSED');
    expect(code(() => recordRefusal(newRefusalCounter(1, 60), 1.5))).toBe('CLOCK_REFUSED');
    const corrupt = { max: 1, windowSeconds: 60, times: [T + 5, T] };
    expect(code(() => recordRefusal(corrupt, T + 6))).toBe('STATE_CORRUPT');
    const tooMany = { max: 1, windowSeconds: 60, times: [T, T, T] };
    expect(code(() => recordRefusal(tooMany, T + 6))).toBe('STATE_CORRUPT');
  });
});

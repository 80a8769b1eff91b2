import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeviceClock } from '../src/clock.js';
import { isSignerError } from '../src/errors.js';

const T0 = 1_700_000_000;

function refusedWith(f: () => unknown, reason: string): void {
  try {
    f();
  } catch (e) {
    expect(isSignerError(e, 'CLOCK_REFUSED')).toBe(true);
    expect((e as { detail: { reason: string } }).detail.reason).toBe(reason);
    expect((e as Error).message.startsWith('clock/accept: ')).toBe(true);
    return;
  }
  throw new Error('expected CLOCK_REFUSED');
}

describe('DeviceClock', () => {
  it('accepts an honest offer inside the bound as is', () => {
    const c = DeviceClock.atBoot({ lastTime: T0, lastHeight: 10 });
    const a = c.accept({ unixSeconds: T0 + 30, height: 11 }, 60_000);
    expect(a).toMatchObject({ unixSeconds: T0 + 30, height: 11, clamped: false });
    expect(c.state.lastTime).toBe(T0); // pure: the old clock did not change
    expect(a.clock.state.lastTime).toBe(T0 + 30);
  });

  it('refuses time going backwards and height decreasing', () => {
    const c = DeviceClock.atBoot({ lastTime: T0, lastHeight: 10 }).accept(
      { unixSeconds: T0 + 5, height: 12 },
      10_000,
    ).clock;
    refusedWith(() => c.accept({ unixSeconds: T0 + 4, height: 12 }, 20_000), 'TIME_BACKWARDS');
    refusedWith(() => c.accept({ unixSeconds: T0 + 6, height: 11 }, 20_000), 'HEIGHT_BACKWARDS');
    refusedWith(() => c.accept({ unixSeconds: T0 + 6, height: 12 }, 9_000), 'MONOTONIC_BACKWARDS');
    refusedWith(() => c.accept({ unixSeconds: -1, height: 12 }, 20_000), 'NOT_A_TIME');
    refusedWith(() => c.accept({ unixSeconds: 1.5, height: 12 }, 20_000), 'NOT_A_TIME');
    refusedWith(
      () =>
        c.accept(
          { unixSeconds: 10n, height: 12 } as unknown as { unixSeconds: number; height: number },
          20_000,
        ),
      'NOT_A_TIME',
    );
    refusedWith(
      () => c.accept(null as unknown as { unixSeconds: number; height: number }, 20_000),
      'NOT_A_TIME',
    );
    refusedWith(() => c.accept({ unixSeconds: T0 + 6, height: 12 }, Number.NaN), 'NOT_A_TIME');
  });

  it('clamps a forward jump to last + elapsed monotonic seconds + tolerance, and flags it', () => {
    const c = DeviceClock.atBoot({ lastTime: T0, lastHeight: 0 }, { toleranceSeconds: 120 });
    const a = c.accept({ unixSeconds: T0 + 86_400, height: 1 }, 10_500);
    expect(a).toMatchObject({
      unixSeconds: T0 + 10 + 120,
      clamped: true,
      offeredUnixSeconds: T0 + 86_400,
    });
    // The jump did not reset anything: an hour later the device is an hour further, no more.
    const b = a.clock.accept({ unixSeconds: T0 + 86_400 + 3_600, height: 2 }, 3_610_500);
    expect(b.unixSeconds).toBe(T0 + 3_610 + 120);
  });

  it('does not let the tolerance compound across requests', () => {
    let c = DeviceClock.atBoot({ lastTime: T0, lastHeight: 0 }, { toleranceSeconds: 120 });
    for (let i = 1; i <= 1_000; i++) {
      // Each request claims 120 s more than the last, one second apart.
      c = c.accept({ unixSeconds: c.state.lastTime + 120, height: 0 }, i * 1_000).clock;
    }
    expect(c.state.lastTime).toBe(T0 + 1_000 + 120);
  });

  it('after a reboot, the bound restarts from the persisted time: the device lags (safe side)', () => {
    const before = DeviceClock.atBoot({ lastTime: T0, lastHeight: 5 }).accept(
      { unixSeconds: T0 + 100, height: 6 },
      100_000,
    );
    // Persisted: T0 + 100. The device is off for a day, boots, 30 s pass, the coordinator offers real time.
    const rebooted = DeviceClock.atBoot({
      lastTime: before.unixSeconds,
      lastHeight: before.height,
    });
    const a = rebooted.accept({ unixSeconds: T0 + 100 + 86_400 + 30, height: 150 }, 30_000);
    expect(a).toMatchObject({ unixSeconds: T0 + 100 + 30 + 120, clamped: true, height: 150 });
    // A velocity window of one day that held a spend at T0 + 100 still holds it.
    expect(a.unixSeconds - (T0 + 100)).toBeLessThan(86_400);
  });

  it('rejects a bad boot configuration', () => {
    expect(() => DeviceClock.atBoot({ lastTime: -1, lastHeight: 0 })).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG' }),
    );
  });

  it('property: accepted time never decreases, never exceeds the offer or anchor + elapsed + tolerance; height is monotone', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2_000_000_000 }),
        fc.integer({ min: 0, max: 600 }),
        fc.array(
          fc.record({
            dMs: fc.integer({ min: 0, max: 5_000_000 }),
            dOffer: fc.integer({ min: -1_000, max: 10_000_000 }),
            dHeight: fc.integer({ min: -3, max: 20 }),
          }),
          { maxLength: 60 },
        ),
        (start, tol, steps) => {
          let c = DeviceClock.atBoot(
            { lastTime: start, lastHeight: 100 },
            { toleranceSeconds: tol },
          );
          let mono = 0;
          let offered = start;
          let height = 100;
          for (const s of steps) {
            mono += s.dMs;
            offered = Math.max(0, offered + s.dOffer);
            height = Math.max(0, height + s.dHeight);
            const prev = c.state;
            let a: ReturnType<DeviceClock['accept']>;
            try {
              a = c.accept({ unixSeconds: offered, height }, mono);
            } catch (e) {
              expect(isSignerError(e, 'CLOCK_REFUSED')).toBe(true);
              expect(offered < prev.lastTime || height < prev.lastHeight).toBe(true);
              continue;
            }
            expect(offered >= prev.lastTime && height >= prev.lastHeight).toBe(true);
            expect(a.unixSeconds).toBeGreaterThanOrEqual(prev.lastTime);
            expect(a.unixSeconds).toBeLessThanOrEqual(offered);
            expect(a.unixSeconds).toBeLessThanOrEqual(start + Math.floor(mono / 1000) + tol);
            expect(a.clamped).toBe(a.unixSeconds < offered);
            expect(a.height).toBe(height);
            c = a.clock;
          }
        },
      ),
    );
  });
});

/**
 * The device clock (docs/state-and-audit.md §6). The device has no trustworthy real-time clock;
 * the coordinator offers {unixSeconds, height} with each request. The device accepts it only
 * forward, and never faster than its own monotonic clock allows since an anchor fixed at boot:
 *
 *   bound(m) = anchorTime + floor((m - anchorMonotonicMs) / 1000) + tolerance
 *
 * A larger offer is clamped to the bound (and flagged), so a jump uses up velocity windows rather
 * than resetting them. The anchor is the persisted last time at boot and monotonic 0 (the
 * monotonic clock restarts at boot); it never moves within a boot, so the tolerance cannot be
 * claimed again with each request. Pure: the monotonic reading is passed in; accept() returns the
 * next clock instead of changing this one.
 */
import { SignerError } from './errors.js';

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 120;

export interface OfferedTime {
  readonly unixSeconds: number;
  readonly height: number;
}

export interface ClockAcceptance {
  /** Device time to use for this request (unix seconds). */
  readonly unixSeconds: number;
  readonly height: number;
  /** True when the offer was above the bound and the device time is the bound instead. */
  readonly clamped: boolean;
  readonly offeredUnixSeconds: number;
  /** The clock after this acceptance; adopt it once the memory that records it is committed. */
  readonly clock: DeviceClock;
}

export interface DeviceClockState {
  readonly anchorTime: number;
  readonly anchorMonotonicMs: number;
  readonly lastTime: number;
  readonly lastHeight: number;
  readonly lastMonotonicMs: number;
  readonly toleranceSeconds: number;
}

function refuse(
  reason: string,
  message: string,
  detail: Record<string, unknown> = {},
): SignerError {
  return new SignerError('CLOCK_REFUSED', `clock/accept: ${message}`, { reason, ...detail });
}

function describe(o: unknown): string {
  if (typeof o !== 'object' || o === null) return o === null ? 'null' : typeof o;
  const { unixSeconds, height } = o as Record<string, unknown>;
  const one = (v: unknown) => (typeof v === 'number' ? String(v) : typeof v);
  return `{unixSeconds: ${one(unixSeconds)}, height: ${one(height)}}`;
}

function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export class DeviceClock {
  private constructor(readonly state: DeviceClockState) {
    Object.freeze(this);
  }

  /**
   * The clock of a device that just booted with `persisted` time/height (from DeviceMemory).
   * `bootMonotonicMs` is the monotonic reading that stands for the boot (0 when the injected
   * reading counts from boot).
   */
  static atBoot(
    persisted: { readonly lastTime: number; readonly lastHeight: number },
    options: { readonly toleranceSeconds?: number; readonly bootMonotonicMs?: number } = {},
  ): DeviceClock {
    const tolerance = options.toleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
    const boot = options.bootMonotonicMs ?? 0;
    for (const [name, v] of [
      ['lastTime', persisted.lastTime],
      ['lastHeight', persisted.lastHeight],
      ['toleranceSeconds', tolerance],
      ['bootMonotonicMs', boot],
    ] as const) {
      if (!isUint(v)) {
        throw new SignerError(
          'BAD_CONFIG',
          `clock/atBoot: expected ${name} to be a non-negative integer, got ${String(v)}`,
        );
      }
    }
    return new DeviceClock({
      anchorTime: persisted.lastTime,
      anchorMonotonicMs: boot,
      lastTime: persisted.lastTime,
      lastHeight: persisted.lastHeight,
      lastMonotonicMs: boot,
      toleranceSeconds: tolerance,
    });
  }

  /** Highest device time allowed at monotonic reading `monotonicMs`. */
  boundAt(monotonicMs: number): number {
    const s = this.state;
    const elapsed = Math.floor((monotonicMs - s.anchorMonotonicMs) / 1000);
    return s.anchorTime + Math.max(0, elapsed) + s.toleranceSeconds;
  }

  /**
   * Accept an offered time at monotonic reading `monotonicMs`, or throw CLOCK_REFUSED with
   * detail.reason: NOT_A_TIME (offer or reading not a non-negative integer), MONOTONIC_BACKWARDS,
   * TIME_BACKWARDS, HEIGHT_BACKWARDS.
   */
  accept(offered: OfferedTime, monotonicMs: number): ClockAcceptance {
    const s = this.state;
    const o = offered as Partial<OfferedTime> | null | undefined;
    if (typeof o !== 'object' || o === null || !isUint(o.unixSeconds) || !isUint(o.height)) {
      throw refuse(
        'NOT_A_TIME',
        `expected {unixSeconds, height} as non-negative integers, got ${describe(o)}`,
      );
    }
    if (typeof monotonicMs !== 'number' || !Number.isFinite(monotonicMs) || monotonicMs < 0) {
      throw refuse(
        'NOT_A_TIME',
        `expected a monotonic reading >= 0 ms, got ${String(monotonicMs)}`,
      );
    }
    if (monotonicMs < s.lastMonotonicMs) {
      throw refuse(
        'MONOTONIC_BACKWARDS',
        `expected a monotonic reading >= ${s.lastMonotonicMs} ms, got ${monotonicMs}`,
      );
    }
    if (o.unixSeconds < s.lastTime) {
      throw refuse(
        'TIME_BACKWARDS',
        `expected unixSeconds >= ${s.lastTime} (last accepted), got ${o.unixSeconds}`,
        { lastTime: s.lastTime, offered: o.unixSeconds },
      );
    }
    if (o.height < s.lastHeight) {
      throw refuse('HEIGHT_BACKWARDS', `expected height >= ${s.lastHeight}, got ${o.height}`, {
        lastHeight: s.lastHeight,
        offered: o.height,
      });
    }
    const bound = this.boundAt(monotonicMs);
    const clamped = o.unixSeconds > bound;
    // bound >= lastTime always holds: lastTime was itself at most an earlier bound, or the anchor.
    const unixSeconds = Math.max(s.lastTime, clamped ? bound : o.unixSeconds);
    const clock = new DeviceClock({
      ...s,
      lastTime: unixSeconds,
      lastHeight: o.height,
      lastMonotonicMs: monotonicMs,
    });
    return Object.freeze({
      unixSeconds,
      height: o.height,
      clamped,
      offeredUnixSeconds: o.unixSeconds,
      clock,
    });
  }
}

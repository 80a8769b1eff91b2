/**
 * Refusal lockout (DESIGN §4: "repeated refusals pause the device"). Pure data + functions: the
 * counter keeps the device times of the latest refusals; when MORE than `max` of them fall in the
 * window `(t − windowSeconds, t]` at a refusal at time t, the caller fires the lifecycle event
 * `refusalLockout` (armed → paused). docs/lifecycle.md §5.
 *
 * Time never helps an attacker here: a refusal time earlier than the last recorded one is
 * recorded at the last one (it stays in the window longer, never shorter), and refusals are only
 * forgotten when they leave the window or when two holders resume (`clearRefusals`).
 */
import { SignerError } from '../errors.js';
import { MAX_TIME } from './activation.js';

/** Largest `max` accepted: the list holds at most max + 1 times. */
export const MAX_TOLERATED_REFUSALS = 10_000;

export interface RefusalCounter {
  /** The most refusals tolerated inside the window; one more trips the lockout. */
  readonly max: number;
  readonly windowSeconds: number;
  /** Refusal times inside the window, ascending, at most max + 1 of them. */
  readonly times: readonly number[];
}

export interface RefusalOutcome {
  readonly counter: RefusalCounter;
  /** True when this refusal made more than `max` in the window: fire `refusalLockout`. */
  readonly lockout: boolean;
  /** Refusals in the window, this one included; counted up to max + 2 (only max + 1 are kept). */
  readonly inWindow: number;
}

const PLACE = 'device/refusal-counter';

function checkSeconds(place: string, name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > MAX_TIME) {
    throw new SignerError(
      'CLOCK_REFUSED',
      `${place}: expected ${name} as unix seconds 0..2^40, got ${typeof v === 'number' ? String(v) : typeof v}`,
    );
  }
}

function checkSettings(place: string, max: unknown, windowSeconds: unknown): void {
  if (
    typeof max !== 'number' ||
    !Number.isSafeInteger(max) ||
    max < 0 ||
    max > MAX_TOLERATED_REFUSALS
  ) {
    throw new SignerError(
      'BAD_CONFIG',
      `${place}: expected max as an integer 0..${MAX_TOLERATED_REFUSALS}, got ${String(max)}`,
    );
  }
  if (
    typeof windowSeconds !== 'number' ||
    !Number.isSafeInteger(windowSeconds) ||
    windowSeconds < 1 ||
    windowSeconds > MAX_TIME
  ) {
    throw new SignerError(
      'BAD_CONFIG',
      `${place}: expected windowSeconds as an integer 1..2^40, got ${String(windowSeconds)}`,
    );
  }
}

/** An empty counter. */
export function newRefusalCounter(max: number, windowSeconds: number): RefusalCounter {
  checkSettings(`${PLACE}/new`, max, windowSeconds);
  return Object.freeze({ max, windowSeconds, times: Object.freeze([]) });
}

function checkCounter(place: string, c: RefusalCounter): void {
  if (typeof c !== 'object' || c === null)
    throw new SignerError('STATE_CORRUPT', `${place}: expected a refusal counter, got ${typeof c}`);
  checkSettings(place, c.max, c.windowSeconds);
  const t = c.times;
  const ok =
    Array.isArray(t) &&
    t.length <= c.max + 1 &&
    t.every(
      (x, i) =>
        Number.isSafeInteger(x) && x >= 0 && x <= MAX_TIME && (i === 0 || x >= (t[i - 1] ?? 0)),
    );
  if (!ok) {
    throw new SignerError(
      'STATE_CORRUPT',
      `${place}: expected at most max + 1 ascending refusal times, got a malformed list`,
    );
  }
}

/** Refusals counted at time `now`: those in (now − windowSeconds, now] plus any later ones. */
export function refusalsInWindow(c: RefusalCounter, now: number): number {
  checkCounter(`${PLACE}/count`, c);
  checkSeconds(`${PLACE}/count`, 'now', now);
  const from = now - c.windowSeconds;
  return c.times.filter((t) => t > from).length;
}

/** Record one refusal at device time `t`. */
export function recordRefusal(c: RefusalCounter, t: number): RefusalOutcome {
  const place = `${PLACE}/record`;
  checkCounter(place, c);
  checkSeconds(place, 't', t);
  const last = c.times[c.times.length - 1];
  const at = last !== undefined && last > t ? last : t;
  const from = at - c.windowSeconds;
  const kept = [...c.times.filter((x) => x > from), at];
  const inWindow = kept.length;
  const times = Object.freeze(kept.slice(-(c.max + 1)));
  return Object.freeze({
    counter: Object.freeze({ max: c.max, windowSeconds: c.windowSeconds, times }),
    lockout: inWindow > c.max,
    inWindow,
  });
}

/** After two holders resume: the refusals that caused the pause are forgotten. */
export function clearRefusals(c: RefusalCounter): RefusalCounter {
  checkCounter(`${PLACE}/clear`, c);
  return newRefusalCounter(c.max, c.windowSeconds);
}

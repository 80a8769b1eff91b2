/**
 * Lockout: repeated refusals pause the device (DESIGN §4). Pure: the caller keeps the times of
 * its recent refusals (the audit log has them) and asks whether the latest one trips the lockout.
 */
import { SignerError } from '../errors.js';
import type { PolicyDocument } from './document.js';

/**
 * True when at least `lockout.maxRefusals` refusals fall in (now − windowSeconds, now]; refusal
 * times after `now` count too (a clock cannot be rolled back to clear them).
 */
export function lockoutTripped(
  refusalTimes: readonly number[],
  lockout: PolicyDocument['lockout'],
  now: number,
): boolean {
  if (!Number.isSafeInteger(now) || now < 0) {
    throw new SignerError(
      'CLOCK_REFUSED',
      `policy/lockout: expected now as unix seconds, got ${String(now)}`,
    );
  }
  if (!Array.isArray(refusalTimes) || refusalTimes.some((t) => !Number.isSafeInteger(t) || t < 0)) {
    throw new SignerError(
      'STATE_CORRUPT',
      'policy/lockout: expected refusal times as unix seconds',
    );
  }
  const from = now - lockout.windowSeconds;
  let count = 0;
  for (const t of refusalTimes) if (t > from) count += 1;
  return count >= lockout.maxRefusals;
}

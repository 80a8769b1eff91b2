/**
 * Waiting, injected: the follower and its tests never touch real time except through `Sleep`.
 * `backoffDelay` is the pure schedule: initial, ×2 per failure in a row, capped at max.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** Resolve after `ms`, or as soon as `signal` aborts (never rejects). */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = async (ms, signal) => {
  if (signal?.aborted) return;
  try {
    await delay(ms, undefined, signal === undefined ? undefined : { signal });
  } catch (e) {
    if (!(e instanceof Error && e.name === 'AbortError')) throw e;
  }
};

/** Delay before retry number `attempt` (1 = first retry): min(max, initial × 2^(attempt-1)). */
export function backoffDelay(
  attempt: number,
  backoff: { readonly initialMs: number; readonly maxMs: number },
): number {
  const n = Math.max(1, Math.floor(attempt));
  // 2^31 ms is far past any cap (1 h); stop doubling there to stay exact.
  const factor = 2 ** Math.min(n - 1, 31);
  return Math.min(backoff.maxMs, backoff.initialMs * factor);
}

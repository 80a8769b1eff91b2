/**
 * Bounded retries with exponential backoff and full jitter, shared by both chain backends.
 * `attempt` k (0-based) waits a uniform random time in [0, min(maxDelayMs, baseDelayMs·2^k)]
 * ("full jitter"), so that coordinators restarted together do not hammer a node in lockstep.
 * Only failures the caller marks as retryable are retried; an answer is never retried.
 */
export interface RetryPolicy {
  /** Retries after the first attempt (0 = one attempt only). */
  readonly retries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Injected so that tests are deterministic: no real waiting, no real randomness. */
export interface RetryDeps {
  readonly sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). */
  readonly random: () => number;
}

export const realRetryDeps: RetryDeps = Object.freeze({
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
});

/** The wait before retry number `attempt + 1`. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

/** Thrown by an attempt to ask for another try; `reason` ends up in the final error. */
export class RetryableFailure extends Error {
  override readonly name = 'RetryableFailure';
  readonly reason: string;
  readonly detail: Readonly<Record<string, unknown>>;
  constructor(reason: string, detail: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(reason, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.detail = Object.freeze({ ...detail });
  }
}

/**
 * Run `attempt` until it returns, throws something other than RetryableFailure, or has failed
 * `policy.retries + 1` times; then `onExhausted(lastFailure, attempts)` builds the final error.
 */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  deps: RetryDeps,
  onExhausted: (last: RetryableFailure, attempts: number) => Error,
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      if (!(e instanceof RetryableFailure)) throw e;
      if (n >= policy.retries) throw onExhausted(e, n + 1);
      await deps.sleep(backoffDelay(n, policy, deps.random));
    }
  }
}

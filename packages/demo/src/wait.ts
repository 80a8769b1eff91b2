/**
 * Every wait of the demo goes through `waitFor`: a probe polled until it reports done, bounded by
 * a timeout whose error names what did not happen and the last state seen. A demo that hangs
 * teaches nothing; one that says "expected 30 deposits credited within 60 s, got 29 credited, 1
 * pending" points at the part that broke.
 */

/** A failure of the demo itself (an expected outcome that did not happen, a tool that failed). */
export class DemoError extends Error {
  override readonly name = 'DemoError';
}

export type Probe<T> = () => Promise<{ done: true; value: T } | { done: false; state: string }>;

export interface WaitOptions {
  /** Give up after this long. */
  readonly timeoutMs: number;
  /** Pause between probes; default 250 ms. */
  readonly intervalMs?: number;
  /** Aborts the wait (shutdown, Ctrl-C). */
  readonly signal?: AbortSignal;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new DemoError('demo/sleep: aborted'));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DemoError('demo/sleep: aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Poll `probe` until it is done. A probe that throws is retried (the error becomes the state) —
 * a service still starting answers with errors — until the timeout.
 */
export async function waitFor<T>(what: string, probe: Probe<T>, options: WaitOptions): Promise<T> {
  const started = Date.now();
  const interval = options.intervalMs ?? 250;
  let state = 'nothing observed yet';
  for (;;) {
    if (options.signal?.aborted === true) {
      throw new DemoError(`demo/wait: aborted while waiting for ${what}`);
    }
    try {
      const r = await probe();
      if (r.done) return r.value;
      state = r.state;
    } catch (e) {
      state = `error: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (Date.now() - started >= options.timeoutMs) {
      throw new DemoError(
        `demo/wait: expected ${what} within ${Math.round(options.timeoutMs / 1000)} s, got ${state}`,
      );
    }
    await sleep(interval, options.signal);
  }
}

/** Bounded waits: the error names what did not happen and the last state seen. */
import { describe, expect, it } from 'vitest';
import { DemoError, waitFor } from '../src/wait.js';

describe('waitFor', () => {
  it('returns the value once the probe is done, retrying probes that throw', async () => {
    let calls = 0;
    const v = await waitFor(
      'the third call',
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('not up yet');
        return calls >= 3 ? { done: true, value: calls } : { done: false, state: `call ${calls}` };
      },
      { timeoutMs: 10_000, intervalMs: 1 },
    );
    expect(v).toBe(3);
  });

  it('gives up with a message naming what and the last state', async () => {
    await expect(
      waitFor(
        '30 deposits credited',
        async () => ({ done: false, state: '29 credited, 1 pending' }),
        {
          timeoutMs: 0,
          intervalMs: 1,
        },
      ),
    ).rejects.toThrow(
      'demo/wait: expected 30 deposits credited within 0 s, got 29 credited, 1 pending',
    );
  });

  it('stops when aborted', async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(
      waitFor('anything', async () => ({ done: false, state: '-' }), {
        timeoutMs: 10_000,
        signal: abort.signal,
      }),
    ).rejects.toBeInstanceOf(DemoError);
  });
});

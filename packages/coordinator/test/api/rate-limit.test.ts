import { afterEach, describe, expect, it } from 'vitest';
import { call, errorOf, type Setup, setup } from './helpers.js';

let s: Setup | undefined;
afterEach(async () => {
  await s?.app.close();
  s = undefined;
});

describe('rate limits', () => {
  it('per API key: the (max+1)th request in the window is 429 RATE_LIMITED; another key is unaffected', async () => {
    s = await setup({
      limits: { rateLimit: { max: 3, timeWindowMs: 3_600_000, unauthenticatedMax: 2 } },
    });
    for (let i = 0; i < 3; i++) {
      const ok = await call(s.app, 'GET', '/v1/status', { key: s.keys.operator });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(2 - i));
    }
    const over = await call(s.app, 'GET', '/v1/status', { key: s.keys.operator });
    expect(over.statusCode).toBe(429);
    expect(errorOf(over).code).toBe('RATE_LIMITED');
    expect(over.headers['retry-after']).toBeDefined();
    const calls = s.service.calls.length;
    // The limited key does not reach the service; the admin key has its own budget.
    await call(s.app, 'GET', '/v1/status', { key: s.keys.operator });
    expect(s.service.calls.length).toBe(calls);
    expect((await call(s.app, 'GET', '/v1/status', { key: s.keys.admin })).statusCode).toBe(200);
  });

  it('requests without a valid key share a smaller per-IP budget (no free retries of forged keys)', async () => {
    s = await setup({
      limits: { rateLimit: { max: 100, timeWindowMs: 3_600_000, unauthenticatedMax: 2 } },
    });
    const forged = `kl_${'Q'.repeat(43)}`;
    expect((await call(s.app, 'GET', '/v1/status', { key: forged })).statusCode).toBe(401);
    expect((await call(s.app, 'GET', '/v1/status')).statusCode).toBe(401);
    const third = await call(s.app, 'GET', '/v1/status', { key: forged });
    expect(third.statusCode).toBe(429);
    expect(errorOf(third).code).toBe('RATE_LIMITED');
    // A valid key from the same address is counted on its own budget.
    expect((await call(s.app, 'GET', '/v1/status', { key: s.keys.operator })).statusCode).toBe(200);
  });

  it('/healthz and /metrics are not rate limited', async () => {
    s = await setup({
      limits: {
        rateLimit: { max: 1, timeWindowMs: 3_600_000, unauthenticatedMax: 1 },
        metricsPublic: true,
      },
    });
    for (let i = 0; i < 3; i++) {
      expect((await call(s.app, 'GET', '/healthz')).statusCode).toBe(200);
      expect((await call(s.app, 'GET', '/metrics')).statusCode).toBe(200);
    }
  });

  it('bad limits are refused at build time (BAD_CONFIG)', async () => {
    await expect(
      setup({ limits: { rateLimit: { max: 0, timeWindowMs: 1000 } } }),
    ).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    await expect(setup({ limits: { bodyLimitBytes: 10 } })).rejects.toMatchObject({
      code: 'BAD_CONFIG',
    });
    await expect(setup({ limits: { unknown: 1 } as never })).rejects.toMatchObject({
      code: 'BAD_CONFIG',
    });
  });
});

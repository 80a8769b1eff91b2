import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/api/routes.js';
import { API_KEY_ROLES } from '../../src/storage/schema-api.js';
import { call, errorOf, SAMPLES, type Setup, sampleCall, setup } from './helpers.js';

let s: Setup;
beforeAll(async () => {
  s = await setup();
  s.service.seedWithdrawal({ id: 'wd-held' });
  s.service.seedDeposit();
});
afterAll(async () => {
  await s.app.close();
});

const FORGED = `kl_${'A'.repeat(43)}`;

describe('every route in the table has a sample request', () => {
  it('no route without one, no sample without a route', () => {
    expect(new Set(ROUTES.map((r) => r.id))).toEqual(new Set(Object.keys(SAMPLES)));
  });
});

describe.each(ROUTES.map((r) => [r.id, r] as const))('auth on %s', (id, route) => {
  const sample = SAMPLES[id]!;

  it('no key → 401 UNAUTHENTICATED, service not called', async () => {
    const before = s.service.calls.length;
    const res = await sampleCall(s.app, sample);
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('UNAUTHENTICATED');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="keyline"');
    expect(s.service.calls.length).toBe(before);
  });

  it('a well-formed but unknown key → 401', async () => {
    const res = await sampleCall(s.app, sample, FORGED);
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('UNAUTHENTICATED');
  });

  it('a revoked key → 401', async () => {
    const res = await sampleCall(s.app, sample, s.keys.revoked);
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('UNAUTHENTICATED');
  });

  it('each role: listed → passes auth; not listed → 403 FORBIDDEN, service not called', async () => {
    if (route.access.kind !== 'roles') throw new Error('table routes all need a key');
    for (const role of API_KEY_ROLES) {
      const before = s.service.calls.length;
      const res = await sampleCall(s.app, sample, s.keys[role]);
      if (route.access.roles.includes(role)) {
        expect([401, 403], `${role} on ${id}: ${res.body}`).not.toContain(res.statusCode);
      } else {
        expect(res.statusCode, `${role} on ${id}`).toBe(403);
        expect(errorOf(res).code).toBe('FORBIDDEN');
        expect(s.service.calls.length).toBe(before);
      }
    }
  });
});

describe('role matrix (the documented one)', () => {
  const byId = Object.fromEntries(
    ROUTES.map((r) => [r.id, r.access.kind === 'roles' ? [...r.access.roles].sort() : []]),
  );
  it('exchange routes', () => {
    for (const id of ['createDepositAddress', 'submitWithdrawal'])
      expect(byId[id]).toEqual(['admin', 'exchange']);
    for (const id of ['getWithdrawal', 'listWithdrawals', 'listDeposits', 'getBalances']) {
      expect(byId[id]).toEqual(['admin', 'exchange', 'operator']);
    }
  });
  it('operator routes', () => {
    for (const id of [
      'getReviewQueue',
      'approveWithdrawal',
      'rejectWithdrawal',
      'clearDeposit',
      'pause',
      'resume',
      'getStatus',
      'listDevices',
      'activateDevice',
      'getReconciliation',
    ]) {
      expect(byId[id]).toEqual(['admin', 'operator']);
    }
  });
  it('admin only', () => {
    for (const id of ['listApiKeys', 'createApiKey', 'revokeApiKey'])
      expect(byId[id]).toEqual(['admin']);
  });
});

describe('malformed Authorization headers are 401 and never echoed', () => {
  const cases = [
    'Basic dXNlcjpwYXNz',
    'Bearer',
    'Bearer ',
    'Bearer kl_short',
    `Bearer kl_${'A'.repeat(44)}`,
    `Bearer kl_${'A'.repeat(42)}`,
    `Bearer kl_${'+'.repeat(43)}`,
    `Bearer xx_${'A'.repeat(43)}`,
    // 43 chars whose last one has non-zero spare bits: not the one canonical spelling.
    `Bearer kl_${'A'.repeat(42)}B`,
    `Token kl_${'A'.repeat(43)}`,
  ];
  it.each(cases)('%s', async (header) => {
    const res = await s.app.inject({
      method: 'GET',
      url: '/v1/status',
      headers: { authorization: header },
    });
    expect(res.statusCode).toBe(401);
    const e = errorOf(res);
    expect(e.code).toBe('UNAUTHENTICATED');
    const token = header.split(' ')[1];
    if (token !== undefined && token.length > 0) expect(e.message).not.toContain(token);
  });

  it('the scheme is case-insensitive (RFC 7235)', async () => {
    const res = await s.app.inject({
      method: 'GET',
      url: '/v1/status',
      headers: { authorization: `bearer ${s.keys.operator}` },
    });
    expect(res.statusCode).toBe(200);
  });

  it('the valid key of one role cannot be altered into another: one bit flipped → 401', async () => {
    const k = s.keys.operator;
    const flipped = k.slice(0, 10) + (k[10] === 'A' ? 'B' : 'A') + k.slice(11);
    const res = await call(s.app, 'GET', '/v1/status', { key: flipped });
    expect(res.statusCode).toBe(401);
  });
});

describe('auth is checked before the body is read', () => {
  it('an unauthenticated oversize or malformed body is 401, not 413/400', async () => {
    const big = await call(s.app, 'POST', '/v1/withdrawals', {
      raw: `{"x":"${'a'.repeat(200_000)}"}`,
    });
    expect(big.statusCode).toBe(401);
    const bad = await call(s.app, 'POST', '/v1/withdrawals', { raw: '{not json' });
    expect(bad.statusCode).toBe(401);
  });
  it('a forbidden role with a malformed body is 403', async () => {
    const res = await call(s.app, 'POST', '/v1/pause', { key: s.keys.exchange, raw: '{not json' });
    expect(res.statusCode).toBe(403);
  });
});

describe('public routes', () => {
  it('/healthz and /openapi.json need no key', async () => {
    expect((await call(s.app, 'GET', '/healthz')).statusCode).toBe(200);
    expect((await call(s.app, 'GET', '/openapi.json')).statusCode).toBe(200);
  });
  it('/metrics needs an operator or admin key by default', async () => {
    expect((await call(s.app, 'GET', '/metrics')).statusCode).toBe(401);
    expect((await call(s.app, 'GET', '/metrics', { key: s.keys.exchange })).statusCode).toBe(403);
    expect((await call(s.app, 'GET', '/metrics', { key: s.keys.operator })).statusCode).toBe(200);
    expect((await call(s.app, 'GET', '/metrics', { key: s.keys.admin })).statusCode).toBe(200);
  });
  it('/metrics is public with metricsPublic', async () => {
    const p = await setup({ limits: { rateLimit: false, metricsPublic: true } });
    try {
      expect((await call(p.app, 'GET', '/metrics')).statusCode).toBe(200);
    } finally {
      await p.app.close();
    }
  });
});

import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ROUTES } from '../../src/api/routes.js';
import { ADDRESS, call, type Setup, setup, withdrawalBody } from './helpers.js';

let s: Setup;
beforeEach(async () => {
  s = await setup();
});
afterEach(async () => {
  await s.app.close();
});

/** The body, checked against the schema the route documents for this status. */
function body(res: LightMyRequestResponse, routeId: string): Record<string, unknown> {
  const route = ROUTES.find((r) => r.id === routeId);
  const doc = route?.responses[res.statusCode];
  if (doc === undefined)
    throw new Error(`${routeId}: undocumented status ${res.statusCode}: ${res.body}`);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return (doc.schema as z.ZodType<Record<string, unknown>>).parse(res.json());
}

describe('exchange routes', () => {
  it('POST /v1/deposit-addresses → 201 with the address', async () => {
    const res = await call(s.app, 'POST', '/v1/deposit-addresses', {
      key: s.keys.exchange,
      body: { userId: 'u7' },
    });
    expect(res.statusCode).toBe(201);
    const b = body(res, 'createDepositAddress');
    expect(b).toMatchObject({ userId: 'u7', index: 0 });
    expect(s.service.calls.at(-1)).toEqual({ method: 'createDepositAddress', args: ['u7'] });
  });

  it('POST /v1/withdrawals → 201, amount as a bigint in the service and a string out', async () => {
    const res = await call(s.app, 'POST', '/v1/withdrawals', {
      key: s.keys.exchange,
      body: withdrawalBody({
        amount: '2100000000000000',
        flags: { newDevice: true, passwordChangedAt: 1_699_990_000 },
      }),
      headers: { 'idempotency-key': 'k-1' },
    });
    expect(res.statusCode).toBe(201);
    const b = body(res, 'submitWithdrawal');
    expect(b.amount).toBe('2100000000000000');
    expect(res.headers.location).toBe(`/v1/withdrawals/${String(b.id)}`);
    expect(s.service.calls.at(-1)).toEqual({
      method: 'submitWithdrawal',
      args: [
        {
          userId: 'u1',
          idempotencyKey: 'k-1',
          address: ADDRESS,
          amount: 2_100_000_000_000_000n,
          flags: { newDevice: true, passwordChangedAt: 1_699_990_000 },
        },
      ],
    });
  });

  it('GET /v1/withdrawals/:id → 200; unknown → 404 NOT_FOUND', async () => {
    const w = s.service.seedWithdrawal({ id: 'wd-x', amount: 9_007_199_254_740_993n });
    const res = await call(s.app, 'GET', '/v1/withdrawals/wd-x', { key: s.keys.exchange });
    expect(res.statusCode).toBe(200);
    const b = body(res, 'getWithdrawal');
    expect(b.amount).toBe('9007199254740993'); // beyond 2^53: exact, because it is a string
    expect(b.id).toBe(w.id);
    const missing = await call(s.app, 'GET', '/v1/withdrawals/nope', { key: s.keys.exchange });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');
  });

  it('GET /v1/withdrawals pages and filters', async () => {
    for (let i = 0; i < 3; i++) s.service.seedWithdrawal({ userId: 'u2' });
    s.service.seedWithdrawal({ userId: 'u3' });
    const first = await call(s.app, 'GET', '/v1/withdrawals?userId=u2&limit=2', {
      key: s.keys.operator,
    });
    expect(first.statusCode).toBe(200);
    const p1 = body(first, 'listWithdrawals') as { items: unknown[]; next: string };
    expect(p1.items.length).toBe(2);
    expect(p1.next).not.toBeNull();
    const second = await call(s.app, 'GET', `/v1/withdrawals?userId=u2&limit=2&after=${p1.next}`, {
      key: s.keys.operator,
    });
    const p2 = body(second, 'listWithdrawals') as { items: unknown[]; next: string | null };
    expect(p2.items.length).toBe(1);
    expect(p2.next).toBeNull();
    expect(s.service.calls.at(-1)?.args[0]).toEqual({ userId: 'u2', limit: 2, after: p1.next });
  });

  it('GET /v1/withdrawals defaults the page size to 50', async () => {
    await call(s.app, 'GET', '/v1/withdrawals', { key: s.keys.exchange });
    expect(s.service.calls.at(-1)?.args[0]).toEqual({ limit: 50 });
  });

  it('GET /v1/deposits → 200 with string amounts', async () => {
    s.service.seedDeposit({ amount: 1n, state: 'credited' });
    const res = await call(s.app, 'GET', '/v1/deposits?state=credited', { key: s.keys.exchange });
    expect(res.statusCode).toBe(200);
    const b = body(res, 'listDeposits') as { items: { amount: string }[] };
    expect(b.items.map((d) => d.amount)).toEqual(['1']);
  });

  it('GET /v1/users/:userId/balances → 200', async () => {
    const res = await call(s.app, 'GET', '/v1/users/u1/balances', { key: s.keys.exchange });
    expect(res.statusCode).toBe(200);
    expect(body(res, 'getBalances')).toEqual({
      userId: 'u1',
      balances: [{ asset: 'BTC', available: '2100000000000000', pendingWithdrawals: '5' }],
    });
  });
});

describe('operator routes', () => {
  it('GET /v1/review-queue lists held withdrawals and delayed deposits', async () => {
    s.service.seedWithdrawal({ id: 'h1' });
    s.service.seedWithdrawal({ id: 'ok1', state: 'confirmed' });
    s.service.seedDeposit();
    const res = await call(s.app, 'GET', '/v1/review-queue', { key: s.keys.operator });
    const b = body(res, 'getReviewQueue') as { withdrawals: { id: string }[]; deposits: unknown[] };
    expect(b.withdrawals.map((w) => w.id)).toEqual(['h1']);
    expect(b.deposits.length).toBe(1);
  });

  it('approve and reject are attributed to the calling key, with the note', async () => {
    s.service.seedWithdrawal({ id: 'h1' });
    s.service.seedWithdrawal({ id: 'h2' });
    const a = await call(s.app, 'POST', '/v1/withdrawals/h1/approve', {
      key: s.keys.operator,
      body: { note: 'kyc ok' },
    });
    expect(a.statusCode).toBe(200);
    expect(body(a, 'approveWithdrawal').state).toBe('approved');
    expect(s.service.calls.at(-1)).toEqual({
      method: 'approveWithdrawal',
      args: ['h1', 'alice-ops#2', 'kyc ok'],
    });
    const r = await call(s.app, 'POST', '/v1/withdrawals/h2/reject', {
      key: s.keys.admin,
      body: { note: 'fraud' },
    });
    expect(body(r, 'rejectWithdrawal').state).toBe('rejected');
    expect(s.service.calls.at(-1)?.args[1]).toBe('root-admin#3');
    // A second step on the same withdrawal: the service's INVALID_TRANSITION → 409.
    const again = await call(s.app, 'POST', '/v1/withdrawals/h1/approve', {
      key: s.keys.operator,
      body: { note: 'x' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('INVALID_TRANSITION');
  });

  it('POST /v1/deposits/:txid/:vout/clear → 200', async () => {
    const d = s.service.seedDeposit({ vout: 3 });
    const res = await call(s.app, 'POST', `/v1/deposits/${d.txid}/3/clear`, {
      key: s.keys.operator,
      body: { note: 'source checked' },
    });
    expect(res.statusCode).toBe(200);
    expect(body(res, 'clearDeposit').state).toBe('pending');
    expect(s.service.calls.at(-1)?.args.slice(0, 2)).toEqual([d.txid, 3]);
  });

  it('pause (with a signed pause) and resume; submissions while paused are 423 PAUSED', async () => {
    const p = await call(s.app, 'POST', '/v1/pause', {
      key: s.keys.operator,
      body: { reason: 'incident 42', signedPause: Buffer.from([1, 2, 3, 4]).toString('base64') },
    });
    expect(p.statusCode).toBe(200);
    expect(body(p, 'pause')).toMatchObject({ paused: true, pauseReason: 'incident 42' });
    expect(s.service.calls.at(-1)?.args[2]).toEqual(Uint8Array.from([1, 2, 3, 4]));
    const w = await call(s.app, 'POST', '/v1/withdrawals', {
      key: s.keys.exchange,
      body: withdrawalBody(),
      headers: { 'idempotency-key': 'while-paused' },
    });
    expect(w.statusCode).toBe(423);
    expect(w.json().error.code).toBe('PAUSED');
    const r = await call(s.app, 'POST', '/v1/resume', { key: s.keys.operator });
    expect(r.statusCode).toBe(200);
    expect(body(r, 'resume').paused).toBe(false);
    const r2 = await call(s.app, 'POST', '/v1/resume', { key: s.keys.operator, body: {} });
    expect(r2.statusCode).toBe(409);
  });

  it('POST /v1/devices/:id/activate forwards the signed activation as bytes; bad hex is a 400', async () => {
    const activation = {
      deviceId: 'signer-b',
      challenge: 'ab'.repeat(32),
      bootNonce: 'cd'.repeat(32),
      expiresAt: 1_800_000_600,
      holderKeyId: 'holder-2',
      signature: 'ef'.repeat(64),
    };
    const r = await call(s.app, 'POST', '/v1/devices/signer-b/activate', {
      key: s.keys.operator,
      body: activation,
    });
    expect(body(r, 'activateDevice')).toMatchObject({ deviceId: 'signer-b', state: 'armed' });
    const forwarded = s.service.activations[0]?.activation;
    expect(forwarded?.challenge).toEqual(new Uint8Array(32).fill(0xab));
    expect(forwarded?.signature).toEqual(new Uint8Array(64).fill(0xef));
    const bad = await call(s.app, 'POST', '/v1/devices/signer-b/activate', {
      key: s.keys.operator,
      body: { ...activation, signature: 'zz'.repeat(64) },
    });
    expect(bad.statusCode).toBe(400);
    expect(s.service.activations).toHaveLength(1);
    const unknown = await call(s.app, 'POST', '/v1/devices/nope/activate', {
      key: s.keys.operator,
      body: activation,
    });
    expect(unknown.statusCode).toBe(404);
  });

  it('GET /v1/status, /v1/devices, /v1/reconciliation', async () => {
    const st = await call(s.app, 'GET', '/v1/status', { key: s.keys.operator });
    expect(body(st, 'getStatus')).toEqual({
      paused: false,
      pauseReason: null,
      chainTip: 812_345,
      network: 'regtest',
    });
    const dv = await call(s.app, 'GET', '/v1/devices', { key: s.keys.operator });
    expect((body(dv, 'listDevices').devices as unknown[]).length).toBe(2);
    const rc = await call(s.app, 'GET', '/v1/reconciliation', { key: s.keys.operator });
    expect(body(rc, 'getReconciliation')).toMatchObject({
      ok: false,
      ledgerHotWallet: '2000000',
      chainHotWallet: '1999000',
    });
  });
});

describe('admin routes', () => {
  it('create a key (secret shown once), use it, list (no secrets), revoke, then 401', async () => {
    const c = await call(s.app, 'POST', '/v1/api-keys', {
      key: s.keys.admin,
      body: { name: 'bob-ops', role: 'operator' },
    });
    expect(c.statusCode).toBe(201);
    const created = body(c, 'createApiKey') as { key: { id: string }; secret: string };
    expect(created.secret).toMatch(/^kl_[A-Za-z0-9_-]{43}$/);
    expect((await call(s.app, 'GET', '/v1/status', { key: created.secret })).statusCode).toBe(200);

    const l = await call(s.app, 'GET', '/v1/api-keys', { key: s.keys.admin });
    const listed = body(l, 'listApiKeys') as { keys: { name: string }[] };
    expect(listed.keys.map((k) => k.name)).toContain('bob-ops');
    expect(l.body).not.toContain(created.secret.slice(3));

    const r = await call(s.app, 'POST', `/v1/api-keys/${created.key.id}/revoke`, {
      key: s.keys.admin,
    });
    expect(r.statusCode).toBe(200);
    expect(body(r, 'revokeApiKey').revokedAt).not.toBeNull();
    expect((await call(s.app, 'GET', '/v1/status', { key: created.secret })).statusCode).toBe(401);
    const unknown = await call(s.app, 'POST', '/v1/api-keys/999/revoke', { key: s.keys.admin });
    expect(unknown.statusCode).toBe(404);
  });
});

describe('common behaviour', () => {
  it('unknown route → 404 NOT_FOUND in the error shape', async () => {
    const res = await call(s.app, 'GET', '/v1/nothing-here', { key: s.keys.admin });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({
      code: 'NOT_FOUND',
      message: 'api: expected a known route, got GET /v1/nothing-here',
    });
  });

  it('every answer has a request id (a plain client id is kept) and cache-control: no-store', async () => {
    const res = await call(s.app, 'GET', '/v1/status', {
      key: s.keys.operator,
      headers: { 'x-request-id': 'abc-123' },
    });
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(res.headers['cache-control']).toBe('no-store');
    const odd = await call(s.app, 'GET', '/v1/status', {
      key: 'nope',
      headers: { 'x-request-id': 'a b\nc' },
    });
    expect(odd.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(odd.json().error.requestId).toBe(odd.headers['x-request-id']);
  });

  it('/healthz is 200 while the service answers and 503 when it fails', async () => {
    expect((await call(s.app, 'GET', '/healthz')).json()).toEqual({ status: 'ok' });
    s.service.failNext(new Error('db down'));
    const res = await call(s.app, 'GET', '/healthz');
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('INTERNAL');
    expect(res.json().error.message).not.toContain('db down');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, errorOf, type Setup, setup, withdrawalBody } from './helpers.js';

let s: Setup;
beforeEach(async () => {
  s = await setup();
});
afterEach(async () => {
  await s.app.close();
});

const submit = (body: unknown, key: string | undefined) =>
  call(s.app, 'POST', '/v1/withdrawals', {
    key: s.keys.exchange,
    body,
    ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }),
  });

describe('POST /v1/withdrawals idempotency', () => {
  it('a replay with the same body returns 200 and the same withdrawal; one write', async () => {
    const first = await submit(withdrawalBody(), 'order-77');
    expect(first.statusCode).toBe(201);
    const again = await submit(withdrawalBody(), 'order-77');
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(s.service.writes).toBe(1);
    expect(s.service.withdrawals.size).toBe(1);
  });

  it('the same key with another amount or address → 409 DUPLICATE, nothing written', async () => {
    await submit(withdrawalBody(), 'order-78');
    const amount = await submit(withdrawalBody({ amount: '150001' }), 'order-78');
    expect(amount.statusCode).toBe(409);
    expect(errorOf(amount).code).toBe('DUPLICATE');
    const address = await submit(
      withdrawalBody({ address: 'bcrt1qattackerattackerattackerattacker000000' }),
      'order-78',
    );
    expect(address.statusCode).toBe(409);
    expect(errorOf(address).code).toBe('DUPLICATE');
    expect(s.service.writes).toBe(1);
    const only = [...s.service.withdrawals.values()][0];
    expect(only?.amount).toBe(150_000n);
  });

  it('keys are per user: the same key for another user is a new withdrawal', async () => {
    await submit(withdrawalBody(), 'shared');
    const other = await submit(withdrawalBody({ userId: 'u2' }), 'shared');
    expect(other.statusCode).toBe(201);
    expect(s.service.writes).toBe(2);
  });

  it('the header is required and validated; nothing reaches the service without it', async () => {
    const calls = s.service.calls.length;
    const none = await submit(withdrawalBody(), undefined);
    expect(none.statusCode).toBe(400);
    expect(errorOf(none)).toMatchObject({ code: 'BAD_REQUEST' });
    expect(errorOf(none).message).toContain('header.idempotency-key');
    for (const bad of ['', 'has space', 'x'.repeat(129), 'tab\there', 'ünïcode']) {
      const res = await call(s.app, 'POST', '/v1/withdrawals', {
        key: s.keys.exchange,
        body: withdrawalBody(),
        headers: { 'idempotency-key': bad },
      });
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
    }
    expect(s.service.calls.length).toBe(calls);
    expect(s.service.writes).toBe(0);
  });

  it('concurrent identical submissions create one withdrawal', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => submit(withdrawalBody(), 'burst')),
    );
    expect(results.filter((r) => r.statusCode === 201).length).toBe(1);
    expect(results.filter((r) => r.statusCode === 200).length).toBe(7);
    expect(new Set(results.map((r) => r.json().id)).size).toBe(1);
    expect(s.service.writes).toBe(1);
  });
});

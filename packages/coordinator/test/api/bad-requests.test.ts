import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, type Setup, setup, withdrawalBody } from './helpers.js';

let s: Setup;
beforeAll(async () => {
  s = await setup();
  s.service.seedWithdrawal({ id: 'wd-held' });
});
afterAll(async () => {
  await s.app.close();
});

/** Every bad request: a clear 4xx with a code, a message naming the place, and no write. */
async function refused(
  status: number,
  code: string,
  send: () => ReturnType<typeof call>,
  mentions?: string,
): Promise<void> {
  const writes = s.service.writes;
  const res = await send();
  expect(res.statusCode, res.body).toBe(status);
  const e = errorOf(res);
  expect(e.code).toBe(code);
  expect(e.message.length).toBeGreaterThan(10);
  if (mentions !== undefined) expect(e.message).toContain(mentions);
  expect(s.service.writes).toBe(writes);
}

let counter = 0;
const submit = (body: unknown) => () =>
  call(s.app, 'POST', '/v1/withdrawals', {
    key: s.keys.exchange,
    body,
    headers: { 'idempotency-key': `k-${++counter}` },
  });

describe('amounts', () => {
  it('a JSON number is refused even when it is exact (amounts are strings)', async () => {
    await refused(400, 'BAD_AMOUNT', submit(withdrawalBody({ amount: 150000 })), 'body.amount');
    await refused(400, 'BAD_AMOUNT', submit(withdrawalBody({ amount: 1.5 })), 'body.amount');
  });

  it.each([
    ['negative', '-1'],
    ['zero', '0'],
    ['leading zero', '0150000'],
    ['plus sign', '+5'],
    ['decimal point', '1.0'],
    ['exponent', '1e5'],
    ['spaces', ' 5'],
    ['hex', '0x10'],
    ['above 21e14', '2100000000000001'],
    ['far above', '99999999999999999999'],
    ['empty', ''],
  ])('%s (%s) → 400 BAD_AMOUNT', async (_name, amount) => {
    await refused(400, 'BAD_AMOUNT', submit(withdrawalBody({ amount })), 'body.amount');
  });

  it('property: any decimal string above 21e14 is refused, any in 1..21e14 accepted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 2_100_000_000_000_001n, max: 10n ** 30n }), async (n) => {
        const res = await submit(withdrawalBody({ amount: n.toString() }))();
        expect(res.statusCode).toBe(400);
      }),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 1n, max: 2_100_000_000_000_000n }), async (n) => {
        const res = await submit(withdrawalBody({ amount: n.toString() }))();
        expect(res.statusCode).toBe(201);
        expect(res.json().amount).toBe(n.toString());
      }),
      { numRuns: 40 },
    );
  });
});

describe('shapes', () => {
  it('unknown fields are refused (top level and nested)', async () => {
    await refused(
      400,
      'BAD_REQUEST',
      submit({ ...withdrawalBody(), fee: '1' }),
      'unknown field(s) fee',
    );
    await refused(
      400,
      'BAD_REQUEST',
      submit(withdrawalBody({ flags: { newDevice: false, admin: true } })),
      'body.flags',
    );
  });

  it('wrong types and missing fields', async () => {
    await refused(400, 'BAD_REQUEST', submit(withdrawalBody({ userId: 5 })), 'body.userId');
    await refused(
      400,
      'BAD_REQUEST',
      submit(withdrawalBody({ flags: { newDevice: 'yes' } })),
      'body.flags.newDevice',
    );
    await refused(
      400,
      'BAD_REQUEST',
      submit({
        userId: 'u1',
        address: 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080',
        amount: '1',
      }),
      'body.flags',
    );
    await refused(
      400,
      'BAD_REQUEST',
      submit(withdrawalBody({ address: 'bc1q/../../etc' })),
      'body.address',
    );
    await refused(400, 'BAD_REQUEST', submit(withdrawalBody({ userId: '' })), 'body.userId');
    await refused(
      400,
      'BAD_REQUEST',
      submit(withdrawalBody({ userId: 'x'.repeat(129) })),
      'body.userId',
    );
    await refused(400, 'BAD_REQUEST', submit([withdrawalBody()]), 'body');
    await refused(400, 'BAD_REQUEST', submit('a string'), 'body');
    await refused(400, 'BAD_REQUEST', submit(null), 'body');
  });

  it('malformed JSON, empty JSON body, prototype poisoning', async () => {
    const raw = (payload: string) => () =>
      call(s.app, 'POST', '/v1/withdrawals', {
        key: s.keys.exchange,
        raw: payload,
        headers: { 'idempotency-key': 'raw' },
      });
    await refused(400, 'BAD_REQUEST', raw('{"userId": "u1",'), 'api/body');
    await refused(400, 'BAD_REQUEST', raw(''), 'api/body');
    await refused(400, 'BAD_REQUEST', raw('{"__proto__": {"admin": true}}'), 'api/body');
    await refused(400, 'BAD_REQUEST', raw('{"constructor": {"prototype": {"x": 1}}}'), 'api/body');
  });

  it('only application/json: text/plain and form bodies → 415', async () => {
    const as = (ct: string, payload: string) => () =>
      call(s.app, 'POST', '/v1/withdrawals', {
        key: s.keys.exchange,
        raw: payload,
        headers: { 'idempotency-key': 'ct', 'content-type': ct },
      });
    await refused(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      as('text/plain', JSON.stringify(withdrawalBody())),
    );
    await refused(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      as('application/x-www-form-urlencoded', 'userId=u1'),
    );
  });

  it('a body over the limit (64 KiB) → 413 PAYLOAD_TOO_LARGE', async () => {
    await refused(413, 'PAYLOAD_TOO_LARGE', submit(withdrawalBody({ userId: 'x'.repeat(70_000) })));
  });

  it('a body where none is taken → 400', async () => {
    await refused(400, 'BAD_REQUEST', () =>
      call(s.app, 'POST', '/v1/api-keys/4/revoke', { key: s.keys.admin, body: { x: 1 } }),
    );
  });

  it('a malformed percent-encoding in the path → 400 BAD_REQUEST', async () => {
    await refused(400, 'BAD_REQUEST', () =>
      call(s.app, 'GET', '/v1/withdrawals/%E0%A4%A', { key: s.keys.operator }),
    );
  });

  it('params and queries are validated too', async () => {
    const get = (url: string) => () => call(s.app, 'GET', url, { key: s.keys.operator });
    await refused(400, 'BAD_REQUEST', get('/v1/withdrawals?limit=0'), 'query.limit');
    await refused(400, 'BAD_REQUEST', get('/v1/withdrawals?limit=501'), 'query.limit');
    await refused(400, 'BAD_REQUEST', get('/v1/withdrawals?limit=ten'), 'query.limit');
    await refused(400, 'BAD_REQUEST', get('/v1/withdrawals?state=stolen'), 'query.state');
    await refused(400, 'BAD_REQUEST', get('/v1/withdrawals?userId=a&userId=b'), 'query.userId');
    await refused(400, 'BAD_REQUEST', get('/v1/withdrawals?sort=desc'), 'unknown field(s) sort');
    await refused(400, 'BAD_REQUEST', get('/v1/review-queue?x=1'), 'query');
    await refused(400, 'BAD_REQUEST', get(`/v1/withdrawals/${'x'.repeat(65)}`), 'params.id');
    const post = (url: string, body: unknown) => () =>
      call(s.app, 'POST', url, { key: s.keys.operator, body });
    await refused(
      400,
      'BAD_REQUEST',
      post(`/v1/deposits/${'AB'.repeat(32)}/0/clear`, { note: 'n' }),
      'params.txid',
    );
    await refused(
      400,
      'BAD_REQUEST',
      post(`/v1/deposits/${'ab'.repeat(32)}/4294967296/clear`, { note: 'n' }),
      'params.vout',
    );
    await refused(400, 'BAD_REQUEST', post('/v1/withdrawals/wd-held/approve', {}), 'body.note');
    await refused(
      400,
      'BAD_REQUEST',
      post('/v1/withdrawals/wd-held/approve', { note: 'x'.repeat(1001) }),
      'body.note',
    );
    await refused(
      400,
      'BAD_REQUEST',
      post('/v1/pause', { reason: 'r', signedPause: 'not base64!' }),
      'body.signedPause',
    );
    await refused(
      400,
      'BAD_REQUEST',
      post('/v1/resume', { force: true }),
      'unknown field(s) force',
    );
    const admin = (body: unknown) => () =>
      call(s.app, 'POST', '/v1/api-keys', { key: s.keys.admin, body });
    await refused(400, 'BAD_REQUEST', admin({ name: 'n', role: 'root' }), 'body.role');
    await refused(400, 'BAD_REQUEST', admin({ name: 'has space', role: 'admin' }), 'body.name');
  });

  it('messages say what was expected and what came', async () => {
    const res = await submit(withdrawalBody({ amount: 150000 }))();
    expect(errorOf(res).message).toBe(
      'POST /v1/withdrawals: body.amount: expected a decimal string of satoshis (amounts are never JSON numbers)',
    );
    const t = await submit(withdrawalBody({ userId: 5 }))();
    expect(errorOf(t).message).toBe(
      'POST /v1/withdrawals: body.userId: Invalid input: expected string, received number',
    );
  });
});

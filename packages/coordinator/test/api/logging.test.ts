import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiLogger, REDACTED } from '../../src/api/logger.js';
import { call, type Setup, setup, withdrawalBody } from './helpers.js';

/** A pino destination that keeps every line. */
function capture() {
  const lines: string[] = [];
  return {
    lines,
    stream: {
      write(chunk: string) {
        lines.push(chunk);
      },
    },
    text: () => lines.join(''),
  };
}

/** The 43-character body of a `kl_...` key: what must never appear in a log. */
const secretPart = (key: string) => key.slice(3);

describe('request logs are JSON and carry no key material', () => {
  const out = capture();
  let s: Setup;
  let created = '';
  beforeAll(async () => {
    s = await setup({ logger: { level: 'info', stream: out.stream } });
    // A valid key, an unknown one, a revoked one, a key in the query string, a mangled header.
    await call(s.app, 'GET', '/v1/status', { key: s.keys.operator });
    await call(s.app, 'GET', '/v1/status', { key: s.keys.revoked });
    await call(s.app, 'GET', `/v1/status?api_key=${s.keys.exchange}`, { key: s.keys.operator });
    await call(s.app, 'GET', `/v1/unknown/${s.keys.exchange}`);
    await s.app.inject({
      method: 'GET',
      url: '/v1/status',
      headers: { authorization: `Bearer ${s.keys.admin}x` },
    });
    await call(s.app, 'POST', '/v1/withdrawals', {
      key: s.keys.exchange,
      body: withdrawalBody(),
      headers: { 'idempotency-key': 'log-1' },
    });
    // The one response that carries a secret (key creation): the response body is not logged.
    const res = await call(s.app, 'POST', '/v1/api-keys', {
      key: s.keys.admin,
      body: { name: 'new', role: 'operator' },
    });
    created = res.json().secret as string;
    // A 500 whose error message happens to contain a key is masked in the error log.
    s.service.failNext(new Error(`boom near ${s.keys.operator}`));
    await call(s.app, 'GET', '/v1/devices', { key: s.keys.operator });
  });
  afterAll(async () => {
    await s.app.close();
  });

  it('every line is JSON with a level, a time and (for requests) the request id', () => {
    expect(out.lines.length).toBeGreaterThan(10);
    for (const line of out.lines) {
      const j = JSON.parse(line) as Record<string, unknown>;
      expect(typeof j.level).toBe('number');
      expect(typeof j.time).toBe('number');
    }
    const requests = out.lines
      .map((l) => JSON.parse(l))
      .filter((j) => j.msg === 'incoming request');
    expect(requests.length).toBeGreaterThanOrEqual(8);
    for (const r of requests) expect(typeof r.reqId).toBe('string');
  });

  it('no key appears anywhere in the output, in any form', () => {
    const text = out.text();
    expect(created).toMatch(/^kl_/);
    for (const key of [s.keys.exchange, s.keys.operator, s.keys.admin, s.keys.revoked, created]) {
      expect(text).not.toContain(secretPart(key));
    }
    expect(text).not.toContain('Bearer');
    expect(text).toContain(`kl_${REDACTED}`); // the query-string and error-message keys, masked
  });

  it('the 500 is logged at error level with its (masked) cause', () => {
    const errors = out.lines.map((l) => JSON.parse(l)).filter((j) => j.level >= 50);
    expect(errors.some((j) => String(j.err?.message).startsWith('boom near kl_'))).toBe(true);
  });
});

describe('redact paths', () => {
  it('authorization headers and secret fields are censored if anything logs them', () => {
    const out = capture();
    const log = createApiLogger({ stream: out.stream });
    const key = `kl_${'Z'.repeat(43)}`;
    log.info({ req: { headers: { authorization: `Bearer ${key}` } } }, 'a');
    log.info({ headers: { authorization: `Bearer ${key}`, 'x-api-key': key, cookie: key } }, 'b');
    log.info(
      { secret: key, body: { secret: key, apiKey: key }, nested: { key: { secret: key } } },
      'c',
    );
    expect(out.text()).not.toContain('Z'.repeat(43));
    expect(out.text()).toContain(REDACTED);
  });
});

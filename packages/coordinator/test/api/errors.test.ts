import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_API_ERROR_CODES,
  COORDINATOR_STATUS,
  HTTP_ERROR_CODES,
  INTERNAL_MESSAGE,
} from '../../src/api/http-errors.js';
import {
  COORDINATOR_ERROR_CODES,
  CoordinatorError,
  type CoordinatorErrorCode,
} from '../../src/errors.js';
import { call, errorOf, type Setup, setup } from './helpers.js';

let s: Setup;
beforeAll(async () => {
  s = await setup();
});
afterAll(async () => {
  await s.app.close();
});

const CODES = Object.keys(COORDINATOR_ERROR_CODES) as CoordinatorErrorCode[];

describe('error kind → HTTP status', () => {
  it('follows the kinds: malformed 400, refused 422 (PAUSED 423), conflict 409, not_found 404, io 503, internal 500', () => {
    const byKind = {
      malformed: 400,
      refused: 422,
      conflict: 409,
      not_found: 404,
      io: 503,
      internal: 500,
    };
    const exceptions: Partial<Record<CoordinatorErrorCode, number>> = {
      BAD_CONFIG: 500,
      PAUSED: 423,
    };
    for (const code of CODES) {
      const expected = exceptions[code] ?? byKind[COORDINATOR_ERROR_CODES[code].kind];
      expect(COORDINATOR_STATUS[code], code).toBe(expected);
    }
    expect(Object.isFrozen(COORDINATOR_STATUS)).toBe(true);
    expect(Object.isFrozen(HTTP_ERROR_CODES)).toBe(true);
  });

  it.each(CODES)('%s thrown by the service is answered with its status and code', async (code) => {
    const message = `service/test: expected something, got ${code} (secret detail)`;
    s.service.failNext(new CoordinatorError(code, message, { dbCode: 'XX000' }));
    const res = await call(s.app, 'GET', '/v1/status', { key: s.keys.operator });
    expect(res.statusCode).toBe(COORDINATOR_STATUS[code]);
    const e = errorOf(res);
    expect(e.code).toBe(code);
    expect(e.requestId).toBe(res.headers['x-request-id']);
    // 500s never carry the internal message; the others carry the service's own message.
    expect(e.message).toBe(res.statusCode === 500 ? INTERNAL_MESSAGE : message);
    expect(res.body).not.toContain('XX000');
  });

  it('a non-CoordinatorError is 500 INTERNAL and its message stays in the log', async () => {
    s.service.failNext(new TypeError('cannot read property x of undefined at /srv/secret/path.js'));
    const res = await call(s.app, 'GET', '/v1/devices', { key: s.keys.operator });
    expect(res.statusCode).toBe(500);
    expect(errorOf(res)).toMatchObject({ code: 'INTERNAL', message: INTERNAL_MESSAGE });
    expect(res.body).not.toContain('/srv/secret');
  });
});

describe('docs/api.md lists exactly the error codes', () => {
  const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  const section = doc.split('## Errors')[1]?.split('\n## ')[0] ?? '';
  const rows = [...section.matchAll(/^\| `([A-Z_]+)` +\| +(\d{3}) +\|/gm)].map(
    (m) => [m[1]!, Number(m[2])] as const,
  );
  const documented = new Map(rows);

  it('every code is documented with its status', () => {
    for (const code of ALL_API_ERROR_CODES) {
      const status =
        code in HTTP_ERROR_CODES
          ? HTTP_ERROR_CODES[code as keyof typeof HTTP_ERROR_CODES]
          : COORDINATOR_STATUS[code as CoordinatorErrorCode];
      expect(documented.get(code), code).toBe(status);
    }
  });
  it('every documented code exists', () => {
    for (const code of documented.keys()) expect(ALL_API_ERROR_CODES, code).toContain(code);
  });
});

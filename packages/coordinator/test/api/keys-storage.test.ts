/** The API on the real key table (SQLite and PostgreSQL): revocation takes effect at once. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/server.js';
import { apiKeyStore, createApiKey } from '../../src/storage/api-keys.js';
import type { Database } from '../../src/storage/database.js';
import { BACKENDS, type TestBackend } from '../storage/backends.js';
import { FakeService } from './fake-service.js';
import { call } from './helpers.js';

describe.each(BACKENDS)('API keys through the API on $name', ({ make }) => {
  let backend: TestBackend;
  let database: Database;
  beforeAll(async () => {
    backend = await make();
    database = await backend.open();
  });
  afterAll(async () => {
    await database?.close();
    await backend?.cleanup();
  });

  it('bootstrap admin → create an operator key → use it → revoke it → 401 on the next request', async () => {
    const admin = await createApiKey(database.db, { name: 'bootstrap', role: 'admin' }, new Date());
    const app = buildApi({
      service: new FakeService(),
      keys: apiKeyStore(database.db),
      logger: false,
    });
    try {
      const c = await call(app, 'POST', '/v1/api-keys', {
        key: admin.secret,
        body: { name: 'ops-1', role: 'operator' },
      });
      expect(c.statusCode).toBe(201);
      const { key, secret } = c.json() as { key: { id: string }; secret: string };
      expect((await call(app, 'GET', '/v1/devices', { key: secret })).statusCode).toBe(200);
      expect(
        (
          await call(app, 'POST', '/v1/api-keys', {
            key: secret,
            body: { name: 'x', role: 'admin' },
          })
        ).statusCode,
      ).toBe(403);
      const r = await call(app, 'POST', `/v1/api-keys/${key.id}/revoke`, { key: admin.secret });
      expect(r.statusCode).toBe(200);
      expect((await call(app, 'GET', '/v1/devices', { key: secret })).statusCode).toBe(401);
      const listed = await call(app, 'GET', '/v1/api-keys', { key: admin.secret });
      expect(listed.body).not.toContain(secret.slice(3));
    } finally {
      await app.close();
    }
  });
});

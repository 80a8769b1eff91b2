import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiPath } from '../../src/api/openapi.js';
import { ROUTES } from '../../src/api/routes.js';
import { call, type Setup, setup } from './helpers.js';

let s: Setup;
let doc: {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        operationId: string;
        security: unknown[];
        'x-roles'?: string[];
        requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
        responses: Record<string, unknown>;
        parameters?: { name: string; in: string }[];
      }
    >
  >;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
};
beforeAll(async () => {
  s = await setup();
  const res = await call(s.app, 'GET', '/openapi.json');
  expect(res.statusCode).toBe(200);
  doc = JSON.parse(res.body);
});
afterAll(async () => {
  await s.app.close();
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document with the bearer scheme and the error schema', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.schemas.Error).toBeDefined();
  });

  it('has every route of the table, with its roles, and the system routes', () => {
    for (const r of ROUTES) {
      const op = doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.url}`).toBeDefined();
      expect(op?.operationId).toBe(r.id);
      expect(op?.['x-roles']).toEqual(r.access.kind === 'roles' ? [...r.access.roles] : undefined);
      expect(op?.security).toEqual([{ apiKey: [] }]);
      for (const status of Object.keys(r.responses)) expect(op?.responses[status]).toBeDefined();
      for (const status of ['400', '401', '403', '429', '500'])
        expect(op?.responses[status]).toBeDefined();
    }
    expect(doc.paths['/healthz']?.get?.security).toEqual([]);
    expect(doc.paths['/openapi.json']?.get).toBeDefined();
    expect(doc.paths['/metrics']?.get?.['x-roles']).toEqual(['operator', 'admin']);
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p));
    expect(ops.length).toBe(ROUTES.length + 3);
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
  });

  it('describes amounts as strings, path parameters and the Idempotency-Key header', () => {
    const submit = doc.paths['/v1/withdrawals']?.post;
    const body = submit?.requestBody?.content['application/json']?.schema as {
      properties: Record<string, { type: string; pattern?: string }>;
      additionalProperties: boolean;
    };
    expect(body.properties.amount?.type).toBe('string');
    expect(body.properties.amount?.pattern).toBe('^[1-9][0-9]{0,15}$');
    expect(body.additionalProperties).toBe(false);
    expect(submit?.parameters).toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }),
    );
    expect(
      doc.paths['/v1/deposits/{txid}/{vout}/clear']?.post?.parameters?.map((p) => p.name),
    ).toEqual(['txid', 'vout']);
    expect(doc.paths['/v1/withdrawals']?.get?.parameters?.map((p) => p.name)).toEqual([
      'userId',
      'state',
      'limit',
      'after',
    ]);
  });

  it('round-trips through JSON (no bigint, no undefined, no functions)', () => {
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });
});

/**
 * GET /openapi.json: an OpenAPI 3.1 document generated from the route table and its zod schemas
 * (z.toJSONSchema, JSON Schema 2020-12, which OpenAPI 3.1 uses as is). Request schemas are
 * described as the client sends them (`io: 'input'`: amounts are strings), responses as sent.
 */
import { z } from 'zod';
import type { Access } from './auth.js';
import type { Method, Route } from './route.js';
import { errorResponse } from './views.js';

/** The routes served by server.ts itself (not in the route table). */
export interface SystemRoute {
  readonly id: string;
  readonly method: Method;
  readonly url: string;
  readonly summary: string;
  readonly access: Access;
  readonly contentType: string;
  readonly schema: z.ZodType | null;
}

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
  }) as Json;
  return rest;
}

/** `/v1/withdrawals/:id` → `/v1/withdrawals/{id}`. */
export const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function parameters(schema: z.ZodType, where: 'path' | 'query'): Json[] {
  const s = jsonSchema(schema, 'input');
  const props = (s.properties ?? {}) as Record<string, Json>;
  const required = new Set((s.required ?? []) as string[]);
  return Object.entries(props).map(([name, p]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(typeof p.description === 'string' ? { description: p.description } : {}),
    schema: p,
  }));
}

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = Object.freeze({
  400: 'BAD_REQUEST or BAD_AMOUNT: the request does not match its schema',
  401: 'UNAUTHENTICATED: no, malformed, unknown or revoked API key',
  403: "FORBIDDEN: the key's role may not call this route",
  404: 'NOT_FOUND',
  409: 'DUPLICATE or INVALID_TRANSITION',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE: only application/json',
  422: 'INSUFFICIENT_FUNDS, RISK_REJECTED, DEVICE_REFUSED or CHAIN_REJECTED',
  423: 'PAUSED: withdrawals are paused by an operator',
  429: 'RATE_LIMITED: too many requests for this key',
  500: 'INTERNAL',
  503: 'STORAGE, CHAIN_*, NO_DEVICE or SHUTTING_DOWN',
});

const errorRef = (status: number) => ({
  description: ERROR_DESCRIPTIONS[status] ?? 'error',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

function security(access: Access): Json {
  return access.kind === 'public'
    ? { security: [] }
    : { security: [{ apiKey: [] }], 'x-roles': [...access.roles] };
}

function errorStatuses(access: Access, hasBody: boolean, extra: readonly number[]): number[] {
  const base = [400, 429, 500, 503];
  const auth = access.kind === 'public' ? [] : [401, 403];
  const body = hasBody ? [413, 415] : [];
  return [...new Set([...base, ...auth, ...body, ...extra])].sort((a, b) => a - b);
}

function operation(route: Route): Json {
  const path = route.url.includes(':') ? parameters(route.params, 'path') : [];
  const query = parameters(route.query, 'query');
  const header = route.idempotencyKey
    ? [
        {
          name: 'Idempotency-Key',
          in: 'header',
          required: true,
          description:
            '1..128 printable ASCII; the same key and body again returns the same result',
          schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,128}$' },
        },
      ]
    : [];
  const params = [...path, ...query, ...header];
  const responses: Json = {};
  for (const [status, r] of Object.entries(route.responses)) {
    responses[status] = {
      description: r.description,
      content: { 'application/json': { schema: jsonSchema(r.schema, 'output') } },
    };
  }
  for (const s of errorStatuses(route.access, route.body !== null, route.errors)) {
    responses[String(s)] = errorRef(s);
  }
  return {
    operationId: route.id,
    summary: route.summary,
    ...security(route.access),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(route.body === null
      ? {}
      : {
          requestBody: {
            required: !route.body.safeParse(undefined).success,
            content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
          },
        }),
    responses,
  };
}

function systemOperation(r: SystemRoute): Json {
  const content =
    r.schema === null
      ? { [r.contentType]: { schema: { type: 'string' } } }
      : { [r.contentType]: { schema: jsonSchema(r.schema, 'output') } };
  const responses: Json = { 200: { description: r.summary, content } };
  for (const s of errorStatuses(r.access, false, [])) responses[String(s)] = errorRef(s);
  return { operationId: r.id, summary: r.summary, ...security(r.access), responses };
}

export interface OpenApiInfo {
  readonly title?: string;
  readonly version?: string;
}

export function buildOpenApi(
  routes: readonly Route[],
  system: readonly SystemRoute[],
  info: OpenApiInfo = {},
): Json {
  const paths: Record<string, Json> = {};
  const add = (url: string, method: Method, op: Json) => {
    const p = openApiPath(url);
    paths[p] = { ...(paths[p] ?? {}), [method.toLowerCase()]: op };
  };
  for (const r of routes) add(r.url, r.method, operation(r));
  for (const r of system) add(r.url, r.method, systemOperation(r));
  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'Keyline coordinator API',
      version: info.version ?? '1',
      description:
        'Amounts are decimal strings of satoshis. Errors: {"error":{"code","message","requestId"}}. See docs/api.md.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'kl_<43 base64url characters>',
          description: 'Authorization: Bearer kl_...; the key role decides the routes (x-roles)',
        },
      },
      schemas: { Error: jsonSchema(errorResponse, 'output') },
    },
    paths,
  };
}

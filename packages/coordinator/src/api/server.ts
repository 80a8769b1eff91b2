/**
 * buildApi: the coordinator's HTTP API on fastify. The request lifecycle, in order:
 *
 *   1. onRequest  — refuse with 503 SHUTTING_DOWN once close() began; set x-request-id and
 *                   cache-control: no-store.
 *   2. onRequest  — identify the caller from `Authorization: Bearer kl_...` (auth.ts); the result
 *                   is kept, not yet enforced, so that the rate limit can key on it.
 *   3. onRequest  — rate limit (@fastify/rate-limit, route level): per API key when the key is
 *                   valid, per client IP otherwise.
 *   4. preParsing — enforce: 401 UNAUTHENTICATED without a valid key, 403 FORBIDDEN for a role
 *                   the route does not list. The body is not read before this point.
 *   5. body       — JSON only (415 otherwise), at most `bodyLimitBytes` (413), no __proto__.
 *   6. handler    — the route parses params, query, body and Idempotency-Key with its zod
 *                   schemas (400 BAD_REQUEST / BAD_AMOUNT naming the field), then calls one
 *                   service method.
 *   7. errors     — every failure becomes {"error":{"code","message","requestId"}} (http-errors.ts).
 *
 * Graceful shutdown: `app.close()` first flips the closing flag (new requests get 503), stops
 * accepting connections, waits for in-flight requests to finish, then runs onClose hooks.
 */
import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { z } from 'zod';
import { CoordinatorError } from '../errors.js';
import type { CoordinatorService } from '../service/contract.js';
import {
  type Access,
  type ApiKeyStore,
  type AuthResult,
  allowed,
  authenticate,
  PUBLIC,
  roles,
} from './auth.js';
import { ApiError, answerFor } from './http-errors.js';
import { type ApiLoggerOptions, createApiLogger, maskKeys } from './logger.js';
import { type CoordinatorMetrics, createMetrics } from './metrics.js';
import { buildOpenApi, type SystemRoute } from './openapi.js';
import type { Route } from './route.js';
import { ROUTES } from './routes.js';
import { healthResponse } from './views.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    auth: AuthResult | null;
  }
}

export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

const optionsSchema = z.strictObject({
  bodyLimitBytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(DEFAULT_BODY_LIMIT_BYTES),
  rateLimit: z
    .union([
      z.literal(false),
      z.strictObject({
        /** Requests per window per API key. */
        max: z.number().int().min(1).max(1_000_000),
        timeWindowMs: z.number().int().min(1000).max(86_400_000),
        /** Requests per window per client IP without a valid key (default: max). */
        unauthenticatedMax: z.number().int().min(1).max(1_000_000).optional(),
      }),
    ])
    .default({ max: 600, timeWindowMs: 60_000, unauthenticatedMax: 60 }),
  /** Milliseconds a request may take to arrive in full (slow-body defence); 0 = no limit. */
  requestTimeoutMs: z.number().int().min(0).max(600_000).default(30_000),
  metricsPublic: z.boolean().default(false),
  /** Trust X-Forwarded-For from a reverse proxy for the client IP (rate limits, logs). */
  trustProxy: z.boolean().default(false),
});

export type ApiLimits = z.input<typeof optionsSchema>;

export interface ApiOptions {
  readonly service: CoordinatorService;
  readonly keys: ApiKeyStore;
  /** Shared with the signing orchestrator (observeSigningLatency); created when absent. */
  readonly metrics?: CoordinatorMetrics;
  /** false: no logging (tests, bench). */
  readonly logger?: ApiLoggerOptions | false;
  readonly limits?: ApiLimits;
  readonly openApiInfo?: { title?: string; version?: string };
}

/** Client-chosen request ids are kept when short and plain; otherwise a random UUID. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

const METRICS_ACCESS: Access = roles('operator');

function errorBody(request: FastifyRequest, code: string, message: string) {
  return { error: { code, message, requestId: String(request.id) } };
}

export function buildApi(options: ApiOptions): FastifyInstance {
  const parsed = optionsSchema.safeParse(options.limits ?? {});
  if (!parsed.success) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `api/buildApi: expected valid limits, got ${parsed.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    );
  }
  const limits = Object.freeze(parsed.data);
  const { service, keys } = options;
  const metrics = options.metrics ?? createMetrics(service);
  const logger = options.logger === false ? undefined : createApiLogger(options.logger ?? {});

  const app: FastifyInstance = Fastify({
    ...(logger === undefined ? { logger: false } : { loggerInstance: logger as FastifyBaseLogger }),
    bodyLimit: limits.bodyLimitBytes,
    requestTimeout: limits.requestTimeoutMs,
    trustProxy: limits.trustProxy,
    return503OnClosing: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // A URL fastify cannot decode never reaches a route; answer in our shape without echoing it.
    frameworkErrors: (_err, request, genericReply) => {
      // frameworkErrors is generic over route types that do not exist here; the reply is the
      // plain default one.
      const reply = genericReply as unknown as FastifyReply;
      reply.header('x-request-id', String(request.id));
      const message =
        'api/request: expected a valid percent-encoded URL, got one that does not decode';
      return reply.code(400).send(errorBody(request, 'BAD_REQUEST', message));
    },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  // JSON only: fastify's default text/plain parser would hand a string to the schemas.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('auth', null);

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });

  // 1. closing, request id, no caching of any answer.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', String(request.id));
    reply.header('cache-control', 'no-store');
    if (closing) {
      throw new ApiError('SHUTTING_DOWN', 'api: expected a running server, got one shutting down');
    }
  });

  // 2. identify (enforced in 4).
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    if (access === undefined || access.kind === 'public') return;
    request.auth = await authenticate(request.headers.authorization, keys);
  });

  // 4. enforce, before the body is read.
  app.addHook('preParsing', async (request, _reply, payload) => {
    const access = request.routeOptions.config.access;
    if (access === undefined || access.kind === 'public') return payload;
    const auth = request.auth;
    if (auth === null || !auth.ok) {
      throw new ApiError('UNAUTHENTICATED', auth?.message ?? 'auth: expected an API key, got none');
    }
    if (!allowed(access, auth.principal)) {
      throw new ApiError(
        'FORBIDDEN',
        `auth: expected a key with role ${access.kind === 'roles' ? access.roles.join('|') : 'any'}, got role ${auth.principal.role}`,
      );
    }
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.countHttpRequest(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
    );
  });

  // 7. one error shape.
  app.setErrorHandler((err, request, reply) => {
    const a = answerFor(err);
    if (a.serverFault) request.log.error({ err, code: a.code }, 'request failed');
    else request.log.info({ code: a.code, status: a.status }, 'request refused');
    if (a.code === 'UNAUTHENTICATED') reply.header('www-authenticate', 'Bearer realm="keyline"');
    if (a.code === 'SHUTTING_DOWN') reply.header('connection', 'close');
    return reply.code(a.status).send(errorBody(request, a.code, a.message));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = maskKeys(request.url.split('?')[0] ?? '').slice(0, 200);
    return reply
      .code(404)
      .send(
        errorBody(
          request,
          'NOT_FOUND',
          `api: expected a known route, got ${request.method} ${path}`,
        ),
      );
  });

  const system: SystemRoute[] = [
    {
      id: 'health',
      method: 'GET',
      url: '/healthz',
      summary:
        'Liveness and readiness: 200 when the service answers, 503 otherwise or when shutting down',
      access: PUBLIC,
      contentType: 'application/json',
      schema: healthResponse,
    },
    {
      id: 'metrics',
      method: 'GET',
      url: '/metrics',
      summary: 'Prometheus metrics (text exposition format)',
      access: limits.metricsPublic ? PUBLIC : METRICS_ACCESS,
      contentType: 'text/plain',
      schema: null,
    },
    {
      id: 'openapi',
      method: 'GET',
      url: '/openapi.json',
      summary: 'This document',
      access: PUBLIC,
      contentType: 'application/json',
      schema: null,
    },
  ];
  const openapi = buildOpenApi(ROUTES, system, options.openApiInfo ?? {});

  if (limits.rateLimit !== false) {
    const rl = limits.rateLimit;
    app.register(rateLimit, {
      global: true,
      hook: 'onRequest',
      timeWindow: rl.timeWindowMs,
      keyGenerator: (request) => {
        const auth = request.auth;
        return auth?.ok === true ? `key:${auth.principal.keyId}` : `ip:${request.ip}`;
      },
      max: (_request, key) => (key.startsWith('key:') ? rl.max : (rl.unauthenticatedMax ?? rl.max)),
      errorResponseBuilder: (_request, context) =>
        new ApiError(
          'RATE_LIMITED',
          `api/rate-limit: expected at most ${context.max} requests per ${rl.timeWindowMs} ms, got more (retry after ${context.after})`,
        ),
    });
  }

  app.register(async (instance) => {
    for (const route of ROUTES) registerRoute(instance, route, service, keys);

    instance.get(
      '/healthz',
      { config: { access: PUBLIC, rateLimit: false } },
      async (request, reply) => {
        try {
          await service.status();
        } catch (err) {
          // Whatever failed, the instance is not ready: 503 so that a load balancer drains it.
          const a = answerFor(err);
          request.log.error({ err, code: a.code }, 'health check failed');
          return reply.code(503).send(errorBody(request, a.code, a.message));
        }
        return reply.code(200).send({ status: 'ok' });
      },
    );
    instance.get(
      '/metrics',
      { config: { access: system[1]?.access ?? METRICS_ACCESS, rateLimit: false } },
      async (_req, reply) => {
        const text = await metrics.registry.metrics();
        return reply.code(200).header('content-type', metrics.registry.contentType).send(text);
      },
    );
    instance.get('/openapi.json', { config: { access: PUBLIC } }, async (_req, reply) =>
      reply.code(200).send(openapi),
    );
  });

  return app;
}

function registerRoute(
  instance: FastifyInstance,
  route: Route,
  service: CoordinatorService,
  keys: ApiKeyStore,
): void {
  instance.route({
    method: route.method,
    url: route.url,
    config: { access: route.access },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const auth = request.auth;
      if (auth === null || !auth.ok) {
        // preParsing already refused such a request; this guards a hook-order mistake.
        throw new ApiError('UNAUTHENTICATED', 'auth: expected an authenticated request, got none');
      }
      const result = await route.run(
        { service, keys, principal: auth.principal },
        {
          params: request.params,
          query: request.query,
          body: request.body,
          idempotencyKey: request.headers['idempotency-key'],
        },
      );
      if (result.headers !== undefined) reply.headers(result.headers);
      return reply.code(result.status).send(result.body);
    },
  });
}

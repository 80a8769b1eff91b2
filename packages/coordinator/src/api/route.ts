/**
 * One API route as data: method, path, who may call it, the zod schemas of its inputs and
 * outputs, and a handler that receives parsed values. server.ts registers the table, openapi.ts
 * documents it and docs/api.md lists it; a test checks all three agree.
 */
import type { z } from 'zod';
import { CoordinatorError } from '../errors.js';
import type { CoordinatorService } from '../service/contract.js';
import type { Access, ApiKeyStore, Principal } from './auth.js';
import { EMPTY, idempotencyKeySchema } from './schemas.js';

export type Method = 'GET' | 'POST';

export interface RouteResult {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What the HTTP layer hands a route, unparsed. */
export interface RawInput {
  readonly params: unknown;
  readonly query: unknown;
  readonly body: unknown;
  readonly idempotencyKey: string | string[] | undefined;
}

export interface RouteDeps {
  readonly service: CoordinatorService;
  readonly keys: ApiKeyStore;
  /** The authenticated caller: every route in the table requires one. */
  readonly principal: Principal;
}

export interface Route {
  /** operationId in /openapi.json. */
  readonly id: string;
  readonly method: Method;
  /** fastify path pattern (`/v1/withdrawals/:id`). */
  readonly url: string;
  readonly summary: string;
  readonly access: Access;
  readonly params: z.ZodType;
  readonly query: z.ZodType;
  /** null: the route takes no body (GET). */
  readonly body: z.ZodType | null;
  readonly idempotencyKey: boolean;
  /** Success statuses and their body schemas. */
  readonly responses: Readonly<
    Record<number, { readonly description: string; readonly schema: z.ZodType }>
  >;
  /** Error statuses the route documents besides 400/401/403/413/415/429/500/503. */
  readonly errors: readonly number[];
  readonly run: (deps: RouteDeps, raw: RawInput) => Promise<RouteResult>;
}

export interface Parsed<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** Present when the route declares `idempotencyKey: true`. */
  readonly idempotencyKey: string;
}

interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  readonly id: string;
  readonly method: Method;
  readonly url: string;
  readonly summary: string;
  readonly access: Access;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  readonly idempotencyKey?: boolean;
  readonly responses: Route['responses'];
  readonly errors?: readonly number[];
  readonly handle: (
    deps: RouteDeps,
    input: Parsed<z.output<P>, z.output<Q>, z.output<B>>,
  ) => Promise<RouteResult>;
}

const MAX_ISSUES = 5;

/** `issue.message`, with zod's wording for unknown fields replaced by ours. */
function issueText(where: string, issue: z.core.$ZodIssue): string {
  const path = [where, ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys') {
    return `${path}: expected only the documented fields, got unknown field(s) ${issue.keys.join(', ')}`;
  }
  return `${path}: ${issue.message}`;
}

/** Parse one part of a request; BAD_AMOUNT when an amount is wrong, BAD_REQUEST otherwise. */
export function parsePart<T extends z.ZodType>(
  place: string,
  where: string,
  schema: T,
  value: unknown,
): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues;
  const amount = issues.some((i) => i.path[i.path.length - 1] === 'amount');
  const text = issues.slice(0, MAX_ISSUES).map((i) => issueText(where, i));
  const more = issues.length > MAX_ISSUES ? `; and ${issues.length - MAX_ISSUES} more` : '';
  throw new CoordinatorError(
    amount ? 'BAD_AMOUNT' : 'BAD_REQUEST',
    `${place}: ${text.join('; ')}${more}`,
  );
}

function noBody(place: string, body: unknown): undefined {
  if (body === undefined || body === null) return undefined;
  throw new CoordinatorError('BAD_REQUEST', `${place}: expected no body, got one`);
}

export function defineRoute<
  P extends z.ZodType = typeof EMPTY,
  Q extends z.ZodType = typeof EMPTY,
  B extends z.ZodType = z.ZodUndefined,
>(spec: RouteSpec<P, Q, B>): Route {
  const place = `${spec.method} ${spec.url}`;
  const params = spec.params ?? EMPTY;
  const query = spec.query ?? EMPTY;
  const body = spec.body ?? null;
  const needsKey = spec.idempotencyKey === true;
  const run = async (deps: RouteDeps, raw: RawInput): Promise<RouteResult> => {
    const input = {
      params: parsePart(place, 'params', params, raw.params ?? {}),
      query: parsePart(place, 'query', query, raw.query ?? {}),
      body: body === null ? noBody(place, raw.body) : parsePart(place, 'body', body, raw.body),
      idempotencyKey: needsKey
        ? parsePart(place, 'header.idempotency-key', idempotencyKeySchema, raw.idempotencyKey)
        : '',
    } as Parsed<z.output<P>, z.output<Q>, z.output<B>>;
    // The cast above only restates what the schemas just proved: each part was parsed by the
    // schema whose output type it is given (or is the EMPTY / undefined default).
    return spec.handle(deps, input);
  };
  return Object.freeze({
    id: spec.id,
    method: spec.method,
    url: spec.url,
    summary: spec.summary,
    access: spec.access,
    params,
    query,
    body,
    idempotencyKey: needsKey,
    responses: Object.freeze({ ...spec.responses }),
    errors: Object.freeze([...(spec.errors ?? [])]),
    run,
  });
}

/**
 * Errors as the API answers them: `{ "error": { "code", "message", "requestId" } }`. Two frozen
 * tables, documented in docs/api.md §Errors and checked against it both ways by a test:
 *
 * - `COORDINATOR_STATUS`: the HTTP status of every CoordinatorError code (the domain's errors,
 *   thrown by the service or by the request parser).
 * - `HTTP_ERROR_CODES`: the few codes that exist only at the HTTP layer (authentication, role,
 *   rate, body size, media type, shutdown). They are never thrown as CoordinatorErrors.
 */
import {
  COORDINATOR_ERROR_CODES,
  type CoordinatorErrorCode,
  isCoordinatorError,
} from '../errors.js';

export const COORDINATOR_STATUS: Readonly<Record<CoordinatorErrorCode, number>> = Object.freeze({
  BAD_REQUEST: 400,
  BAD_AMOUNT: 400,
  // Malformed, but the server's own configuration: not the client's fault.
  BAD_CONFIG: 500,
  UNBALANCED_ENTRY: 500,
  INSUFFICIENT_FUNDS: 422,
  RISK_REJECTED: 422,
  DEVICE_REFUSED: 422,
  CHAIN_REJECTED: 422,
  // 423 Locked: withdrawals are switched off by an operator until resumed; distinct from 409 so
  // that a client can tell "try again after resume" from "this request conflicts".
  PAUSED: 423,
  DUPLICATE: 409,
  INVALID_TRANSITION: 409,
  NOT_FOUND: 404,
  STORAGE: 503,
  CHAIN_UNAVAILABLE: 503,
  CHAIN_BAD_RESPONSE: 503,
  CHAIN_RPC: 503,
  NO_DEVICE: 503,
  INTERNAL: 500,
});

export const HTTP_ERROR_CODES = Object.freeze({
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  SHUTTING_DOWN: 503,
} as const);
export type HttpErrorCode = keyof typeof HTTP_ERROR_CODES;
export type ApiErrorCode = CoordinatorErrorCode | HttpErrorCode;

/** An error answered as is (status, code, message); used for HTTP-layer refusals. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly statusCode: number;
  readonly code: ApiErrorCode;
  constructor(code: ApiErrorCode, message: string) {
    super(message);
    this.code = code;
    this.statusCode = statusOf(code);
  }
}

export interface ErrorAnswer {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly message: string;
  /** True when the cause must go to the log at error level (5xx not expected in operation). */
  readonly serverFault: boolean;
}

/** fastify's own errors (body parsing) and what we answer for them. */
const FASTIFY_ERRORS: Readonly<Record<string, { code: ApiErrorCode; message: string }>> =
  Object.freeze({
    FST_ERR_CTP_BODY_TOO_LARGE: {
      code: 'PAYLOAD_TOO_LARGE',
      message: 'api/body: expected a body within the size limit, got a larger one',
    },
    FST_ERR_CTP_INVALID_MEDIA_TYPE: {
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'api/body: expected Content-Type application/json, got another type',
    },
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
      code: 'BAD_REQUEST',
      message: 'api/body: expected a body of Content-Length bytes, got another size',
    },
    FST_ERR_CTP_EMPTY_JSON_BODY: {
      code: 'BAD_REQUEST',
      message: 'api/body: expected a JSON body with Content-Type application/json, got none',
    },
    FST_ERR_CTP_INVALID_JSON_BODY: {
      code: 'BAD_REQUEST',
      message: 'api/body: expected valid JSON, got a syntax error',
    },
  });

/** How to answer `err`. Internal details never reach the client: 500s get a fixed message. */
export function answerFor(err: unknown): ErrorAnswer {
  if (err instanceof ApiError) {
    return {
      status: err.statusCode,
      code: err.code,
      message: err.message,
      serverFault: err.statusCode >= 500 && err.code !== 'SHUTTING_DOWN',
    };
  }
  if (isCoordinatorError(err)) {
    const status = COORDINATOR_STATUS[err.code];
    if (status === 500) {
      return { status, code: err.code, message: INTERNAL_MESSAGE, serverFault: true };
    }
    return { status, code: err.code, message: err.message, serverFault: status >= 500 };
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    const known = FASTIFY_ERRORS[code];
    if (known !== undefined) {
      return { status: statusOf(known.code), ...known, serverFault: false };
    }
  }
  // JSON.parse's SyntaxError from fastify's parser, or a prototype-poisoning refusal from
  // secure-json-parse (also a SyntaxError).
  if (err instanceof SyntaxError) {
    return {
      status: 400,
      code: 'BAD_REQUEST',
      message: 'api/body: expected valid JSON without __proto__ or constructor keys, got other',
      serverFault: false,
    };
  }
  // Any other client error fastify raised itself (a malformed URL, a bad header).
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return {
      status: 400,
      code: 'BAD_REQUEST',
      message: `api/request: expected a well-formed HTTP request, got one the server refused${typeof code === 'string' && /^FST_[A-Z0-9_]+$/.test(code) ? ` (${code})` : ''}`,
      serverFault: false,
    };
  }
  return { status: 500, code: 'INTERNAL', message: INTERNAL_MESSAGE, serverFault: true };
}

export const INTERNAL_MESSAGE =
  'api: expected to complete the request, got an internal error (see the log under this requestId)';

export function statusOf(code: ApiErrorCode): number {
  return code in HTTP_ERROR_CODES
    ? HTTP_ERROR_CODES[code as HttpErrorCode]
    : COORDINATOR_STATUS[code as CoordinatorErrorCode];
}

/** Every code an API response can carry, for the docs test. */
export const ALL_API_ERROR_CODES: readonly ApiErrorCode[] = Object.freeze([
  ...(Object.keys(COORDINATOR_ERROR_CODES) as CoordinatorErrorCode[]),
  ...(Object.keys(HTTP_ERROR_CODES) as HttpErrorCode[]),
]);

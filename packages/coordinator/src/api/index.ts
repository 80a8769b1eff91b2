/** Public surface of the coordinator's HTTP API. See docs/api.md. */
export type { Access, ApiKeyStore, AuthResult, Principal } from './auth.js';
export { actor, allowed, authenticate, PUBLIC, roles } from './auth.js';
export type { ApiErrorCode, HttpErrorCode } from './http-errors.js';
export {
  ALL_API_ERROR_CODES,
  ApiError,
  answerFor,
  COORDINATOR_STATUS,
  HTTP_ERROR_CODES,
} from './http-errors.js';
export type { ApiLoggerOptions } from './logger.js';
export { createApiLogger, maskKeys, REDACT_PATHS } from './logger.js';
export type { CoordinatorMetrics, MetricsOptions, SigningOutcome } from './metrics.js';
export { createMetrics, METRIC_NAMES, SIGNING_OUTCOMES } from './metrics.js';
export { buildOpenApi, openApiPath } from './openapi.js';
export type { Route, RouteResult } from './route.js';
export { ROUTES } from './routes.js';
export type { ApiLimits, ApiOptions } from './server.js';
export { buildApi, DEFAULT_BODY_LIMIT_BYTES } from './server.js';

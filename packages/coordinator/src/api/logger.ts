/**
 * The API's JSON logger (pino). Key material must never reach a log line:
 *
 * - request lines carry method, the URL with any `kl_...` token masked (a client that puts its
 *   key in a query string does not get it logged), the remote address and the request id — never
 *   headers or bodies;
 * - `redact` censors, should anything log them anyway, the Authorization / Cookie / X-Api-Key
 *   headers and any field named `secret`, `apiKey` or `authorization` up to two levels deep;
 * - the API's own error messages never quote the Authorization header (auth.ts).
 */
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export const REDACTED = '[REDACTED]';

export const REDACT_PATHS: readonly string[] = Object.freeze([
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'authorization',
  'secret',
  'apiKey',
  '*.authorization',
  '*.secret',
  '*.apiKey',
  '*.*.secret',
  '*.*.apiKey',
]);

/** Anything that looks like one of our keys, wherever it appears in a string. */
const KEY_TOKEN = /kl_[A-Za-z0-9_-]+/g;
export const maskKeys = (s: string): string => s.replace(KEY_TOKEN, `kl_${REDACTED}`);

interface LoggedRequest {
  readonly method?: string;
  readonly url?: string;
  readonly ip?: string;
  readonly id?: string;
}

export const serializers = Object.freeze({
  req: (req: LoggedRequest) => ({
    method: req.method,
    url: typeof req.url === 'string' ? maskKeys(req.url) : undefined,
    remoteAddress: req.ip,
  }),
  res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
  err: (err: unknown) => {
    const e = pino.stdSerializers.err(err as Error);
    return {
      ...e,
      message: maskKeys(String(e.message ?? '')),
      stack: maskKeys(String(e.stack ?? '')),
    };
  },
});

export interface ApiLoggerOptions {
  readonly level?: LoggerOptions['level'];
  /** Where lines go (default stdout). The tests pass a stream to capture them. */
  readonly stream?: DestinationStream;
}

export function createApiLogger(options: ApiLoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'keyline-coordinator', component: 'api' },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      serializers,
    },
    options.stream ?? pino.destination(1),
  );
}

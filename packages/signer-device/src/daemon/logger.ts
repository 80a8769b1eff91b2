/**
 * The daemon's logger: pino JSON lines on stderr (or an injected destination), with every log
 * object passed through `sanitizeLogValue` first: any field whose key looks secret-bearing is
 * replaced by "[redacted]" at any depth, byte arrays are logged as their length only, and errors
 * become plain objects whose fields are sanitized the same way. docs/daemon.md §2.
 *
 * Limits: a secret written into the message string itself (`log.info(\`... ${x}\`)`) or into
 * an innocently named field cannot be recognised; the rule is that secrets never reach a log
 * call, and this is the net under that rule.
 */
import pino from 'pino';
import type { LogLevel } from './config.js';

/** Keys whose values are never logged. `keyId` and `keyFile` are the two allowed "key" names. */
export const SECRET_KEY_PATTERN =
  /passphrase|secret|seed|mnemonic|words|xprv|private|key(?!Id|File)/i;
export const REDACTED = '[redacted]';
/** Nesting below this depth is cut (logs are not a place for deep structures). */
export const MAX_LOG_DEPTH = 8;
/** Array entries past this count are summarised. */
export const MAX_LOG_ARRAY = 64;

/** The structured-logging surface the daemon modules depend on (pino's `Logger` satisfies it). */
export interface DaemonLogger {
  fatal(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Where the JSON lines go: anything with a `write(line)` (pino's destination interface). */
export interface LogDestination {
  write(line: string): unknown;
}

function describeBytes(value: ArrayBufferView | ArrayBuffer): string {
  return `[bytes: ${value.byteLength}]`;
}

function sanitizeError(
  error: Error,
  depth: number,
  seen: WeakSet<object>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: error.name,
    message: error.message,
    stack: error.stack,
  };
  const extra = error as unknown as Record<string, unknown>;
  for (const key of ['code', 'kind', 'detail']) {
    if (extra[key] !== undefined) out[key] = extra[key];
  }
  if (error.cause !== undefined) out.cause = error.cause;
  // The fields themselves pass through the same rules as any object.
  const cleaned: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(out)) {
    cleaned[k] =
      k === 'type' || k === 'message' || k === 'stack'
        ? v
        : SECRET_KEY_PATTERN.test(k)
          ? REDACTED
          : sanitizeInner(v, depth + 1, seen);
  }
  return cleaned;
}

function sanitizeInner(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'function' || typeof value === 'symbol') return undefined;
    return value;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return describeBytes(value);
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_LOG_DEPTH) return '[too deep]';
  seen.add(value);
  try {
    if (value instanceof Error) return sanitizeError(value, depth, seen);
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) {
      const items = value.slice(0, MAX_LOG_ARRAY).map((v) => sanitizeInner(v, depth + 1, seen));
      if (value.length > MAX_LOG_ARRAY) items.push(`[${value.length - MAX_LOG_ARRAY} more]`);
      return items;
    }
    if (value instanceof Map || value instanceof Set) return `[${value.constructor.name}]`;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY_PATTERN.test(k) ? REDACTED : sanitizeInner(v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * A log-safe copy of a log object: secret-named fields redacted at any depth, byte arrays (and
 * Buffers, ArrayBuffers, DataViews) replaced by `"[bytes: n]"`, errors turned into plain
 * objects, bigints into decimal strings, cycles and excessive depth cut. Never mutates its input.
 */
export function sanitizeLogObject(value: unknown): Record<string, unknown> {
  const clean = sanitizeInner(value, 0, new WeakSet());
  if (clean !== null && typeof clean === 'object' && !Array.isArray(clean)) {
    return clean as Record<string, unknown>;
  }
  return { value: clean };
}

export interface CreateLoggerOptions {
  readonly level?: LogLevel;
  /** Default: stderr, written synchronously so that a crash does not lose the last lines. */
  readonly destination?: LogDestination;
  /** Fixed fields on every line (sanitized too), e.g. `{ deviceId }`. */
  readonly base?: Record<string, unknown>;
}

/**
 * The daemon's pino logger. Log objects pass through `sanitizeLogObject` (pino's `log`
 * formatter); child bindings too (pino applies its `bindings` formatter to the root's base only,
 * so `child` and `setBindings` are wrapped, and the wrappers are inherited by every descendant).
 */
export function createLogger(options: CreateLoggerOptions = {}): pino.Logger {
  const destination = options.destination ?? pino.destination({ fd: 2, sync: true });
  const logger = pino(
    {
      level: options.level ?? 'info',
      ...(options.base === undefined ? {} : { base: sanitizeLogObject(options.base) }),
      // Errors are already plain, sanitized objects here: pino's own err serializer would
      // rebuild them from the original and must not run.
      serializers: { err: (value: unknown) => value },
      formatters: { log: (object) => sanitizeLogObject(object) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as pino.DestinationStream,
  );
  type ChildFn = (
    this: pino.Logger,
    bindings: pino.Bindings,
    options?: pino.ChildLoggerOptions,
  ) => pino.Logger;
  type SetBindingsFn = (this: pino.Logger, bindings: pino.Bindings) => void;
  const child = logger.child as unknown as ChildFn;
  const setBindings = logger.setBindings as unknown as SetBindingsFn;
  Object.defineProperty(logger, 'child', {
    value: function sanitizedChild(
      this: pino.Logger,
      bindings: pino.Bindings,
      childOptions?: pino.ChildLoggerOptions,
    ): pino.Logger {
      return child.call(this, sanitizeLogObject(bindings), childOptions);
    },
  });
  Object.defineProperty(logger, 'setBindings', {
    value: function sanitizedSetBindings(this: pino.Logger, bindings: pino.Bindings): void {
      setBindings.call(this, sanitizeLogObject(bindings));
    },
  });
  return logger;
}

/**
 * One HTTP exchange for the chain backends (global `fetch`, i.e. undici): a per-call timeout
 * through AbortSignal, a cap on the response size read, and a clean split between "the server
 * answered" (an HttpResponse, whatever its status) and "no answer" (RetryableFailure: refused,
 * reset, DNS, timeout). Credentials travel only in headers and never appear in messages: the URL
 * is printed as origin + path (backend configs refuse user:password in URLs).
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { CoordinatorError } from '../errors.js';
import { RetryableFailure } from './retry.js';

export interface HttpRequest {
  readonly url: URL;
  readonly method: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
  /** Most bytes read from the response body; more is CHAIN_BAD_RESPONSE. */
  readonly maxBytes: number;
  /** The caller's own cancellation; an abort through it is not retried. */
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: Uint8Array;
}

/** `https://host:port/path` without user, password, query or fragment. */
export function describeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export async function httpRequest(req: HttpRequest, where: string): Promise<HttpResponse> {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal === undefined ? timeout : AbortSignal.any([timeout, req.signal]);
  const target = `${req.method} ${describeUrl(req.url)}`;
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal,
      redirect: 'error',
    });
    const body = await readCapped(res, req.maxBytes, `${where}: ${target}`);
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body };
  } catch (e) {
    if (e instanceof CoordinatorError) throw e;
    if (req.signal?.aborted === true) {
      throw new CoordinatorError(
        'CHAIN_UNAVAILABLE',
        `${where}: ${target} was aborted by the caller`,
        { aborted: true },
        { cause: e },
      );
    }
    if (timeout.aborted) {
      throw new RetryableFailure(`${target} timed out after ${req.timeoutMs} ms`, {
        timeoutMs: req.timeoutMs,
      });
    }
    throw new RetryableFailure(`${target} failed: ${transportReason(e)}`, {}, { cause: e });
  }
}

/** `fetch failed` hides the useful part (ECONNREFUSED, ECONNRESET...) in `cause`. */
function transportReason(e: unknown): string {
  const cause = e instanceof Error ? e.cause : undefined;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${code} (${cause.message})` : cause.message;
  }
  return e instanceof Error ? e.message : String(e);
}

async function readCapped(res: Response, maxBytes: number, where: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    throw tooLarge(where, maxBytes, `${declared} (Content-Length)`);
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge(where, maxBytes, `more than ${maxBytes}`);
    }
    chunks.push(value);
  }
  return concatBytes(...chunks);
}

function tooLarge(where: string, maxBytes: number, got: string): CoordinatorError {
  return new CoordinatorError(
    'CHAIN_BAD_RESPONSE',
    `${where}: expected a response of at most ${maxBytes} bytes, got ${got}`,
    { maxBytes },
  );
}

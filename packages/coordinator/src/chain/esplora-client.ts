/**
 * HTTP access to an Esplora REST API (Blockstream/esplora API.md; answers as written by
 * Blockstream/electrs src/rest.rs): GETs of text, JSON or bytes and the one POST (/tx), with the
 * shared timeout, size cap and retry policy.
 *
 * Status handling: 200 → the body; 404 → null ("not found" is an answer); 401/403 → BAD_CONFIG;
 * 5xx and 429 → retried, then CHAIN_UNAVAILABLE; any other status → CHAIN_RPC with
 * `detail.httpStatus` (for POST /tx, a 400 is returned to the caller, which reads the node's
 * rejection out of it).
 */
import { utf8 } from '@scure/base';
import type { z } from 'zod';
import { CoordinatorError } from '../errors.js';
import { describeUrl, type HttpResponse, httpRequest } from './http.js';
import {
  RetryableFailure,
  type RetryDeps,
  type RetryPolicy,
  realRetryDeps,
  withRetries,
} from './retry.js';

export interface EsploraClientOptions {
  /** Base URL of the API, e.g. `https://blockstream.info/api` or `http://127.0.0.1:3000`. */
  readonly url: string | URL;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly maxResponseBytes: number;
  readonly retryDeps?: RetryDeps;
}

export class EsploraClient {
  readonly #base: URL;
  readonly #where: string;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #maxBytes: number;
  readonly #deps: RetryDeps;

  constructor(options: EsploraClientOptions) {
    const base = new URL(options.url);
    if (base.username !== '' || base.password !== '') {
      throw new CoordinatorError(
        'BAD_CONFIG',
        'esplora: expected a URL without user:password, got one with credentials',
      );
    }
    this.#base = base;
    this.#where = describeUrl(base);
    this.#timeoutMs = options.timeoutMs;
    this.#retry = options.retry;
    this.#maxBytes = options.maxResponseBytes;
    this.#deps = options.retryDeps ?? realRetryDeps;
  }

  #url(path: string): URL {
    const prefix = this.#base.pathname.replace(/\/+$/, '');
    return new URL(`${prefix}${path}`, this.#base);
  }

  /** GET `path`; null on 404. */
  async get(path: string, where: string): Promise<HttpResponse | null> {
    const res = await this.#request('GET', path, undefined, where);
    if (res.status === 404) return null;
    if (res.status !== 200) throw this.#unexpected(res, path, where);
    return res;
  }

  async getText(path: string, where: string): Promise<string | null> {
    const res = await this.get(path, where);
    return res === null ? null : utf8.encode(res.body).trim();
  }

  async getBytes(path: string, where: string): Promise<Uint8Array | null> {
    const res = await this.get(path, where);
    return res === null ? null : res.body;
  }

  async getJson<S extends z.ZodType>(
    path: string,
    schema: S,
    where: string,
  ): Promise<z.output<S> | null> {
    const text = await this.getText(path, where);
    if (text === null) return null;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw badEsplora(where, `JSON from GET ${path}`, `${text.length} characters that are not`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw badEsplora(
        where,
        `GET ${path} in Esplora's documented shape`,
        `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'a mismatch'}`,
      );
    }
    return parsed.data;
  }

  /** POST a text body; 200 and 400 are returned (the caller reads a rejection from a 400). */
  async postText(
    path: string,
    body: string,
    where: string,
  ): Promise<{ status: number; text: string }> {
    const res = await this.#request('POST', path, body, where);
    if (res.status !== 200 && res.status !== 400) throw this.#unexpected(res, path, where);
    return { status: res.status, text: utf8.encode(res.body).trim() };
  }

  async #request(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    where: string,
  ): Promise<HttpResponse> {
    const url = this.#url(path);
    return withRetries(
      async () => {
        const res = await httpRequest(
          {
            url,
            method,
            headers: body === undefined ? {} : { 'content-type': 'text/plain' },
            body,
            timeoutMs: this.#timeoutMs,
            maxBytes: this.#maxBytes,
          },
          where,
        );
        if (res.status >= 500 || res.status === 429) {
          throw new RetryableFailure(`${method} ${path}: HTTP ${res.status} ${excerpt(res.body)}`, {
            httpStatus: res.status,
          });
        }
        if (res.status === 401 || res.status === 403) {
          throw new CoordinatorError(
            'BAD_CONFIG',
            `${where}: expected ${this.#where} to serve us, got HTTP ${res.status} on ${method} ${path}`,
            { httpStatus: res.status, url: this.#where },
          );
        }
        return res;
      },
      this.#retry,
      this.#deps,
      (last, attempts) =>
        new CoordinatorError(
          'CHAIN_UNAVAILABLE',
          `${where}: expected an answer from ${this.#where}, got none after ${attempts} attempt(s); last: ${last.reason}`,
          { attempts, url: this.#where, lastReason: last.reason, ...last.detail },
          { cause: last },
        ),
    );
  }

  #unexpected(res: HttpResponse, path: string, where: string): CoordinatorError {
    return new CoordinatorError(
      'CHAIN_RPC',
      `${where}: expected HTTP 200 from ${path}, got HTTP ${res.status} ${excerpt(res.body)}`,
      { httpStatus: res.status, message: utf8.encode(res.body.subarray(0, 500)) },
    );
  }
}

function excerpt(body: Uint8Array): string {
  const text = utf8.encode(body.subarray(0, 200)).replace(/[^\x20-\x7e]/g, '?');
  return text === '' ? '' : JSON.stringify(text);
}

export function badEsplora(where: string, expected: string, got: string): CoordinatorError {
  return new CoordinatorError('CHAIN_BAD_RESPONSE', `${where}: expected ${expected}, got ${got}`);
}

/**
 * Bitcoin Core JSON-RPC client, written to Core's doc/JSON-RPC-interface.md (v28+):
 *
 * - Requests are JSON-RPC 2.0 (`"jsonrpc": "2.0"`), POSTed to the node's `/` endpoint with HTTP
 *   Basic auth. Core v28+ answers a 2.0 request with HTTP 200 and exactly one of `result` /
 *   `error`. A legacy (1.x) server answers errors with HTTP 500 (404 for an unknown method, 400
 *   for a bad request) and a body carrying both `result: null` and `error`: such a body is read
 *   as the answer it is, whatever the status.
 * - Batches are one HTTP request with an array body; replies are matched by `id` in any order
 *   (the 2.0 spec allows any order).
 * - Each HTTP attempt has its own timeout (AbortSignal). Transport failures (refused, reset,
 *   timeout), HTTP 5xx without a JSON-RPC body (e.g. Core's 503 "work queue depth exceeded")
 *   and error -28 RPC_IN_WARMUP are retried with exponential backoff and full jitter; after
 *   `retries` more attempts the call fails with CHAIN_UNAVAILABLE. A JSON-RPC error that is an
 *   answer is never retried (rpc-errors.ts maps it).
 * - HTTP 401 with a cookie file re-reads the cookie once (Core rewrites it at every start), then
 *   fails with BAD_CONFIG; 403 (rpcallowip) is BAD_CONFIG too: wrong credentials or a refused
 *   host are configuration problems that retrying will not fix.
 * - Credentials appear only in the Authorization header: never in messages, details or logs.
 */
import { CoordinatorError } from '../errors.js';
import { describeUrl, httpRequest } from './http.js';
import {
  RetryableFailure,
  type RetryDeps,
  type RetryPolicy,
  realRetryDeps,
  withRetries,
} from './retry.js';
import type { RpcAuth } from './rpc-auth.js';
import { RpcCredentials } from './rpc-auth.js';
import {
  badResponse,
  type Envelope,
  isErrorEnvelope,
  parseJson,
  parseResult,
  readEnvelope,
  rpcError,
  snippet,
} from './rpc-envelope.js';
import { RPC_IN_WARMUP } from './rpc-errors.js';
import { CORE_CALLS, type RpcCall } from './rpc-schemas.js';

export interface CoreRpcClientOptions {
  /** `http://host:port/` (a `/wallet/<name>` path is allowed; credentials in the URL are not). */
  readonly url: string | URL;
  readonly auth: RpcAuth;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  /** Largest response body read (a getblock verbosity 2 of a full block is tens of MB). */
  readonly maxResponseBytes: number;
  /** Test seam: sleep and randomness for the backoff. */
  readonly retryDeps?: RetryDeps;
}

export type BatchOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: CoordinatorError };

type ResultOf<C> = C extends RpcCall<infer T> ? T : never;

export class CoreRpcClient {
  readonly #url: URL;
  readonly #where: string;
  readonly #credentials: RpcCredentials;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #maxBytes: number;
  readonly #deps: RetryDeps;
  #nextId = 1;

  constructor(options: CoreRpcClientOptions) {
    const url = new URL(options.url);
    if (url.username !== '' || url.password !== '') {
      throw new CoordinatorError(
        'BAD_CONFIG',
        'rpc: expected a URL without user:password (give credentials as user/password or cookieFile), got one with credentials',
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new CoordinatorError(
        'BAD_CONFIG',
        `rpc: expected an http: or https: URL, got ${url.protocol}`,
      );
    }
    this.#url = url;
    this.#where = describeUrl(url);
    this.#credentials = new RpcCredentials(options.auth);
    this.#timeoutMs = options.timeoutMs;
    this.#retry = options.retry;
    this.#maxBytes = options.maxResponseBytes;
    this.#deps = options.retryDeps ?? realRetryDeps;
  }

  /** One call; its result checked against the call's schema. */
  async call<T>(c: RpcCall<T>, signal?: AbortSignal): Promise<T> {
    const where = `rpc/${c.method}`;
    const id = this.#nextId++;
    const request = { jsonrpc: '2.0', id, method: c.method, params: c.params };
    return withRetries(
      async () => {
        const json = await this.#post(request, where, signal);
        const env = readEnvelope(json, where);
        // An error about a request the server could not read carries id null (JSON-RPC 2.0 §5).
        if (env.id !== id && !(env.error !== null && env.id === null)) {
          throw badResponse(where, `a reply with id ${id}`, `id ${JSON.stringify(env.id)}`);
        }
        if (env.error !== null) {
          if (env.error.code === RPC_IN_WARMUP) throw warmup(env.error.message);
          throw rpcError(c.method, env.error.code, env.error.message);
        }
        return parseResult(c, env.result, where);
      },
      this.#retry,
      this.#deps,
      (last, attempts) => this.#unavailable(where, last, attempts),
    );
  }

  /**
   * Several calls in one HTTP request. Each call gets its own outcome, in the order given; a
   * transport failure or a warmup answer retries the whole batch.
   */
  async batch<const C extends readonly RpcCall<unknown>[]>(
    calls: C,
    signal?: AbortSignal,
  ): Promise<{ -readonly [K in keyof C]: BatchOutcome<ResultOf<C[K]>> }> {
    const where = `rpc/batch(${calls.map((c) => c.method).join(',')})`;
    if (calls.length === 0) {
      throw new CoordinatorError('BAD_REQUEST', `${where}: expected at least one call, got none`);
    }
    const ids = calls.map(() => this.#nextId++);
    const body = calls.map((c, i) => ({
      jsonrpc: '2.0',
      id: ids[i],
      method: c.method,
      params: c.params,
    }));
    const outcomes = await withRetries(
      async () => {
        const json = await this.#post(body, where, signal);
        if (!Array.isArray(json)) {
          // Core answers a batch it cannot process at all with one error object.
          const env = readEnvelope(json, where);
          if (env.error !== null) {
            if (env.error.code === RPC_IN_WARMUP) throw warmup(env.error.message);
            throw rpcError('batch', env.error.code, env.error.message);
          }
          throw badResponse(where, 'an array of replies', 'a single reply without error');
        }
        const byId = new Map<unknown, Envelope>();
        for (const item of json) {
          const env = readEnvelope(item, where);
          if (!ids.includes(env.id as number) || byId.has(env.id)) {
            throw badResponse(where, 'one reply per request id', `id ${JSON.stringify(env.id)}`);
          }
          byId.set(env.id, env);
        }
        if (byId.size !== ids.length) {
          throw badResponse(where, `${ids.length} replies`, `${byId.size}`);
        }
        const envs = ids.map((id) => byId.get(id) as Envelope);
        const warming = envs.find((env) => env.error?.code === RPC_IN_WARMUP);
        if (warming?.error) throw warmup(warming.error.message);
        return envs.map((env, i): BatchOutcome<unknown> => {
          const c = calls[i] as RpcCall<unknown>;
          if (env.error !== null) {
            return { ok: false, error: rpcError(c.method, env.error.code, env.error.message) };
          }
          try {
            return { ok: true, value: parseResult(c, env.result, `rpc/${c.method}`) };
          } catch (e) {
            if (e instanceof CoordinatorError) return { ok: false, error: e };
            throw e;
          }
        });
      },
      this.#retry,
      this.#deps,
      (last, attempts) => this.#unavailable(where, last, attempts),
    );
    return outcomes as { -readonly [K in keyof C]: BatchOutcome<ResultOf<C[K]>> };
  }

  // Typed methods (Core's names; see rpc-schemas.ts for the result shapes).
  getblockchaininfo() {
    return this.call(CORE_CALLS.getblockchaininfo());
  }
  getblockcount() {
    return this.call(CORE_CALLS.getblockcount());
  }
  getblockhash(height: number) {
    return this.call(CORE_CALLS.getblockhash(height));
  }
  getblockheader(hash: string) {
    return this.call(CORE_CALLS.getblockheader(hash));
  }
  getblock(hash: string) {
    return this.call(CORE_CALLS.getblock(hash));
  }
  getrawtransaction(txid: string) {
    return this.call(CORE_CALLS.getrawtransaction(txid));
  }
  getrawtransactionVerbose(txid: string) {
    return this.call(CORE_CALLS.getrawtransactionVerbose(txid));
  }
  getrawmempool() {
    return this.call(CORE_CALLS.getrawmempool());
  }
  getmempoolentry(txid: string) {
    return this.call(CORE_CALLS.getmempoolentry(txid));
  }
  testmempoolaccept(rawHex: readonly string[], maxFeeRateSatPerKvB?: bigint) {
    return this.call(CORE_CALLS.testmempoolaccept(rawHex, maxFeeRateSatPerKvB));
  }
  sendrawtransaction(rawHex: string, maxFeeRateSatPerKvB?: bigint) {
    return this.call(CORE_CALLS.sendrawtransaction(rawHex, maxFeeRateSatPerKvB));
  }
  estimatesmartfee(targetBlocks: number) {
    return this.call(CORE_CALLS.estimatesmartfee(targetBlocks));
  }
  generatetoaddress(blocks: number, address: string) {
    return this.call(CORE_CALLS.generatetoaddress(blocks, address));
  }
  sendtoaddress(address: string, amount: bigint) {
    return this.call(CORE_CALLS.sendtoaddress(address, amount));
  }
  getnewaddress() {
    return this.call(CORE_CALLS.getnewaddress());
  }
  invalidateblock(hash: string) {
    return this.call(CORE_CALLS.invalidateblock(hash));
  }
  reconsiderblock(hash: string) {
    return this.call(CORE_CALLS.reconsiderblock(hash));
  }

  /** POST a body; the parsed JSON of an answer, or a thrown failure (see the module doc). */
  async #post(body: unknown, where: string, signal?: AbortSignal): Promise<unknown> {
    const payload = JSON.stringify(body);
    let res = await this.#send(payload, where, signal);
    if (res.status === 401 && this.#credentials.refresh()) {
      res = await this.#send(payload, where, signal);
    }
    if (res.status === 401) {
      throw new CoordinatorError(
        'BAD_CONFIG',
        `${where}: expected ${this.#where} to accept our ${this.#credentials.kind === 'cookie' ? 'cookie' : 'user/password'} credentials, got HTTP 401 Unauthorized`,
        { httpStatus: 401, url: this.#where },
      );
    }
    if (res.status === 403) {
      throw new CoordinatorError(
        'BAD_CONFIG',
        `${where}: expected ${this.#where} to accept connections from this host, got HTTP 403 Forbidden (check rpcallowip/rpcbind)`,
        { httpStatus: 403, url: this.#where },
      );
    }
    const json = parseJson(res.body);
    if (res.status === 200) {
      if (json === undefined) {
        throw badResponse(where, 'a JSON body', `${res.body.length} bytes that are not JSON`);
      }
      return json;
    }
    if (json !== undefined && isErrorEnvelope(json)) return json; // legacy 1.x error answer
    if (res.status >= 500) {
      throw new RetryableFailure(`HTTP ${res.status} ${snippet(res.body)}`.trim(), {
        httpStatus: res.status,
      });
    }
    throw badResponse(
      where,
      'HTTP 200 or a JSON-RPC error body',
      `HTTP ${res.status} ${snippet(res.body)}`.trim(),
      { httpStatus: res.status },
    );
  }

  async #send(payload: string, where: string, signal?: AbortSignal) {
    return httpRequest(
      {
        url: this.#url,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: await this.#credentials.authorization(),
        },
        body: payload,
        timeoutMs: this.#timeoutMs,
        maxBytes: this.#maxBytes,
        signal,
      },
      where,
    );
  }

  #unavailable(where: string, last: RetryableFailure, attempts: number): CoordinatorError {
    return new CoordinatorError(
      'CHAIN_UNAVAILABLE',
      `${where}: expected an answer from ${this.#where}, got none after ${attempts} attempt(s); last: ${last.reason}`,
      { attempts, url: this.#where, lastReason: last.reason, ...last.detail },
      { cause: last },
    );
  }
}

function warmup(message: string): RetryableFailure {
  return new RetryableFailure(`node is warming up (-28: ${message})`, { rpcCode: RPC_IN_WARMUP });
}

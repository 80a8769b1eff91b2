/**
 * Helpers of the RPC tests: one devnet per test file on an ephemeral loopback port, raw HTTP
 * posts and JSON-RPC calls.
 */
import { type RunningDevnet, startDevnet } from '../../src/start.js';
import { START_MS } from './chain.js';

export const USER = 'alice';
export const PASSWORD = 'correct horse battery staple';
export const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

export interface Reply {
  status: number;
  text: string;
  json: unknown;
  headers: Headers;
}

export async function startTestDevnet(): Promise<RunningDevnet> {
  let t = START_MS;
  const devnet = await startDevnet({
    port: 0,
    rpcUser: USER,
    rpcPassword: PASSWORD,
    authFailureDelayMs: 0,
    now: () => (t += 1000),
  });
  devnet.node.mine(101);
  return devnet;
}

export function client(devnet: () => RunningDevnet) {
  async function post(
    body: unknown,
    opts: { auth?: string | null; path?: string; method?: string; raw?: boolean } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (opts.auth !== null) headers.authorization = opts.auth ?? AUTH;
    const res = await fetch(new URL(opts.path ?? '/', devnet().url), {
      method: opts.method ?? 'POST',
      headers,
      ...(opts.method === 'GET'
        ? {}
        : { body: opts.raw ? (body as string) : JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, text, json, headers: res.headers };
  }

  /** A JSON-RPC 1.0 call that must succeed; returns `result`. */
  // biome-ignore lint/suspicious/noExplicitAny: RPC results are untyped JSON, checked field by field in each test.
  async function call(method: string, params: unknown = []): Promise<any> {
    const r = await post({ method, params, id: 1 });
    const body = r.json as { result: unknown; error: unknown };
    if (r.status !== 200 || body.error !== null) throw new Error(`${method}: ${r.text}`);
    return body.result;
  }

  async function callError(
    method: string,
    params: unknown = [],
  ): Promise<{ status: number; code: number; message: string }> {
    const r = await post({ method, params, id: 1 });
    const err = (r.json as { error: { code: number; message: string } }).error;
    return { status: r.status, code: err.code, message: err.message };
  }

  return { post, call, callError };
}

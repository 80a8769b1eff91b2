/**
 * The HTTP side of the RPC server, as Core's httpserver/httprpc do it: POST only (405 otherwise),
 * paths "/" and "/wallet/<name>" (404 otherwise), loopback clients only unless allowed (403),
 * HTTP Basic authentication (401 with `WWW-Authenticate: Basic realm="jsonrpc"`, after a 250 ms
 * pause on a wrong password), a request body limit (413), then the JSON-RPC envelope.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64 } from '@scure/base';
import type { DevnetNode } from './node.js';
import { dispatch } from './rpc/methods/index.js';
import { handleJsonRpcBody } from './rpc/protocol.js';

export type LogFn = (event: Record<string, unknown>) => void;

export interface RpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly rpcUser: string;
  readonly rpcPassword: string;
  readonly maxBodyBytes: number;
  readonly allowRemote: boolean;
  readonly authFailureDelayMs: number;
  readonly log: LogFn;
}

export interface RpcServer {
  readonly port: number;
  close(): Promise<void>;
}

const WWW_AUTHENTICATE = 'Basic realm="jsonrpc"';

export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  return (
    address === '::1' ||
    address.startsWith('127.') ||
    address.startsWith('::ffff:127.') ||
    address === 'localhost'
  );
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** RPCAuthorized: "Basic " + base64(user:password), compared in constant time. */
function authorized(header: string | undefined, expected: Buffer): boolean {
  if (header === undefined || !header.startsWith('Basic ')) return false;
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(
      base64.decode(header.slice(6).trim()),
    );
  } catch {
    return false;
  }
  if (!decoded.includes(':')) return false;
  return timingSafeEqual(digest(decoded), expected);
}

export async function startRpcServer(node: DevnetNode, opts: RpcServerOptions): Promise<RpcServer> {
  const expected = digest(`${opts.rpcUser}:${opts.rpcPassword}`);
  const timers = new Set<NodeJS.Timeout>();
  const ctx = { node };

  const reply = (
    res: ServerResponse,
    status: number,
    body: string | null,
    headers: Record<string, string> = {},
  ): void => {
    if (res.writableEnded) return;
    res.writeHead(status, {
      ...headers,
      ...(body === null
        ? {}
        : { 'Content-Type': headers['Content-Type'] ?? 'text/html; charset=ISO-8859-1' }),
    });
    res.end(body ?? undefined);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!opts.allowRemote && !isLoopbackAddress(req.socket.remoteAddress)) {
      opts.log({ event: 'rpc.forbidden', remote: req.socket.remoteAddress });
      reply(res, 403, null);
      req.resume();
      return;
    }
    if (path !== '/' && !path.startsWith('/wallet/')) {
      reply(res, 404, null);
      req.resume();
      return;
    }
    if (req.method !== 'POST') {
      reply(res, 405, 'JSONRPC server handles only POST requests');
      req.resume();
      return;
    }
    const auth = req.headers.authorization;
    if (auth === undefined) {
      reply(res, 401, null, { 'WWW-Authenticate': WWW_AUTHENTICATE });
      req.resume();
      return;
    }
    if (!authorized(auth, expected)) {
      opts.log({ event: 'rpc.auth_failed', remote: req.socket.remoteAddress });
      req.resume();
      const timer = setTimeout(() => {
        timers.delete(timer);
        reply(res, 401, null, { 'WWW-Authenticate': WWW_AUTHENTICATE });
      }, opts.authFailureDelayMs);
      timers.add(timer);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > opts.maxBodyBytes) {
        if (!tooLarge) {
          tooLarge = true;
          chunks.length = 0;
          reply(res, 413, null, { Connection: 'close' });
        }
        if (size > 2 * opts.maxBodyBytes) req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) return;
      const body = Buffer.concat(chunks).toString('utf8');
      const out = handleJsonRpcBody(body, (method, params) => dispatch(ctx, method, params));
      opts.log({ event: 'rpc.request', status: out.status });
      if (out.body === null) reply(res, out.status, null);
      else reply(res, out.status, out.body, { 'Content-Type': 'application/json' });
    });
  };

  const server: Server = createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

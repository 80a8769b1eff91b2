/**
 * The JSON-RPC envelope as Core v28 handles it (src/httprpc.cpp HTTPReq_JSONRPC,
 * src/rpc/request.cpp JSONRPCRequest::parse and JSONRPCReplyObj, doc/JSON-RPC-interface.md):
 * - 1.0/1.1 ("legacy", no "jsonrpc" key or "jsonrpc": "1.0"): the reply has both "result" and
 *   "error"; an error is an HTTP error: 400 for -32600, 404 for -32601, 500 otherwise;
 * - 2.0 ("jsonrpc": "2.0"): HTTP 200 with either "result" or "error"; a request without "id" is a
 *   notification: executed, answered with 204 and no body;
 * - a batch (array) is always HTTP 200 with one reply per non-notification, or 204 when all are
 *   notifications; an empty batch answers [].
 * Bodies end with a newline, as Core's do.
 */
import { RPC, RpcError } from './errors.js';
import { type JsonValue, writeJson } from './json.js';

export interface HttpReply {
  readonly status: number;
  /** null for 204 No Content. */
  readonly body: string | null;
}

export type Executor = (method: string, params: unknown) => JsonValue;

interface JsonRpcRequestState {
  /** `undefined` = the request had no "id" key; Core starts with a null id before parsing. */
  id: JsonValue | undefined;
  version: 'v1' | 'v2';
  method: string;
  params: unknown;
}

function replyObject(
  result: JsonValue,
  error: JsonValue,
  req: JsonRpcRequestState,
): Record<string, JsonValue> {
  const reply: Record<string, JsonValue> = {};
  if (req.version === 'v2') reply.jsonrpc = '2.0';
  if (error === null) {
    reply.result = result;
    if (req.version === 'v1') reply.error = null;
  } else {
    if (req.version === 'v1') reply.result = null;
    reply.error = error;
  }
  if (req.id !== undefined) reply.id = req.id;
  return reply;
}

function errorObject(code: number, message: string): JsonValue {
  return { code, message };
}

function asError(err: unknown, fallbackCode: number): { code: number; message: string } {
  if (err instanceof RpcError) return { code: err.code, message: err.message };
  return { code: fallbackCode, message: err instanceof Error ? err.message : String(err) };
}

/** JSONRPCRequest::parse: updates `req` in place (id and version first, as Core does). */
function parseRequest(value: unknown, req: JsonRpcRequestState): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RpcError(RPC.INVALID_REQUEST, 'Invalid Request object');
  }
  const obj = value as Record<string, unknown>;
  req.id = Object.hasOwn(obj, 'id') ? (obj.id as JsonValue) : undefined;
  req.version = 'v1';
  const version = obj.jsonrpc;
  if (version !== undefined && version !== null) {
    if (typeof version !== 'string')
      throw new RpcError(RPC.INVALID_REQUEST, 'jsonrpc field must be a string');
    if (version === '2.0') req.version = 'v2';
    else if (version !== '1.0')
      throw new RpcError(RPC.INVALID_REQUEST, 'JSON-RPC version not supported');
  }
  const method = obj.method;
  if (method === undefined || method === null)
    throw new RpcError(RPC.INVALID_REQUEST, 'Missing method');
  if (typeof method !== 'string')
    throw new RpcError(RPC.INVALID_REQUEST, 'Method must be a string');
  req.method = method;
  const params = obj.params;
  if (params === undefined || params === null) req.params = [];
  else if (typeof params === 'object') req.params = params;
  else throw new RpcError(RPC.INVALID_REQUEST, 'Params must be an array or object');
}

const isNotification = (req: JsonRpcRequestState): boolean =>
  req.id === undefined && req.version === 'v2';

/** JSONRPCExec: the reply object; with `catchErrors` a failure becomes an error reply. */
function exec(
  req: JsonRpcRequestState,
  run: Executor,
  catchErrors: boolean,
): Record<string, JsonValue> {
  if (!catchErrors) return replyObject(run(req.method, req.params), null, req);
  try {
    return replyObject(run(req.method, req.params), null, req);
  } catch (err) {
    const e = asError(err, RPC.MISC_ERROR);
    return replyObject(null, errorObject(e.code, e.message), req);
  }
}

function errorReply(err: unknown, req: JsonRpcRequestState): HttpReply {
  const e = asError(err, RPC.PARSE_ERROR);
  const status = e.code === RPC.INVALID_REQUEST ? 400 : e.code === RPC.METHOD_NOT_FOUND ? 404 : 500;
  return { status, body: `${writeJson(replyObject(null, errorObject(e.code, e.message), req))}\n` };
}

/** One HTTP request body → the HTTP status and body Core would send. */
export function handleJsonRpcBody(body: string, run: Executor): HttpReply {
  const req: JsonRpcRequestState = { id: null, version: 'v1', method: '', params: [] };
  try {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      throw new RpcError(RPC.PARSE_ERROR, 'Parse error');
    }
    if (Array.isArray(value)) {
      const replies: JsonValue[] = [];
      for (const item of value) {
        let reply: Record<string, JsonValue>;
        try {
          parseRequest(item, req);
          reply = exec(req, run, true);
        } catch (err) {
          const e = asError(err, RPC.PARSE_ERROR);
          reply = replyObject(null, errorObject(e.code, e.message), req);
        }
        if (!isNotification(req)) replies.push(reply);
      }
      if (replies.length === 0 && value.length > 0) return { status: 204, body: null };
      return { status: 200, body: `${writeJson(replies)}\n` };
    }
    if (typeof value === 'object' && value !== null) {
      parseRequest(value, req);
      const reply = exec(req, run, req.version === 'v2');
      if (isNotification(req)) return { status: 204, body: null };
      return { status: 200, body: `${writeJson(reply)}\n` };
    }
    throw new RpcError(RPC.PARSE_ERROR, 'Top-level object parse error');
  } catch (err) {
    return errorReply(err, req);
  }
}

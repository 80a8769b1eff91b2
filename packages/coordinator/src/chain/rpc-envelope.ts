/**
 * JSON-RPC reply envelopes as Bitcoin Core writes them (2.0: `result` xor `error`; legacy 1.x:
 * both, one null), the mapping of an `error` to a CoordinatorError (rpc-errors.ts), and the
 * result check against a call's schema.
 */
import { utf8 } from '@scure/base';
import type { z } from 'zod';
import { CoordinatorError } from '../errors.js';
import {
  CORE_RPC_ERRORS,
  type CoreErrorClass,
  coordinatorCodeFor,
  coreErrorClass,
} from './rpc-errors.js';
import type { RpcCall } from './rpc-schemas.js';

export interface Envelope {
  readonly id: unknown;
  readonly result: unknown;
  readonly error: { readonly code: number; readonly message: string } | null;
}

/** The CoordinatorError for a Core error answer (never called for -28). */
export function rpcError(method: string, code: number, message: string): CoordinatorError {
  const klass: CoreErrorClass = coreErrorClass(code);
  const name = CORE_RPC_ERRORS[code]?.name ?? 'unknown code';
  const detail: Record<string, unknown> = { method, rpcCode: code, rpcMessage: message };
  if (klass === 'rejected' || klass === 'already_in_chain') detail.rejectReason = message;
  if (klass === 'already_in_chain') detail.alreadyInChain = true;
  return new CoordinatorError(
    coordinatorCodeFor(klass),
    `rpc/${method}: expected a result, got Core error ${code} (${name}): ${message}`,
    detail,
  );
}

export function readEnvelope(json: unknown, where: string): Envelope {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw badResponse(where, 'a JSON-RPC reply object', describe(json));
  }
  const o = json as Record<string, unknown>;
  const error = o.error;
  if (error !== undefined && error !== null) {
    const e = error as Record<string, unknown>;
    if (typeof error !== 'object' || !Number.isInteger(e.code) || typeof e.message !== 'string') {
      throw badResponse(where, 'error {code: integer, message: string}', describe(error));
    }
    return { id: o.id, result: undefined, error: { code: e.code as number, message: e.message } };
  }
  if (!('result' in o)) throw badResponse(where, 'a reply with result or error', 'neither');
  return { id: o.id, result: o.result, error: null };
}

export function isErrorEnvelope(json: unknown): boolean {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
  const error = (json as Record<string, unknown>).error;
  return typeof error === 'object' && error !== null;
}

export function parseResult<T>(c: RpcCall<T>, result: unknown, where: string): T {
  const parsed = (c.schema as z.ZodType<T>).safeParse(result);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined ? '' : issue.path.join('.');
    throw badResponse(
      where,
      `a result of Core's documented shape`,
      `${path === '' ? '' : `${path}: `}${issue?.message ?? 'a mismatch'}`,
    );
  }
  return parsed.data;
}

export function parseJson(body: Uint8Array): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(utf8.encode(body));
  } catch {
    return undefined;
  }
}

/** A short printable excerpt of a non-JSON body for a message. */
export function snippet(body: Uint8Array): string {
  const text = utf8.encode(body.subarray(0, 200)).replace(/[^\x20-\x7e]/g, '?');
  return text === '' ? '' : `(${JSON.stringify(text)})`;
}

function describe(x: unknown): string {
  if (Array.isArray(x)) return 'an array';
  if (x === null) return 'null';
  return typeof x;
}

export function badResponse(
  where: string,
  expected: string,
  got: string,
  detail: Record<string, unknown> = {},
): CoordinatorError {
  return new CoordinatorError(
    'CHAIN_BAD_RESPONSE',
    `${where}: expected ${expected}, got ${got}`,
    detail,
  );
}

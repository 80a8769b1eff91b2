/**
 * Argument checks shared by the backends: the caller's values are checked before any request
 * leaves, so a malformed hash or height is BAD_REQUEST (the caller's fault), never a node error.
 */
import type { z } from 'zod';
import { CoordinatorError } from '../errors.js';

const HASH = /^[0-9a-f]{64}$/;
/** Core's estimatesmartfee accepts 1..1008 (MAX_CONFIRMATION_TARGET in its fee estimator). */
export const MAX_FEE_TARGET = 1008;
/** A standard transaction is at most 400 000 weight units, so at most 400 000 bytes. */
export const MAX_TX_BYTES = 400_000;

export function checkHash(value: unknown, what: string, where: string): string {
  if (typeof value !== 'string' || !HASH.test(value)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${where}: expected ${what} as 64 lowercase hex digits, got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value}`,
    );
  }
  return value;
}

export function checkHeight(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${where}: expected a block height 0..2^31-1, got ${String(value)}`,
    );
  }
  return value;
}

export function checkFeeTarget(value: unknown, where: string): number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 1 ||
    value > MAX_FEE_TARGET
  ) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${where}: expected a confirmation target 1..${MAX_FEE_TARGET} blocks, got ${String(value)}`,
    );
  }
  return value;
}

export function checkRaw(value: unknown, where: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length === 0 || value.length > MAX_TX_BYTES) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${where}: expected a serialized transaction of 1..${MAX_TX_BYTES} bytes, got ${value instanceof Uint8Array ? `${value.length} bytes` : typeof value}`,
    );
  }
  return value;
}

/** Paths and messages of the first config issues; never the values (a password must not leak). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

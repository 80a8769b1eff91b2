/**
 * Conditions the follower must not retry: it stops and reports them (docs/gateway.md §6).
 * Every other error (backend down, bad response, handler or store failure) is retried with
 * backoff. A fatal error is a CoordinatorError with `detail.fatal === true` and a `reason`.
 */
import { CoordinatorError, type CoordinatorErrorCode, isCoordinatorError } from '../errors.js';

export type FatalReason =
  /** The active chain forked below the oldest block the gateway keeps. */
  | 'reorg_too_deep'
  /** The stored cursor is malformed or not a linked chain of blocks. */
  | 'bad_cursor'
  /** The stored cursor changed under the follower (another writer, or a lost commit). */
  | 'cursor_moved'
  /** The backend runs another network than the configured one. */
  | 'wrong_network';

export function gatewayFatal(
  code: CoordinatorErrorCode,
  reason: FatalReason,
  message: string,
  detail: Record<string, unknown> = {},
): CoordinatorError {
  return new CoordinatorError(code, message, { ...detail, fatal: true, reason });
}

export function isGatewayFatal(e: unknown): e is CoordinatorError {
  return isCoordinatorError(e) && e.detail.fatal === true;
}

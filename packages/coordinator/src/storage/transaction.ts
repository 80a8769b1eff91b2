/**
 * `withTransaction`: run a function in one database transaction, commit when it returns,
 * roll back everything when it throws. On PostgreSQL the isolation level is chosen per call
 * (SERIALIZABLE by default) and a serialization failure (SQLSTATE 40001) or a deadlock (40P01)
 * re-runs the whole function, a bounded number of times. On SQLite every transaction is
 * BEGIN IMMEDIATE (see database.ts), which is serializable by construction.
 *
 * The function may run more than once: it must have no side effect outside the transaction.
 */
import BetterSqlite3 from 'better-sqlite3';
import type { Kysely, Transaction } from 'kysely';
import pg from 'pg';
import { CoordinatorError } from '../errors.js';
import { backendOf } from './backend.js';
import type { Schema } from './schema.js';

export type Isolation = 'read committed' | 'serializable';

export interface TransactionOptions {
  /** PostgreSQL only (SQLite is always serializable). Default 'serializable'. */
  readonly isolation?: Isolation;
  /** Attempts in all, 1..10. Default 5. */
  readonly maxAttempts?: number;
}

export const DEFAULT_MAX_ATTEMPTS = 5;
const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set(['40001', '40P01']);
const MAX_CAUSE_DEPTH = 8;

/** The SQLSTATE of a PostgreSQL error, looked for along the `cause` chain. */
function sqlState(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < MAX_CAUSE_DEPTH && e instanceof Error; i++) {
    if (e instanceof pg.DatabaseError) return e.code;
    e = e.cause;
  }
  return undefined;
}

export function isRetryableConflict(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && RETRYABLE_SQLSTATES.has(state);
}

/** A failure of the database or the connection to it (not of the caller's code). */
export function isDatabaseFailure(err: unknown): boolean {
  if (err instanceof pg.DatabaseError || err instanceof BetterSqlite3.SqliteError) return true;
  return err instanceof Error && typeof (err as { syscall?: unknown }).syscall === 'string';
}

/** Wrap a driver error as STORAGE; leave CoordinatorErrors and programming errors as they are. */
export function toStorageError(place: string, err: unknown): unknown {
  if (err instanceof CoordinatorError || !isDatabaseFailure(err)) return err;
  const code = (err as { code?: unknown }).code;
  return new CoordinatorError(
    'STORAGE',
    `${place}: expected the database to accept the statement, got ${typeof code === 'string' ? code : 'an error'}`,
    typeof code === 'string' ? { dbCode: code } : {},
    { cause: err },
  );
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function withTransaction<T>(
  db: Kysely<Schema>,
  fn: (trx: Transaction<Schema>) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const place = 'storage/withTransaction';
  const isolation = options.isolation ?? 'serializable';
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (isolation !== 'serializable' && isolation !== 'read committed') {
    throw new CoordinatorError(
      'INTERNAL',
      `${place}: expected isolation 'serializable' or 'read committed', got ${String(isolation)}`,
    );
  }
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 10) {
    throw new CoordinatorError(
      'INTERNAL',
      `${place}: expected maxAttempts an integer in 1..10, got ${String(maxAttempts)}`,
    );
  }
  if (db.isTransaction) {
    throw new CoordinatorError(
      'INTERNAL',
      `${place}: expected a database handle, got a transaction (nesting is not supported)`,
    );
  }
  const postgres = backendOf(db) === 'postgres';
  for (let attempt = 1; ; attempt++) {
    try {
      const builder = postgres ? db.transaction().setIsolationLevel(isolation) : db.transaction();
      return await builder.execute(fn);
    } catch (err) {
      if (!(postgres && isRetryableConflict(err))) throw toStorageError(place, err);
      if (attempt >= maxAttempts) {
        throw new CoordinatorError(
          'STORAGE',
          `${place}: expected to commit within ${maxAttempts} attempts, got a serialization conflict each time`,
          { attempts: maxAttempts, dbCode: sqlState(err) },
          { cause: err },
        );
      }
      // Linear back-off, deterministic: lets the winner of the conflict finish first.
      await sleep(attempt * 10);
    }
  }
}

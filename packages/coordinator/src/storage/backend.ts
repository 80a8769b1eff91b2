/**
 * Which backend a Kysely instance (or transaction) talks to, read from its dialect adapter, so
 * that the one query layer can take the few dialect-specific steps (row locks, DDL types).
 */
import { type Kysely, PostgresAdapter, SqliteAdapter } from 'kysely';
import { CoordinatorError } from '../errors.js';

export type Backend = 'sqlite' | 'postgres';

export function backendOf(db: Pick<Kysely<unknown>, 'getExecutor'>): Backend {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof PostgresAdapter) return 'postgres';
  if (adapter instanceof SqliteAdapter) return 'sqlite';
  throw new CoordinatorError(
    'INTERNAL',
    `storage/backend: expected a SQLite or PostgreSQL Kysely instance, got adapter ${adapter.constructor.name}`,
  );
}

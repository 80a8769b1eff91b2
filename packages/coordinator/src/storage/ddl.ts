/**
 * The column types every migration uses, per backend: BIGINT / BYTEA / identity on PostgreSQL,
 * INTEGER / BLOB / rowid in STRICT tables on SQLite, so that an integer column can never hold a
 * float or text on either. (0001 keeps its own copy: a shipped migration is never edited.)
 */
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { backendOf } from './backend.js';

export interface Ddl {
  readonly pg: boolean;
  readonly int: 'bigint' | 'integer';
  readonly bytes: 'bytea' | 'blob';
  /** Table suffix: `strict` on SQLite, nothing on PostgreSQL. */
  readonly strict: RawBuilder<unknown>;
  /** An identity primary key column. */
  readonly id: RawBuilder<unknown>;
}

export function ddlFor(db: Kysely<unknown>): Ddl {
  const pg = backendOf(db) === 'postgres';
  return {
    pg,
    int: pg ? 'bigint' : 'integer',
    bytes: pg ? 'bytea' : 'blob',
    strict: pg ? sql`` : sql`strict`,
    id: pg
      ? sql`bigint generated always as identity primary key`
      : sql`integer primary key autoincrement`,
  };
}

/** `column in ('a', 'b', ...)` for a CHECK constraint. */
export const inList = (column: string, values: readonly string[]) =>
  sql`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`;

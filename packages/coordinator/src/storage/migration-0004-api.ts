/**
 * Migration 0004: tables of the HTTP API (API keys, hashed, with roles). Same conventions as
 * 0001: BIGINT/BYTEA/identity on PostgreSQL, INTEGER/BLOB/rowid in STRICT tables on SQLite.
 * See docs/api.md §Keys.
 */
import { type Kysely, sql } from 'kysely';
import { ddlFor } from './ddl.js';
import { API_KEY_HASH_BYTES, API_KEY_ROLES } from './schema-api.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const { int, bytes, strict, id } = ddlFor(db);
  const roles = sql.join(API_KEY_ROLES.map((r) => sql.lit(r)));
  const hashLength = sql.lit(API_KEY_HASH_BYTES);

  await db.schema
    .createTable('api_keys')
    .addColumn('id', sql`${id}`)
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('key_hash', bytes, (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('revoked_at', int)
    .addCheckConstraint('api_keys_name_length', sql`length(name) between 1 and 64`)
    .addCheckConstraint('api_keys_role_known', sql`role in (${roles})`)
    .addCheckConstraint('api_keys_hash_length', sql`length(key_hash) = ${hashLength}`)
    .addCheckConstraint(
      'api_keys_revoked_after_created',
      sql`revoked_at is null or revoked_at >= created_at`,
    )
    .addUniqueConstraint('api_keys_key_hash_unique', ['key_hash'])
    .modifyEnd(strict)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('api_keys').execute();
}

/**
 * The one ordered set of migrations for both backends, applied by Kysely's Migrator from an
 * in-code provider (no files read at run time). `openDatabase` runs `migrate` at open; the CLI
 * calls it too. Kysely takes a lock while migrating (an advisory lock on PostgreSQL), so two
 * coordinator instances starting together do not both apply a migration, and it refuses a
 * database that has executed a migration this build does not know (a newer schema).
 */
import type { Kysely } from 'kysely';
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration';
import { CoordinatorError } from '../errors.js';
import { backendOf } from './backend.js';
import * as m0001 from './migration-0001-initial.js';
import * as m0002 from './migration-0002-vault.js';
import * as m0003 from './migration-0003-signing.js';
import * as m0004 from './migration-0004-api.js';
import type { Schema } from './schema.js';

/** Names sort in application order: `NNNN_what`. Frozen: a shipped migration never changes. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_initial': Object.freeze({ up: m0001.up, down: m0001.down }),
  '0002_vault': Object.freeze({ up: m0002.up, down: m0002.down }),
  '0003_signing': Object.freeze({ up: m0003.up, down: m0003.down }),
  '0004_api': Object.freeze({ up: m0004.up, down: m0004.down }),
});

const provider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};

export interface MigrateResult {
  /** Names of the migrations this call applied, in order (empty when already up to date). */
  readonly applied: readonly string[];
}

/**
 * Bring the schema to the latest migration. Idempotent. On PostgreSQL the bookkeeping tables go
 * into the connection's current schema (explicitly, so that another schema on the search path
 * holding Kysely's tables is never mistaken for ours).
 */
export async function migrate(db: Kysely<Schema>): Promise<MigrateResult> {
  let migrationTableSchema: string | undefined;
  try {
    if (backendOf(db) === 'postgres') {
      const row = await db
        .selectNoFrom((eb) => eb.fn<string>('current_schema').as('schema'))
        .executeTakeFirst();
      migrationTableSchema = row?.schema ?? undefined;
      if (migrationTableSchema === undefined) {
        throw new CoordinatorError(
          'STORAGE',
          'storage/migrate: expected a current schema on the search path, got none',
        );
      }
    }
  } catch (err) {
    if (err instanceof CoordinatorError) throw err;
    throw new CoordinatorError(
      'STORAGE',
      'storage/migrate: expected a reachable database, got an error',
      {},
      {
        cause: err,
      },
    );
  }
  const migrator = new Migrator({
    db,
    provider,
    ...(migrationTableSchema === undefined ? {} : { migrationTableSchema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new CoordinatorError(
      'STORAGE',
      `storage/migrate: expected every migration to apply, got a failure${failed === undefined ? '' : ` in ${failed}`}`,
      failed === undefined ? {} : { migration: failed },
      { cause: error },
    );
  }
  return Object.freeze({
    applied: Object.freeze(
      (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName),
    ),
  });
}

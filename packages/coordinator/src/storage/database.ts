/**
 * Opening the coordinator's database: SQLite (embedded default, one file in the data directory)
 * or PostgreSQL (production, several coordinator instances). Both give the same typed
 * `Kysely<Schema>`, with every integer column read back as a `bigint`, and both are migrated to
 * the latest schema before `openDatabase` returns.
 */
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';
import pg from 'pg';
import { z } from 'zod';
import { CoordinatorError } from '../errors.js';
import type { Backend } from './backend.js';
import { migrate } from './migrations.js';
import type { Schema } from './schema.js';

/** PostgreSQL's type id of `int8` / BIGINT. */
const PG_INT8_OID = 20;
/** A schema name we interpolate into `search_path`: a plain lowercase identifier only. */
const PG_SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export const databaseConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('sqlite'),
    path: z.string().min(1).max(4096),
    busyTimeoutMs: z.number().int().min(0).max(600_000).optional(),
  }),
  z.strictObject({
    kind: z.literal('postgres'),
    url: z.string().regex(/^postgres(ql)?:\/\//),
    schema: z.string().regex(PG_SCHEMA_NAME).optional(),
    maxConnections: z.number().int().min(1).max(1000).optional(),
  }),
]);

export type DatabaseConfig = z.input<typeof databaseConfigSchema>;

export interface Database {
  readonly backend: Backend;
  readonly db: Kysely<Schema>;
  /** Closes the file or drains the pool. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5_000;

/**
 * Every SQLite transaction starts with BEGIN IMMEDIATE: it takes the database's single writer
 * lock at the start, so a read-check-write inside the transaction (a balance check before a
 * debit) cannot be interleaved with another writer, in this process or another. Kysely already
 * serialises this process's use of the one connection; the lock covers other processes.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): SqliteDriver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

function storageError(place: string, expected: string, err: unknown): CoordinatorError {
  if (err instanceof CoordinatorError) return err;
  return new CoordinatorError(
    'STORAGE',
    `${place}: expected ${expected}, got an error`,
    {},
    {
      cause: err,
    },
  );
}

function openSqlite(path: string, busyTimeoutMs: number): Kysely<Schema> {
  let file: BetterSqlite3.Database | undefined;
  try {
    file = new BetterSqlite3(path);
    // Integers come back as bigint from every statement Kysely prepares on this handle.
    file.defaultSafeIntegers(true);
    file.pragma(`busy_timeout = ${busyTimeoutMs}`);
    const mode = file.pragma('journal_mode = WAL', { simple: true });
    file.pragma('synchronous = FULL');
    file.pragma('foreign_keys = ON');
    const inMemory = path === ':memory:';
    if (mode !== (inMemory ? 'memory' : 'wal')) {
      throw new CoordinatorError(
        'STORAGE',
        `storage/open: expected journal_mode wal, got ${String(mode)}`,
      );
    }
    if (file.pragma('synchronous', { simple: true }) !== 2n) {
      throw new CoordinatorError('STORAGE', 'storage/open: expected synchronous=FULL, got another');
    }
    if (file.pragma('foreign_keys', { simple: true }) !== 1n) {
      throw new CoordinatorError('STORAGE', 'storage/open: expected foreign_keys=ON, got OFF');
    }
  } catch (err) {
    file?.close();
    throw storageError('storage/open', `a usable SQLite file at the given path`, err);
  }
  return new Kysely<Schema>({ dialect: new ImmediateSqliteDialect({ database: file }) });
}

function openPostgres(url: string, schema: string | undefined, max: number): Kysely<Schema> {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    // Only this pool's connections parse int8 as bigint; the process-wide pg.types stay as is.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === PG_INT8_OID
          ? (value: string) => BigInt(value)
          : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
    },
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle connection dropped by the server is removed by the pool; without a listener the
  // 'error' event would crash the process. The next query opens a fresh connection.
  pool.on('error', () => undefined);
  return new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
}

/** Open (creating if needed) and migrate the database described by `config`. */
export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  const parsed = databaseConfigSchema.safeParse(config);
  if (!parsed.success) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `storage/open: expected {kind:'sqlite', path} or {kind:'postgres', url, schema?}, got ${parsed.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    );
  }
  const c = parsed.data;
  const db =
    c.kind === 'sqlite'
      ? openSqlite(c.path, c.busyTimeoutMs ?? DEFAULT_SQLITE_BUSY_TIMEOUT_MS)
      : openPostgres(c.url, c.schema, c.maxConnections ?? 10);
  try {
    await migrate(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw storageError('storage/open', 'the database to migrate', err);
  }
  let closed: Promise<void> | undefined;
  return Object.freeze({
    backend: c.kind,
    db,
    close: () => {
      closed ??= db.destroy();
      return closed;
    },
  });
}

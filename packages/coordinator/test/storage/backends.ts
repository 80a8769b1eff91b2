/**
 * The two backends every storage test runs against. SQLite: a fresh file in a temp directory.
 * PostgreSQL: a fresh schema `keyline_test_<random>` at PG_URL, dropped at the end, so parallel
 * runs never collide. If PostgreSQL is unreachable, setup throws and the tests FAIL (no skip).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Database, openDatabase } from '../../src/storage/database.js';

export const PG_URL = process.env.KEYLINE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestBackend {
  readonly name: 'sqlite' | 'postgres';
  /** Open the backend's database (another handle on the same data when called again). */
  open(): Promise<Database>;
  /** Remove everything the backend created. */
  cleanup(): Promise<void>;
}

export function sqliteBackend(): TestBackend {
  const dir = mkdtempSync(join(tmpdir(), 'keyline-storage-'));
  const path = join(dir, 'coordinator.sqlite');
  return {
    name: 'sqlite',
    open: () => openDatabase({ kind: 'sqlite', path }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function postgresBackend(): Promise<TestBackend> {
  const schema = `keyline_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`create schema ${schema}`);
  } finally {
    await admin.end();
  }
  return {
    name: 'postgres',
    open: () => openDatabase({ kind: 'postgres', url: PG_URL, schema }),
    cleanup: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`drop schema ${schema} cascade`);
      } finally {
        await c.end();
      }
    },
  };
}

export const BACKENDS = [
  { name: 'sqlite', make: async () => sqliteBackend() },
  { name: 'postgres', make: postgresBackend },
] as const;

let counter = 0;
/** A name unique within this run, for owners and references. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${randomBytes(3).toString('hex')}`;
}

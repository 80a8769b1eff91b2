import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import type { Database } from '../../src/storage/database.js';
import { withTransaction } from '../../src/storage/transaction.js';
import { BACKENDS, type TestBackend } from './backends.js';

const catchErr = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

function serializationFailure(): pg.DatabaseError {
  const e = new pg.DatabaseError('could not serialize access', 0, 'error');
  e.code = '40001';
  return e;
}

describe.each(BACKENDS)('withTransaction on $name', ({ name, make }) => {
  let backend: TestBackend;
  let database: Database;
  beforeAll(async () => {
    backend = await make();
    database = await backend.open();
  });
  afterAll(async () => {
    await database?.close();
    await backend?.cleanup();
  });

  const countEvents = async (kind: string) =>
    (await database.db.selectFrom('events').select('id').where('kind', '=', kind).execute()).length;

  it('commits what the function wrote and returns its value', async () => {
    const v = await withTransaction(database.db, async (trx) => {
      await trx
        .insertInto('events')
        .values({ kind: 'tx-commit', payload: '{}', created_at: 1n, delivered_at: null })
        .execute();
      return 42;
    });
    expect(v).toBe(42);
    expect(await countEvents('tx-commit')).toBe(1);
  });

  it('rolls back everything when the function throws, and rethrows its error', async () => {
    const boom = new Error('boom');
    const err = await catchErr(
      withTransaction(database.db, async (trx) => {
        await trx
          .insertInto('events')
          .values({ kind: 'tx-rollback', payload: '{}', created_at: 1n, delivered_at: null })
          .execute();
        throw boom;
      }),
    );
    expect(err).toBe(boom);
    expect(await countEvents('tx-rollback')).toBe(0);
  });

  it('wraps a database failure as STORAGE and rolls back', async () => {
    const err = await catchErr(
      withTransaction(database.db, async (trx) => {
        await trx
          .insertInto('events')
          .values({ kind: 'tx-dbfail', payload: '{}', created_at: 1n, delivered_at: null })
          .execute();
        // Violates NOT NULL.
        await trx
          .insertInto('events')
          .values({ kind: 'tx-dbfail', payload: null as never, created_at: 1n, delivered_at: null })
          .execute();
      }),
    );
    expect(isCoordinatorError(err, 'STORAGE')).toBe(true);
    expect(await countEvents('tx-dbfail')).toBe(0);
  });

  it('refuses nesting and bad options', async () => {
    const nested = await catchErr(
      withTransaction(database.db, (trx) => withTransaction(trx, async () => 1)),
    );
    expect(isCoordinatorError(nested, 'INTERNAL')).toBe(true);
    for (const options of [{ maxAttempts: 0 }, { maxAttempts: 11 }, { isolation: 'dirty' }]) {
      const err = await catchErr(withTransaction(database.db, async () => 1, options as never));
      expect(isCoordinatorError(err, 'INTERNAL')).toBe(true);
    }
  });

  it.runIf(name === 'postgres')('retries a serialization failure, then succeeds', async () => {
    let runs = 0;
    const v = await withTransaction(database.db, async (trx) => {
      runs += 1;
      await trx
        .insertInto('events')
        .values({ kind: 'tx-retry', payload: '{}', created_at: 1n, delivered_at: null })
        .execute();
      if (runs < 3) throw serializationFailure();
      return runs;
    });
    expect(v).toBe(3);
    // Only the last attempt's write survived.
    expect(await countEvents('tx-retry')).toBe(1);
  });

  it.runIf(name === 'postgres')('gives up after maxAttempts with STORAGE', async () => {
    let runs = 0;
    const err = await catchErr(
      withTransaction(
        database.db,
        async () => {
          runs += 1;
          throw serializationFailure();
        },
        { maxAttempts: 3 },
      ),
    );
    expect(runs).toBe(3);
    expect(isCoordinatorError(err, 'STORAGE')).toBe(true);
  });

  it.runIf(name === 'sqlite')('does not retry on SQLite (it never reports 40001)', async () => {
    let runs = 0;
    const err = await catchErr(
      withTransaction(database.db, async () => {
        runs += 1;
        throw serializationFailure();
      }),
    );
    expect(runs).toBe(1);
    expect(isCoordinatorError(err, 'STORAGE')).toBe(true);
  });
});

import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import { type Database, openDatabase } from '../../src/storage/database.js';
import { migrate } from '../../src/storage/migrations.js';
import { BACKENDS, PG_URL, type TestBackend, unique } from './backends.js';

const TWO_53_PLUS_1 = 2n ** 53n + 1n;
const MAX_MONEY = 2_100_000_000_000_000n;

describe.each(BACKENDS)('storage database on $name', ({ make }) => {
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

  it('creates every table at open', async () => {
    const tables = (await database.db.introspection.getTables()).map((t) => t.name).sort();
    expect(tables).toEqual(
      expect.arrayContaining([
        'accounts',
        'deposits',
        'events',
        'journal_entries',
        'postings',
        'withdrawals',
      ]),
    );
  });

  it('migrations are idempotent: migrate twice and reopen apply nothing more', async () => {
    expect((await migrate(database.db)).applied).toEqual([]);
    expect((await migrate(database.db)).applied).toEqual([]);
    const again = await backend.open();
    try {
      expect((await migrate(again.db)).applied).toEqual([]);
    } finally {
      await again.close();
    }
  });

  it('round-trips 2^53+1 and 21e14 exactly as bigint', async () => {
    const now = 1_700_000_000_000n;
    await database.db
      .insertInto('events')
      .values({ kind: 'probe', payload: '{}', created_at: TWO_53_PLUS_1, delivered_at: null })
      .execute();
    const ev = await database.db
      .selectFrom('events')
      .select(['id', 'created_at'])
      .where('kind', '=', 'probe')
      .executeTakeFirstOrThrow();
    expect(typeof ev.id).toBe('bigint');
    expect(ev.created_at).toBe(TWO_53_PLUS_1);

    const txid = 'ab'.repeat(32);
    await database.db
      .insertInto('deposits')
      .values({
        txid,
        vout: 4_294_967_295n,
        user_id: 'u',
        asset: 'BTC',
        amount: MAX_MONEY,
        confirmations: 0n,
        state: 'seen',
        created_at: now,
        updated_at: now,
      })
      .execute();
    const dep = await database.db
      .selectFrom('deposits')
      .select(['amount', 'vout', 'confirmations'])
      .where('txid', '=', txid)
      .executeTakeFirstOrThrow();
    expect(dep.amount).toBe(MAX_MONEY);
    expect(dep.vout).toBe(4_294_967_295n);
    expect(dep.confirmations).toBe(0n);
    // An arithmetic result computed by the database comes back as bigint too.
    const r = await sql<{ v: bigint }>`select cast(${TWO_53_PLUS_1} as bigint) + 1 as v`.execute(
      database.db,
    );
    expect(r.rows[0]?.v).toBe(TWO_53_PLUS_1 + 1n);
  });

  it('refuses a float or text bound into an amount column (attack: fractional satoshis)', async () => {
    for (const bad of [1.5, 0.1, '12abc', '1.5']) {
      await expect(
        database.db
          .insertInto('deposits')
          .values({
            txid: 'cd'.repeat(32),
            vout: 0n,
            user_id: 'u',
            asset: 'BTC',
            amount: bad as never,
            confirmations: 0n,
            state: 'seen',
            created_at: 1n,
            updated_at: 1n,
          })
          .execute(),
        String(bad),
      ).rejects.toThrow();
    }
  });

  it('refuses a posting whose asset differs from its account (schema-level guard)', async () => {
    const acc = await database.db
      .insertInto('accounts')
      .values({ kind: 'fees', owner: unique('o'), asset: 'BTC', created_at: 1n })
      .returning('id')
      .executeTakeFirstOrThrow();
    const entry = await database.db
      .insertInto('journal_entries')
      .values({ kind: 'probe', reference: unique('r'), created_at: 1n })
      .returning('id')
      .executeTakeFirstOrThrow();
    await expect(
      database.db
        .insertInto('postings')
        .values({ entry_id: entry.id, account_id: acc.id, asset: 'LTC', amount: 1n })
        .execute(),
    ).rejects.toThrow();
    await expect(
      database.db
        .insertInto('postings')
        .values({ entry_id: entry.id, account_id: acc.id, asset: 'BTC', amount: 0n })
        .execute(),
    ).rejects.toThrow();
  });
});

describe('storage database: configuration and backend specifics', () => {
  it('refuses a malformed configuration with BAD_CONFIG', async () => {
    for (const config of [
      { kind: 'mysql', url: 'x' },
      { kind: 'sqlite', path: '' },
      { kind: 'postgres', url: 'http://x' },
      { kind: 'postgres', url: PG_URL, schema: 'x; drop table accounts' },
      { kind: 'sqlite', path: 'a', extra: 1 },
    ]) {
      const err = await openDatabase(config as never).catch((e: unknown) => e);
      expect(isCoordinatorError(err, 'BAD_CONFIG'), JSON.stringify(config)).toBe(true);
    }
  });

  it('reports an unreachable PostgreSQL as STORAGE', async () => {
    const err = await openDatabase({
      kind: 'postgres',
      url: 'postgres://postgres@127.0.0.1:1/test',
    }).catch((e: unknown) => e);
    expect(isCoordinatorError(err, 'STORAGE')).toBe(true);
  });

  it('opens SQLite with WAL, synchronous=FULL and foreign keys on', async () => {
    const b = await BACKENDS[0].make();
    const d = await b.open();
    try {
      const get = async (p: string) => (await sql.raw(`pragma ${p}`).execute(d.db)).rows[0];
      expect(await get('journal_mode')).toEqual({ journal_mode: 'wal' });
      expect(await get('synchronous')).toEqual({ synchronous: 2n });
      expect(await get('foreign_keys')).toEqual({ foreign_keys: 1n });
      expect((await get('busy_timeout')) as unknown).toEqual({ timeout: 5000n });
    } finally {
      await d.close();
      await b.cleanup();
    }
  });

  it('parses int8 as bigint only on its own PostgreSQL pool', async () => {
    const b = await BACKENDS[1].make();
    const d = await b.open();
    const plain = new pg.Client({ connectionString: PG_URL });
    try {
      const ours = await sql<{ v: unknown }>`select cast(9007199254740993 as bigint) as v`.execute(
        d.db,
      );
      expect(ours.rows[0]?.v).toBe(TWO_53_PLUS_1);
      await plain.connect();
      const theirs = await plain.query('select 9007199254740993::int8 as v');
      expect(theirs.rows[0]?.v).toBe('9007199254740993');
    } finally {
      await plain.end();
      await d.close();
      await b.cleanup();
    }
  });
});

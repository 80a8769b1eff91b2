import { sql, type Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import type { Database } from '../../src/storage/database.js';
import {
  type Account,
  balance,
  balancesByUser,
  ensureAccount,
  type JournalEntryInput,
  postJournalEntry,
} from '../../src/storage/ledger.js';
import type { Schema } from '../../src/storage/schema.js';
import { withTransaction } from '../../src/storage/transaction.js';
import { BACKENDS, type TestBackend, unique } from './backends.js';

const AT = new Date(1_700_000_000_000);

const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 2));

const catchErr = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe.each(BACKENDS)('ledger on $name', ({ name, make }) => {
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

  /** PostgreSQL: is some backend of this database waiting for a row lock taken FOR UPDATE? */
  async function someoneWaitsForRowLock(): Promise<boolean> {
    const r = await sql<{ n: bigint }>`select count(*) as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'
      and query ilike '%for update%'`.execute(database.db);
    return (r.rows[0]?.n ?? 0n) > 0n;
  }

  const post = (entry: JournalEntryInput) =>
    withTransaction(database.db, (trx) => postJournalEntry(trx, entry));

  /** A fresh user account and an `external` counter-account, both BTC. */
  async function pair(): Promise<{ user: Account; ext: Account }> {
    const user = await ensureAccount(
      database.db,
      { kind: 'user', owner: unique('user'), asset: 'BTC' },
      AT,
    );
    const ext = await ensureAccount(
      database.db,
      { kind: 'external', owner: unique('chain'), asset: 'BTC' },
      AT,
    );
    return { user, ext };
  }

  async function fund(user: Account, ext: Account, amount: bigint): Promise<void> {
    await post({
      kind: 'deposit_credit',
      reference: unique('dep'),
      at: AT,
      postings: [
        { accountId: user.id, asset: 'BTC', amount },
        { accountId: ext.id, asset: 'BTC', amount: -amount },
      ],
    });
  }

  const debit = (user: Account, ext: Account, amount: bigint, reference = unique('wd')) => ({
    kind: 'withdrawal_debit',
    reference,
    at: AT,
    postings: [
      { accountId: user.id, asset: 'BTC', amount: -amount },
      { accountId: ext.id, asset: 'BTC', amount },
    ],
  });

  it('ensureAccount returns the same account for the same key', async () => {
    const key = { kind: 'user', owner: unique('u'), asset: 'BTC' } as const;
    const a = await ensureAccount(database.db, key, AT);
    const b = await ensureAccount(database.db, key, AT);
    expect(b.id).toBe(a.id);
    expect(typeof a.id).toBe('bigint');
  });

  it('posts a balanced entry and reports balances', async () => {
    const { user, ext } = await pair();
    await fund(user, ext, 150_000n);
    expect(await balance(database.db, user.id)).toBe(150_000n);
    expect(await balance(database.db, ext.id)).toBe(-150_000n);
    expect(await balancesByUser(database.db, user.owner)).toEqual([
      { accountId: user.id, asset: 'BTC', balance: 150_000n },
    ]);
    expect(await balancesByUser(database.db, unique('nobody'))).toEqual([]);
  });

  it('refuses an entry that does not sum to zero per asset (UNBALANCED_ENTRY)', async () => {
    const { user, ext } = await pair();
    const lUser = await ensureAccount(
      database.db,
      { kind: 'user', owner: user.owner, asset: 'LTC' },
      AT,
    );
    const lExt = await ensureAccount(
      database.db,
      { kind: 'external', owner: ext.owner, asset: 'LTC' },
      AT,
    );
    // Off by one satoshi.
    const e1 = await catchErr(
      post({
        kind: 'deposit_credit',
        reference: unique('r'),
        at: AT,
        postings: [
          { accountId: user.id, asset: 'BTC', amount: 100n },
          { accountId: ext.id, asset: 'BTC', amount: -99n },
        ],
      }),
    );
    expect(isCoordinatorError(e1, 'UNBALANCED_ENTRY')).toBe(true);
    // Sums to zero overall but not per asset: BTC +100 -100 -50, LTC +100 -50.
    const e2 = await catchErr(
      post({
        kind: 'deposit_credit',
        reference: unique('r'),
        at: AT,
        postings: [
          { accountId: user.id, asset: 'BTC', amount: 100n },
          { accountId: ext.id, asset: 'BTC', amount: -100n },
          { accountId: lUser.id, asset: 'LTC', amount: 100n },
          { accountId: lExt.id, asset: 'LTC', amount: -50n },
          { accountId: (await pair()).ext.id, asset: 'BTC', amount: -50n },
        ],
      }),
    );
    expect(isCoordinatorError(e2, 'UNBALANCED_ENTRY')).toBe(true);
    expect(await balance(database.db, user.id)).toBe(0n);
  });

  it('refuses to take a user balance below zero (INSUFFICIENT_FUNDS), leaves it intact', async () => {
    const { user, ext } = await pair();
    await fund(user, ext, 1_000n);
    const err = await catchErr(post(debit(user, ext, 1_001n)));
    expect(isCoordinatorError(err, 'INSUFFICIENT_FUNDS')).toBe(true);
    expect(await balance(database.db, user.id)).toBe(1_000n);
    await post(debit(user, ext, 1_000n));
    expect(await balance(database.db, user.id)).toBe(0n);
    // A user that never had funds cannot be debited at all.
    const other = await pair();
    const err2 = await catchErr(post(debit(other.user, other.ext, 1n)));
    expect(isCoordinatorError(err2, 'INSUFFICIENT_FUNDS')).toBe(true);
  });

  it('lets non-user accounts go negative (external is the counter-side of deposits)', async () => {
    const { user, ext } = await pair();
    await fund(user, ext, 5n);
    expect(await balance(database.db, ext.id)).toBe(-5n);
  });

  it('two transactions racing to debit one balance: exactly one wins, none overdraws', async () => {
    for (const isolation of ['read committed', 'serializable'] as const) {
      const { user, ext } = await pair();
      await fund(user, ext, 100n);
      let firstPosted: () => void = () => undefined;
      const posted = new Promise<void>((resolve) => {
        firstPosted = resolve;
      });
      let secondSettled = false;
      // The first transaction debits 60 and stays open until the second one has either finished
      // (no lock: it read the stale 100 and debited too) or is blocked on the account's row lock.
      const first = withTransaction(
        database.db,
        async (trx) => {
          const r = await postJournalEntry(trx, debit(user, ext, 60n));
          firstPosted();
          if (name === 'postgres') {
            while (!secondSettled && !(await someoneWaitsForRowLock())) await pause();
          }
          return r;
        },
        { isolation },
      );
      await posted;
      const second = withTransaction(
        database.db,
        (trx) => postJournalEntry(trx, debit(user, ext, 60n)),
        { isolation },
      ).finally(() => {
        secondSettled = true;
      });
      const results = await Promise.allSettled([first, second]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won.length, isolation).toBe(1);
      expect(lost.length).toBe(1);
      expect(
        isCoordinatorError((lost[0] as PromiseRejectedResult).reason, 'INSUFFICIENT_FUNDS'),
      ).toBe(true);
      expect(await balance(database.db, user.id)).toBe(40n);
    }
  });

  it('many concurrent debits never overdraw', async () => {
    const { user, ext } = await pair();
    await fund(user, ext, 1_000n);
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, () => post(debit(user, ext, 300n))),
    );
    const won = results.filter((r) => r.status === 'fulfilled').length;
    expect(won).toBe(3);
    for (const r of results) {
      if (r.status === 'rejected')
        expect(isCoordinatorError(r.reason, 'INSUFFICIENT_FUNDS')).toBe(true);
    }
    expect(await balance(database.db, user.id)).toBe(100n);
  });

  it('is idempotent per (kind, reference): same entry once, different entry DUPLICATE', async () => {
    const { user, ext } = await pair();
    const reference = unique('txid:0');
    const entry = {
      kind: 'deposit_credit',
      reference,
      at: AT,
      postings: [
        { accountId: user.id, asset: 'BTC', amount: 700n },
        { accountId: ext.id, asset: 'BTC', amount: -700n },
      ],
    };
    const first = await post(entry);
    expect(first.created).toBe(true);
    // Same postings in another order: the same entry, credited once.
    const again = await post({ ...entry, postings: [...entry.postings].reverse() });
    expect(again).toEqual({ entryId: first.entryId, created: false });
    expect(await balance(database.db, user.id)).toBe(700n);
    // Attack: re-credit the same deposit with a larger amount.
    const err = await catchErr(
      post({
        ...entry,
        postings: [
          { accountId: user.id, asset: 'BTC', amount: 7_000n },
          { accountId: ext.id, asset: 'BTC', amount: -7_000n },
        ],
      }),
    );
    expect(isCoordinatorError(err, 'DUPLICATE')).toBe(true);
    // The same reference under another kind is a different entry.
    expect((await post({ ...entry, kind: 'other_kind' })).created).toBe(true);
    expect(await balance(database.db, user.id)).toBe(1_400n);
  });

  it('a transaction that throws rolls back everything it wrote', async () => {
    const { user, ext } = await pair();
    const reference = unique('dep');
    const err = await catchErr(
      withTransaction(database.db, async (trx) => {
        await postJournalEntry(trx, {
          kind: 'deposit_credit',
          reference,
          at: AT,
          postings: [
            { accountId: user.id, asset: 'BTC', amount: 10n },
            { accountId: ext.id, asset: 'BTC', amount: -10n },
          ],
        });
        await trx
          .insertInto('events')
          .values({ kind: 'credited', payload: '{}', created_at: 1n, delivered_at: null })
          .execute();
        throw new Error('crash after writing');
      }),
    );
    expect((err as Error).message).toBe('crash after writing');
    expect(await balance(database.db, user.id)).toBe(0n);
    const entries = await database.db
      .selectFrom('journal_entries')
      .select('id')
      .where('reference', '=', reference)
      .execute();
    expect(entries).toEqual([]);
    const events = await database.db
      .selectFrom('events')
      .select('id')
      .where('kind', '=', 'credited')
      .execute();
    expect(events).toEqual([]);
  });

  it('rejects malformed entries with the right code and no write', async () => {
    const { user, ext } = await pair();
    const base = debit(user, ext, 1n);
    const cases: [unknown, string][] = [
      [
        { ...base, postings: [{ accountId: user.id, asset: 'BTC', amount: 1 }, base.postings[1]] },
        'BAD_AMOUNT',
      ],
      [
        { ...base, postings: [{ ...base.postings[0], amount: 0n }, base.postings[1]] },
        'BAD_AMOUNT',
      ],
      [
        {
          ...base,
          postings: [
            { accountId: user.id, asset: 'BTC', amount: -2_100_000_000_000_001n },
            { accountId: ext.id, asset: 'BTC', amount: 2_100_000_000_000_001n },
          ],
        },
        'BAD_AMOUNT',
      ],
      [{ ...base, postings: [base.postings[0]] }, 'BAD_REQUEST'],
      [{ ...base, postings: [base.postings[0], base.postings[0]] }, 'BAD_REQUEST'],
      [{ ...base, reference: '' }, 'BAD_REQUEST'],
      [{ ...base, at: new Date(Number.NaN) }, 'BAD_REQUEST'],
      [
        {
          ...base,
          postings: [
            { accountId: user.id, asset: 'btc', amount: 1n },
            { accountId: ext.id, asset: 'btc', amount: -1n },
          ],
        },
        'BAD_REQUEST',
      ],
      [
        {
          ...base,
          postings: [
            { accountId: 999_999_999n, asset: 'BTC', amount: 1n },
            { accountId: ext.id, asset: 'BTC', amount: -1n },
          ],
        },
        'NOT_FOUND',
      ],
      [
        // Asset mismatch with the account: a BTC account posted as LTC.
        {
          ...base,
          postings: [
            { accountId: user.id, asset: 'LTC', amount: 1n },
            { accountId: ext.id, asset: 'LTC', amount: -1n },
          ],
        },
        'BAD_REQUEST',
      ],
    ];
    for (const [entry, code] of cases) {
      const err = await catchErr(post(entry as JournalEntryInput));
      expect(isCoordinatorError(err), String(err)).toBe(true);
      expect((err as { code: string }).code, (err as Error).message).toBe(code);
      expect((err as Error).message).toMatch(/^ledger\/postJournalEntry/);
    }
    expect(await balance(database.db, user.id)).toBe(0n);
  });

  it('refuses to post outside a transaction', async () => {
    const { user, ext } = await pair();
    const err = await catchErr(
      postJournalEntry(database.db as unknown as Transaction<Schema>, debit(user, ext, 1n)),
    );
    expect(isCoordinatorError(err, 'INTERNAL')).toBe(true);
  });

  it('balance of a missing account is NOT_FOUND', async () => {
    expect(
      isCoordinatorError(await catchErr(balance(database.db, 987_654_321n)), 'NOT_FOUND'),
    ).toBe(true);
  });

  it.runIf(name === 'postgres')(
    'refuses to debit inside REPEATABLE READ (snapshot would predate the lock)',
    async () => {
      const { user, ext } = await pair();
      await fund(user, ext, 10n);
      const err = await catchErr(
        database.db
          .transaction()
          .setIsolationLevel('repeatable read')
          .execute((trx) => postJournalEntry(trx, debit(user, ext, 1n))),
      );
      expect(isCoordinatorError(err, 'INTERNAL')).toBe(true);
      expect(await balance(database.db, user.id)).toBe(10n);
    },
  );
});

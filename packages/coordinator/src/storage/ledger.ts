/**
 * The double-entry ledger on top of `accounts`, `journal_entries` and `postings`. A balance is
 * the sum of an account's postings (no cached balance to drift). `postJournalEntry` is the only
 * writer of postings; it runs inside the caller's transaction and refuses an entry that does
 * not sum to zero per asset, or that would take a `user` account below zero.
 *
 * Concurrency (the check-then-write must not race): before reading the balance of a user
 * account it debits, the entry locks that account's row (PostgreSQL: SELECT ... FOR UPDATE in
 * ascending id order, so two entries never deadlock on each other; SQLite: the transaction
 * already holds the database's single writer lock from BEGIN IMMEDIATE). Every debit of a user
 * account takes the same lock first, so two debits of one account are serialised and the second
 * reads a balance that includes the first. See docs/storage.md for the per-isolation argument.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import { CoordinatorError } from '../errors.js';
import { backendOf } from './backend.js';
import { ACCOUNT_KINDS, type AccountKind, type Schema } from './schema.js';
import { assetCode, dbBigint, describe, postingSats, rowId, text, timeMs } from './validate.js';

export const MAX_POSTINGS_PER_ENTRY = 256;

export interface AccountKey {
  readonly kind: AccountKind;
  readonly owner: string;
  readonly asset: string;
}

export interface Account extends AccountKey {
  readonly id: bigint;
}

export interface PostingInput {
  readonly accountId: bigint;
  readonly asset: string;
  /** Signed satoshis: positive raises the balance, negative lowers it. */
  readonly amount: bigint;
}

export interface JournalEntryInput {
  /** What happened (`deposit_credit`, `withdrawal_debit`, ...): 1..64 chars. */
  readonly kind: string;
  /** Unique per kind; the same (kind, reference) twice posts once. 1..256 chars. */
  readonly reference: string;
  readonly at: Date;
  readonly postings: readonly PostingInput[];
}

export interface PostResult {
  readonly entryId: bigint;
  /** False when the same entry (same kind, reference and postings) was already posted. */
  readonly created: boolean;
}

export interface UserBalance {
  readonly accountId: bigint;
  readonly asset: string;
  readonly balance: bigint;
}

function accountKey(place: string, key: AccountKey): AccountKey {
  if (typeof key !== 'object' || key === null) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected an account key, got ${describe(key)}`,
    );
  }
  if (!(ACCOUNT_KINDS as readonly unknown[]).includes(key.kind)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected kind one of ${ACCOUNT_KINDS.join('|')}, got ${describe(key.kind)}`,
    );
  }
  return {
    kind: key.kind,
    owner: text(`${place}.owner`, key.owner, 1, 128),
    asset: assetCode(`${place}.asset`, key.asset),
  };
}

/** Find or create the account (kind, owner, asset). Safe to race: the key is unique. */
export async function ensureAccount(
  db: Kysely<Schema>,
  key: AccountKey,
  at: Date,
): Promise<Account> {
  const place = 'ledger/ensureAccount';
  const k = accountKey(place, key);
  const createdAt = timeMs(`${place}.at`, at);
  await db
    .insertInto('accounts')
    .values({ kind: k.kind, owner: k.owner, asset: k.asset, created_at: createdAt })
    .onConflict((oc) => oc.doNothing())
    .execute();
  const row = await db
    .selectFrom('accounts')
    .select(['id', 'kind', 'owner', 'asset'])
    .where('kind', '=', k.kind)
    .where('owner', '=', k.owner)
    .where('asset', '=', k.asset)
    .executeTakeFirst();
  if (row === undefined) {
    throw new CoordinatorError('INTERNAL', `${place}: expected the account row, got none`);
  }
  return Object.freeze({ ...row, id: dbBigint(place, row.id) });
}

function checkEntry(place: string, entry: JournalEntryInput): JournalEntryInput {
  if (typeof entry !== 'object' || entry === null) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected an entry, got ${describe(entry)}`,
    );
  }
  const kind = text(`${place}.kind`, entry.kind, 1, 64);
  const reference = text(`${place}.reference`, entry.reference, 1, 256);
  timeMs(`${place}.at`, entry.at);
  const list: unknown = entry.postings;
  if (!Array.isArray(list) || list.length < 2 || list.length > MAX_POSTINGS_PER_ENTRY) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}.postings: expected 2..${MAX_POSTINGS_PER_ENTRY} postings, got ${describe(list)}`,
    );
  }
  const seen = new Set<bigint>();
  const postings = list.map((p: PostingInput, i): PostingInput => {
    const at = `${place}.postings[${i}]`;
    const accountId = rowId(`${at}.accountId`, p?.accountId);
    if (seen.has(accountId)) {
      throw new CoordinatorError(
        'BAD_REQUEST',
        `${at}.accountId: expected each account at most once per entry, got ${accountId}n again`,
      );
    }
    seen.add(accountId);
    return {
      accountId,
      asset: assetCode(`${at}.asset`, p.asset),
      amount: postingSats(`${at}.amount`, p.amount),
    };
  });
  return { kind, reference, at: entry.at, postings };
}

/** Per-asset sums of an entry's postings; all must be zero. */
export function assetSums(postings: readonly PostingInput[]): ReadonlyMap<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const p of postings) sums.set(p.asset, (sums.get(p.asset) ?? 0n) + p.amount);
  return sums;
}

const sortPostings = (ps: readonly PostingInput[]) =>
  [...ps].sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));

function samePostings(a: readonly PostingInput[], b: readonly PostingInput[]): boolean {
  const x = sortPostings(a);
  const y = sortPostings(b);
  return (
    x.length === y.length &&
    x.every((p, i) => {
      const q = y[i];
      return (
        q !== undefined &&
        p.accountId === q.accountId &&
        p.asset === q.asset &&
        p.amount === q.amount
      );
    })
  );
}

/** The entry already stored under (kind, reference): same postings → its id; other → DUPLICATE. */
async function existingEntry(
  trx: Transaction<Schema>,
  place: string,
  entry: JournalEntryInput,
): Promise<PostResult | undefined> {
  const row = await trx
    .selectFrom('journal_entries')
    .select('id')
    .where('kind', '=', entry.kind)
    .where('reference', '=', entry.reference)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const stored = await trx
    .selectFrom('postings')
    .select(['account_id', 'asset', 'amount'])
    .where('entry_id', '=', row.id)
    .execute();
  const storedPostings = stored.map((p) => ({
    accountId: dbBigint(place, p.account_id),
    asset: p.asset,
    amount: dbBigint(place, p.amount),
  }));
  if (!samePostings(storedPostings, entry.postings)) {
    throw new CoordinatorError(
      'DUPLICATE',
      `${place}: expected reference '${entry.reference}' of kind '${entry.kind}' unused or posted with the same postings, got different postings`,
      { kind: entry.kind, reference: entry.reference, entryId: row.id },
    );
  }
  return Object.freeze({ entryId: dbBigint(place, row.id), created: false });
}

/** Sum of postings per account, for the given accounts (absent = 0). */
async function balancesOf(
  db: Kysely<Schema>,
  place: string,
  ids: readonly bigint[],
): Promise<Map<bigint, bigint>> {
  const out = new Map<bigint, bigint>(ids.map((id) => [id, 0n]));
  if (ids.length === 0) return out;
  const rows = await db
    .selectFrom('postings')
    .select(['account_id', sql<bigint>`cast(coalesce(sum(amount), 0) as bigint)`.as('balance')])
    .where('account_id', 'in', ids)
    .groupBy('account_id')
    .execute();
  for (const r of rows) out.set(dbBigint(place, r.account_id), dbBigint(place, r.balance));
  return out;
}

/** Lock the rows of the accounts about to be debited (PostgreSQL), in ascending id order. */
async function lockAccounts(
  trx: Transaction<Schema>,
  place: string,
  ids: readonly bigint[],
): Promise<void> {
  if (ids.length === 0 || backendOf(trx) !== 'postgres') return;
  const rows = await trx
    .selectFrom('accounts')
    .select(['id', sql<string>`current_setting('transaction_isolation')`.as('isolation')])
    .where('id', 'in', ids)
    .orderBy('id')
    .forUpdate()
    .execute();
  // Under REPEATABLE READ the snapshot predates the lock, so the balance read after it could
  // miss a debit committed meanwhile: refuse to run there (see docs/storage.md).
  if (rows.some((r) => r.isolation === 'repeatable read')) {
    throw new CoordinatorError(
      'INTERNAL',
      `${place}: expected a READ COMMITTED or SERIALIZABLE transaction, got REPEATABLE READ`,
    );
  }
}

/**
 * Write one balanced journal entry and its postings inside the caller's transaction. Any error
 * it throws means the caller must roll back (withTransaction does). Idempotent per
 * (kind, reference): the same entry again returns the stored id with `created: false`.
 */
export async function postJournalEntry(
  trx: Transaction<Schema>,
  input: JournalEntryInput,
): Promise<PostResult> {
  const place = 'ledger/postJournalEntry';
  const entry = checkEntry(place, input);
  for (const [asset, sum] of assetSums(entry.postings)) {
    if (sum !== 0n) {
      throw new CoordinatorError(
        'UNBALANCED_ENTRY',
        `${place}: expected postings in ${asset} to sum to 0, got ${sum}`,
        { asset, sum },
      );
    }
  }
  if (!trx.isTransaction) {
    throw new CoordinatorError(
      'INTERNAL',
      `${place}: expected a transaction, got a database handle`,
    );
  }
  const ids = entry.postings.map((p) => p.accountId);
  const accounts = await trx
    .selectFrom('accounts')
    .select(['id', 'kind', 'asset'])
    .where('id', 'in', ids)
    .execute();
  const byId = new Map(accounts.map((a) => [dbBigint(place, a.id), a]));
  const debitedUsers: PostingInput[] = [];
  for (const p of entry.postings) {
    const account = byId.get(p.accountId);
    if (account === undefined) {
      throw new CoordinatorError(
        'NOT_FOUND',
        `${place}: expected account ${p.accountId}n, got none`,
        {
          accountId: p.accountId,
        },
      );
    }
    if (account.asset !== p.asset) {
      throw new CoordinatorError(
        'BAD_REQUEST',
        `${place}: expected asset ${account.asset} for account ${p.accountId}n, got ${p.asset}`,
      );
    }
    if (account.kind === 'user' && p.amount < 0n) debitedUsers.push(p);
  }
  debitedUsers.sort((a, b) => (a.accountId < b.accountId ? -1 : 1));
  await lockAccounts(
    trx,
    place,
    debitedUsers.map((p) => p.accountId),
  );
  const already = await existingEntry(trx, place, entry);
  if (already !== undefined) return already;
  const balances = await balancesOf(
    trx,
    place,
    debitedUsers.map((p) => p.accountId),
  );
  for (const p of debitedUsers) {
    const available = balances.get(p.accountId) ?? 0n;
    if (available + p.amount < 0n) {
      throw new CoordinatorError(
        'INSUFFICIENT_FUNDS',
        `${place}: expected account ${p.accountId}n to hold at least ${-p.amount} ${p.asset}, got ${available}`,
        { accountId: p.accountId, asset: p.asset, available, requested: -p.amount },
      );
    }
  }
  const inserted = await trx
    .insertInto('journal_entries')
    .values({ kind: entry.kind, reference: entry.reference, created_at: timeMs(place, entry.at) })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted === undefined) {
    // Another transaction inserted the same (kind, reference) and committed meanwhile.
    const raced = await existingEntry(trx, place, entry);
    if (raced !== undefined) return raced;
    throw new CoordinatorError('INTERNAL', `${place}: expected the conflicting entry, got none`);
  }
  const entryId = dbBigint(place, inserted.id);
  await trx
    .insertInto('postings')
    .values(
      entry.postings.map((p) => ({
        entry_id: entryId,
        account_id: p.accountId,
        asset: p.asset,
        amount: p.amount,
      })),
    )
    .execute();
  return Object.freeze({ entryId, created: true });
}

/** The balance of one account: the sum of its postings. NOT_FOUND if there is no such account. */
export async function balance(db: Kysely<Schema>, accountId: bigint): Promise<bigint> {
  const place = 'ledger/balance';
  const id = rowId(`${place}.accountId`, accountId);
  const account = await db
    .selectFrom('accounts')
    .select('id')
    .where('id', '=', id)
    .executeTakeFirst();
  if (account === undefined) {
    throw new CoordinatorError('NOT_FOUND', `${place}: expected account ${id}n, got none`, {
      accountId: id,
    });
  }
  return (await balancesOf(db, place, [id])).get(id) ?? 0n;
}

/** Every `user` account of one user with its balance, ordered by asset. */
export async function balancesByUser(
  db: Kysely<Schema>,
  userId: string,
): Promise<readonly UserBalance[]> {
  const place = 'ledger/balancesByUser';
  const owner = text(`${place}.userId`, userId, 1, 128);
  const rows = await db
    .selectFrom('accounts')
    .leftJoin('postings', 'postings.account_id', 'accounts.id')
    .select([
      'accounts.id',
      'accounts.asset',
      sql<bigint>`cast(coalesce(sum(postings.amount), 0) as bigint)`.as('balance'),
    ])
    .where('accounts.kind', '=', 'user')
    .where('accounts.owner', '=', owner)
    .groupBy(['accounts.id', 'accounts.asset'])
    .orderBy('accounts.asset')
    .execute();
  return Object.freeze(
    rows.map((r) =>
      Object.freeze({
        accountId: dbBigint(place, r.id),
        asset: r.asset,
        balance: dbBigint(place, r.balance),
      }),
    ),
  );
}

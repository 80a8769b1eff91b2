/**
 * Read models for the API: withdrawals, deposits, balances, the review queue and counters, read
 * straight from the tables (no cached copies to drift). Pagination is by a stable cursor
 * (`created_at` then id), never by offset.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { ChainNetwork } from '../chain/interface.js';
import { CoordinatorError } from '../errors.js';
import type { Schema, WithdrawalsTable } from '../storage/schema.js';
import { withdrawalFromRow } from '../storage/withdrawals.js';
import { isWithdrawalState } from '../withdrawal/states.js';
import { scriptToAddress } from './address.js';
import type {
  DepositState,
  DepositView,
  DeviceReport,
  Page,
  WithdrawalState,
  WithdrawalView,
} from './contract.js';
import { depositView } from './deposits.js';

function cursorOf(createdAt: bigint, id: string): string {
  return Buffer.from(`${createdAt}|${id}`, 'utf8').toString('base64url');
}

function parseCursor(after: string | undefined): { createdAt: bigint; id: string } | null {
  if (after === undefined) return null;
  const text = Buffer.from(after, 'base64url').toString('utf8');
  const m = /^(\d{1,16})\|([\x21-\x7e]{1,150})$/.exec(text);
  if (m === null || m[1] === undefined || m[2] === undefined) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `list: expected 'after' to be a cursor returned by this API, got '${after.slice(0, 64)}'`,
    );
  }
  return { createdAt: BigInt(m[1]), id: m[2] };
}

export function withdrawalView(
  network: ChainNetwork,
  row: Selectable<WithdrawalsTable>,
  txid: string | null,
): WithdrawalView {
  const w = withdrawalFromRow('views/withdrawal', row);
  if (!isWithdrawalState(w.state)) {
    throw new CoordinatorError(
      'INTERNAL',
      `views/withdrawal: expected a known state, got '${w.state}'`,
    );
  }
  const report: unknown = row.device_report === null ? null : JSON.parse(row.device_report);
  return Object.freeze({
    id: w.id,
    userId: w.userId,
    asset: w.asset,
    address: scriptToAddress(network, w.destinationScript),
    scriptPubKey: bytesToHex(w.destinationScript),
    amount: w.amount,
    state: w.state,
    history: w.stateHistory.map((h) => ({ state: h.state, at: Number(h.at) })),
    risk: { outcome: w.riskOutcome, reasons: w.riskReasons ?? [] },
    txid,
    deviceReport: report as DeviceReport | null,
    createdAt: Number(w.createdAt),
    updatedAt: Number(w.updatedAt),
  });
}

async function withTxids(
  db: Kysely<Schema>,
  network: ChainNetwork,
  rows: readonly Selectable<WithdrawalsTable>[],
): Promise<WithdrawalView[]> {
  const ids = [...new Set(rows.map((r) => r.payout_id).filter((p): p is bigint => p !== null))];
  const txids = new Map<string, string | null>();
  if (ids.length > 0) {
    for (const p of await db
      .selectFrom('payouts')
      .select(['id', 'txid'])
      .where('id', 'in', ids)
      .execute()) {
      txids.set(String(p.id), p.txid);
    }
  }
  return rows.map((r) =>
    withdrawalView(
      network,
      r,
      r.payout_id === null ? null : (txids.get(String(r.payout_id)) ?? null),
    ),
  );
}

export async function readWithdrawal(
  db: Kysely<Schema>,
  network: ChainNetwork,
  id: string,
): Promise<WithdrawalView> {
  const row = await db
    .selectFrom('withdrawals')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (row === undefined) {
    throw new CoordinatorError(
      'NOT_FOUND',
      `withdrawals/get: expected withdrawal '${id.slice(0, 64)}', got none`,
      { id },
    );
  }
  const [view] = await withTxids(db, network, [row]);
  if (view === undefined) throw new CoordinatorError('INTERNAL', 'withdrawals/get: lost the view');
  return view;
}

export async function listWithdrawals(
  db: Kysely<Schema>,
  network: ChainNetwork,
  q: { userId?: string; state?: WithdrawalState; limit: number; after?: string },
): Promise<Page<WithdrawalView>> {
  const after = parseCursor(q.after);
  let query = db.selectFrom('withdrawals').selectAll();
  if (q.userId !== undefined) query = query.where('user_id', '=', q.userId);
  if (q.state !== undefined) query = query.where('state', '=', q.state);
  if (after !== null) {
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '>', after.createdAt),
        eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)]),
      ]),
    );
  }
  const rows = await query
    .orderBy('created_at')
    .orderBy('id')
    .limit(q.limit + 1)
    .execute();
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: await withTxids(db, network, page),
    next: rows.length > q.limit && last !== undefined ? cursorOf(last.created_at, last.id) : null,
  };
}

export async function listDeposits(
  db: Kysely<Schema>,
  q: { userId?: string; state?: DepositState; limit: number; after?: string },
): Promise<Page<DepositView>> {
  const after = parseCursor(q.after);
  let query = db.selectFrom('deposits').selectAll();
  if (q.userId !== undefined) query = query.where('user_id', '=', q.userId);
  if (q.state !== undefined) query = query.where('state', '=', q.state);
  if (after !== null) {
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '>', after.createdAt),
        eb.and([
          eb('created_at', '=', after.createdAt),
          eb(sql<string>`txid || ':' || cast(vout as text)`, '>', after.id),
        ]),
      ]),
    );
  }
  const rows = await query
    .orderBy('created_at')
    .orderBy('txid')
    .orderBy('vout')
    .limit(q.limit + 1)
    .execute();
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map(depositView),
    next:
      rows.length > q.limit && last !== undefined
        ? cursorOf(last.created_at, `${last.txid}:${last.vout}`)
        : null,
  };
}

/** Stored sum of one system account (see post-entry.ts for the sign convention). */
export async function storedSum(db: Kysely<Schema>, kind: string, owner: string): Promise<bigint> {
  const row = await db
    .selectFrom('postings')
    .innerJoin('accounts', 'accounts.id', 'postings.account_id')
    .select(sql<bigint>`cast(coalesce(sum(postings.amount), 0) as bigint)`.as('total'))
    .where('accounts.kind', '=', kind as never)
    .where('accounts.owner', '=', owner)
    .executeTakeFirstOrThrow();
  return BigInt(row.total);
}

/** The hot wallet per the ledger (debit-normal: the negated stored sum). */
export async function ledgerHotWallet(db: Kysely<Schema>): Promise<bigint> {
  return -(await storedSum(db, 'hot_wallet', 'hot_wallet'));
}

export async function userBalances(
  db: Kysely<Schema>,
  userId: string,
): Promise<{ asset: string; available: bigint; pendingWithdrawals: bigint }[]> {
  const rows = await db
    .selectFrom('postings')
    .innerJoin('accounts', 'accounts.id', 'postings.account_id')
    .select([
      'accounts.asset',
      sql<bigint>`cast(coalesce(sum(postings.amount), 0) as bigint)`.as('total'),
    ])
    .where('accounts.kind', '=', 'user')
    .where('accounts.owner', '=', userId)
    .groupBy('accounts.asset')
    .execute();
  const pending = await db
    .selectFrom('withdrawals')
    .select(['asset', sql<bigint>`cast(coalesce(sum(amount + user_fee), 0) as bigint)`.as('total')])
    .where('user_id', '=', userId)
    .where('state', 'not in', ['rejected', 'confirmed'])
    .groupBy('asset')
    .execute();
  const assets = new Set([...rows.map((r) => r.asset), ...pending.map((p) => p.asset)]);
  return [...assets].sort().map((asset) => ({
    asset,
    available: BigInt(rows.find((r) => r.asset === asset)?.total ?? 0n),
    pendingWithdrawals: BigInt(pending.find((p) => p.asset === asset)?.total ?? 0n),
  }));
}

export async function withdrawalCounts(db: Kysely<Schema>): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('withdrawals')
    .select(['state', sql<bigint>`count(*)`.as('n')])
    .groupBy('state')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

export async function reviewQueue(db: Kysely<Schema>, network: ChainNetwork) {
  const w = await db
    .selectFrom('withdrawals')
    .selectAll()
    .where('state', 'in', ['held', 'refused', 'failed'])
    .orderBy('created_at')
    .limit(1000)
    .execute();
  const d = await db
    .selectFrom('deposits')
    .selectAll()
    .where('state', '=', 'delayed')
    .orderBy('created_at')
    .limit(1000)
    .execute();
  return { withdrawals: await withTxids(db, network, w), deposits: d.map(depositView) };
}

/**
 * Deposits (issue 4 §6): `seen → (delayed | pending) → credited`, and `reversed` on a reorg.
 * Driven by the gateway: every function here runs inside the transaction that also advances the
 * gateway's cursor, so a block's deposits are booked exactly once, and a disconnected block's
 * deposits are reversed exactly once.
 *
 * - A deposit is first seen in a block (1 confirmation). The online risk rules run then, on the
 *   deposit, the user's recent deposits and the scripts its inputs spent (for the source deny list).
 * - Clean deposits are credited at `confirmations` depth; flagged ones are booked to the hot wallet
 *   but `delayed` — not credited — until an operator clears them.
 * - A reorg that removes the block reverses whatever had been booked (ledger depositReversed), and
 *   the same output seen again later is a new epoch of the same deposit.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { CoordinatorError } from '../errors.js';
import {
  type DepositStage,
  depositCleared,
  depositCredited,
  depositDelayed,
  depositReversed,
  depositSeen,
} from '../ledger/deposit-entries.js';
import type { RiskConfig } from '../risk/config.js';
import { evaluateDeposit } from '../risk/deposit.js';
import type { DepositsTable, Schema } from '../storage/schema.js';
import { withTransaction } from '../storage/transaction.js';
import type { DepositState, DepositView } from './contract.js';
import { postEntry } from './post-entry.js';
import { ASSET } from './withdrawals.js';

export interface ReceivedDeposit {
  readonly txid: string;
  readonly vout: number;
  readonly value: bigint;
  readonly userId: string;
  readonly address: string;
  /** scriptPubKeys the deposit transaction's inputs spent (for the source deny list). */
  readonly sourceScripts: readonly Uint8Array[];
}

export interface DepositDeps {
  readonly risk: RiskConfig;
  /** Depth at which a deposit is credited (1 = in a block). */
  readonly confirmations: number;
  readonly now: () => number;
}

const depositId = (txid: string, vout: number) => `${txid}:${vout}`;

function rowState(row: Selectable<DepositsTable>): DepositState {
  return row.state as DepositState;
}

async function find(db: Kysely<Schema>, txid: string, vout: number) {
  return db
    .selectFrom('deposits')
    .selectAll()
    .where('txid', '=', txid)
    .where('vout', '=', BigInt(vout))
    .executeTakeFirst();
}

/** Book a deposit output found in the block at `height` (state seen → pending, or credited now). */
export async function depositSeenInBlock(
  trx: Transaction<Schema>,
  deps: DepositDeps,
  d: ReceivedDeposit,
  height: number,
  blockHash: string,
  tipHeight: number,
): Promise<void> {
  const nowMs = deps.now();
  const at = new Date(nowMs);
  const existing = await find(trx, d.txid, d.vout);
  if (existing !== undefined && rowState(existing) !== 'reversed') return; // already booked
  const epoch = existing === undefined ? 0 : Number(existing.epoch) + 1;
  const since = BigInt(nowMs - deps.risk.deposit.frequency.windowSeconds * 1000);
  const recent = await trx
    .selectFrom('deposits')
    .select('created_at')
    .where('user_id', '=', d.userId)
    .where('created_at', '>=', since)
    .where('state', '<>', 'reversed')
    .limit(100_000)
    .execute();
  const decision = evaluateDeposit(
    {
      depositId: depositId(d.txid, d.vout),
      userId: d.userId,
      amount: d.value,
      sourceScriptPubKeys: d.sourceScripts.map((s) => bytesToHex(s)),
    },
    { userDeposits: recent.map((r) => ({ at: Math.floor(Number(r.created_at) / 1000) })) },
    deps.risk,
    Math.floor(nowMs / 1000),
  );
  const reasons = JSON.stringify(decision.reasons.map((r) => `${r.code}: ${r.detail}`));
  const fields = {
    confirmations: BigInt(tipHeight - height + 1),
    state: 'pending',
    reasons,
    epoch: BigInt(epoch),
    height: BigInt(height),
    block_hash: blockHash,
    updated_at: BigInt(nowMs),
  };
  if (existing === undefined) {
    await trx
      .insertInto('deposits')
      .values({
        txid: d.txid,
        vout: BigInt(d.vout),
        user_id: d.userId,
        asset: ASSET,
        amount: d.value,
        address: d.address,
        created_at: BigInt(nowMs),
        ...fields,
      })
      .execute();
  } else {
    await trx
      .updateTable('deposits')
      .set(fields)
      .where('txid', '=', d.txid)
      .where('vout', '=', BigInt(d.vout))
      .execute();
  }
  await postEntry(
    trx,
    depositSeen({ depositId: depositId(d.txid, d.vout), amount: d.value, epoch }),
    at,
  );
  if (decision.outcome === 'delay') {
    // Flagged: the coins are ours (hot wallet) but the user is not credited until cleared.
    await setState(trx, d.txid, d.vout, 'delayed', nowMs);
    await postEntry(
      trx,
      depositDelayed({ depositId: depositId(d.txid, d.vout), amount: d.value, epoch }),
      at,
    );
    return;
  }
  await creditIfDeep(trx, deps, tipHeight);
}

async function setState(
  trx: Transaction<Schema>,
  txid: string,
  vout: number,
  state: DepositState,
  nowMs: number,
): Promise<void> {
  await trx
    .updateTable('deposits')
    .set({ state, updated_at: BigInt(nowMs) })
    .where('txid', '=', txid)
    .where('vout', '=', BigInt(vout))
    .execute();
}

/** Credit every pending deposit that reached the configured depth at `tipHeight`. */
export async function creditIfDeep(
  trx: Transaction<Schema>,
  deps: DepositDeps,
  tipHeight: number,
): Promise<number> {
  const nowMs = deps.now();
  const rows = await trx
    .selectFrom('deposits')
    .selectAll()
    .where('state', '=', 'pending')
    .where('height', '<=', BigInt(tipHeight - deps.confirmations + 1))
    .execute();
  for (const r of rows) {
    const vout = Number(r.vout);
    await postEntry(
      trx,
      depositCredited({
        depositId: depositId(r.txid, vout),
        userId: r.user_id,
        amount: BigInt(r.amount),
        epoch: Number(r.epoch),
      }),
      new Date(nowMs),
    );
    await setState(trx, r.txid, vout, 'credited', nowMs);
  }
  await trx
    .updateTable('deposits')
    .set((eb) => ({ confirmations: eb(eb.val(BigInt(tipHeight + 1)), '-', eb.ref('height')) }))
    .where('state', 'in', ['pending', 'delayed', 'credited'])
    .where('height', 'is not', null)
    .where('confirmations', '<', 1000n)
    .execute();
  return rows.length;
}

/** A reorg disconnected the block holding this output: undo what was booked for it. */
export async function depositDisconnected(
  trx: Transaction<Schema>,
  deps: DepositDeps,
  txid: string,
  vout: number,
): Promise<void> {
  const row = await find(trx, txid, vout);
  if (row === undefined || rowState(row) === 'reversed') return;
  const state = rowState(row);
  const stage: DepositStage =
    state === 'credited' ? 'credited' : state === 'delayed' ? 'delayed' : 'seen';
  const nowMs = deps.now();
  await postEntry(
    trx,
    depositReversed({
      depositId: depositId(txid, vout),
      amount: BigInt(row.amount),
      epoch: Number(row.epoch),
      stage,
      userId: row.user_id,
    }),
    new Date(nowMs),
  );
  await trx
    .updateTable('deposits')
    .set({
      state: 'reversed',
      confirmations: 0n,
      height: null,
      block_hash: null,
      updated_at: BigInt(nowMs),
    })
    .where('txid', '=', txid)
    .where('vout', '=', BigInt(vout))
    .execute();
}

/** Operator: credit a delayed deposit after review. */
export async function clearDeposit(
  db: Kysely<Schema>,
  deps: DepositDeps,
  txid: string,
  vout: number,
  operator: string,
  note: string,
): Promise<Selectable<DepositsTable>> {
  const nowMs = deps.now();
  return withTransaction(db, async (trx) => {
    const row = await find(trx, txid, vout);
    if (row === undefined) {
      throw new CoordinatorError(
        'NOT_FOUND',
        `deposits/clear: expected deposit ${txid}:${vout}, got none`,
      );
    }
    if (row.state !== 'delayed') {
      throw new CoordinatorError(
        'INVALID_TRANSITION',
        `deposits/clear: expected deposit ${txid}:${vout} delayed, got '${row.state}'`,
      );
    }
    await postEntry(
      trx,
      depositCleared({
        depositId: depositId(txid, vout),
        userId: row.user_id,
        amount: BigInt(row.amount),
        epoch: Number(row.epoch),
      }),
      new Date(nowMs),
    );
    const reasons: unknown = JSON.parse(row.reasons ?? '[]');
    const list = Array.isArray(reasons) ? reasons.map(String) : [];
    return trx
      .updateTable('deposits')
      .set({
        state: 'credited',
        reasons: JSON.stringify([...list, `OPERATOR_CLEARED: ${operator}: ${note}`.slice(0, 500)]),
        updated_at: BigInt(nowMs),
      })
      .where('txid', '=', txid)
      .where('vout', '=', BigInt(vout))
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}

export function depositView(row: Selectable<DepositsTable>): DepositView {
  const reasons: unknown = JSON.parse(row.reasons ?? '[]');
  return Object.freeze({
    txid: row.txid,
    vout: Number(row.vout),
    userId: row.user_id,
    address: row.address,
    amount: BigInt(row.amount),
    confirmations: Number(row.confirmations),
    state: rowState(row),
    reasons: Array.isArray(reasons) ? reasons.map(String) : [],
    createdAt: Number(row.created_at),
  });
}

/**
 * Storage of the withdrawal and payout state machines (withdrawal/states.ts). Every function takes
 * the caller's Kysely handle — normally a transaction — so that a transition, its ledger postings
 * and its UTXO changes commit together. A transition is a compare-and-set on the stored state:
 * two coordinators (or a restarted one racing a stale one) can never both move the same record.
 */
import type { Kysely, Selectable } from 'kysely';
import { CoordinatorError } from '../errors.js';
import type { DeviceReport, WithdrawalState } from '../service/contract.js';
import {
  assertPayoutTransition,
  assertWithdrawalTransition,
  type PayoutState,
} from '../withdrawal/states.js';
import type { Schema } from './schema.js';
import type { PayoutsTable } from './schema-signing.js';
import { dbBigint, text } from './validate.js';
import { type Withdrawal, withdrawalFromRow } from './withdrawals.js';

function appendHistory(json: string, state: string, at: bigint): string {
  const list: unknown = JSON.parse(json);
  if (!Array.isArray(list)) {
    throw new CoordinatorError(
      'INTERNAL',
      'storage/signing: expected a state history array, got other',
    );
  }
  return JSON.stringify([...list, { state, at: Number(at) }]);
}

export interface WithdrawalTransition {
  readonly id: string;
  readonly to: WithdrawalState;
  readonly at: bigint;
  /** Set the payout paying it (batched) or clear it (back to approved). */
  readonly payoutId?: bigint | null;
  readonly riskOutcome?: 'approve' | 'hold' | 'reject';
  readonly riskReasons?: readonly string[];
  readonly deviceReport?: DeviceReport | null;
}

/** Move one withdrawal; INVALID_TRANSITION if the table forbids it or another writer moved it. */
export async function transitionWithdrawal(
  db: Kysely<Schema>,
  t: WithdrawalTransition,
): Promise<Withdrawal> {
  const place = 'signing/transitionWithdrawal';
  const row = await db
    .selectFrom('withdrawals')
    .selectAll()
    .where('id', '=', text(`${place}.id`, t.id, 1, 64))
    .executeTakeFirst();
  if (row === undefined) {
    throw new CoordinatorError('NOT_FOUND', `${place}: expected withdrawal '${t.id}', got none`, {
      id: t.id,
    });
  }
  assertWithdrawalTransition(t.id, row.state, t.to);
  const updated = await db
    .updateTable('withdrawals')
    .set({
      state: t.to,
      state_history: appendHistory(row.state_history, t.to, t.at),
      updated_at: t.at,
      ...(t.payoutId === undefined ? {} : { payout_id: t.payoutId }),
      ...(t.riskOutcome === undefined ? {} : { risk_outcome: t.riskOutcome }),
      ...(t.riskReasons === undefined ? {} : { risk_reasons: JSON.stringify(t.riskReasons) }),
      ...(t.deviceReport === undefined
        ? {}
        : { device_report: t.deviceReport === null ? null : JSON.stringify(t.deviceReport) }),
    })
    .where('id', '=', t.id)
    .where('state', '=', row.state)
    .returningAll()
    .executeTakeFirst();
  if (updated === undefined) {
    throw new CoordinatorError(
      'INVALID_TRANSITION',
      `${place}: expected withdrawal '${t.id}' still in '${row.state}', got it moved by another writer`,
      { id: t.id },
    );
  }
  return withdrawalFromRow(place, updated);
}

export async function withdrawalsInState(
  db: Kysely<Schema>,
  state: WithdrawalState,
  limit: number,
): Promise<readonly Withdrawal[]> {
  const rows = await db
    .selectFrom('withdrawals')
    .selectAll()
    .where('state', '=', state)
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => withdrawalFromRow('signing/withdrawalsInState', r));
}

export interface Payout {
  readonly id: bigint;
  readonly state: PayoutState;
  readonly psbt: Uint8Array;
  readonly intents: Uint8Array;
  readonly fee: bigint;
  readonly vsize: bigint;
  readonly feeRate: bigint;
  readonly rawTx: Uint8Array | null;
  readonly txid: string | null;
  readonly replacesId: bigint | null;
  readonly blockHeight: bigint | null;
  readonly signers: readonly string[];
  readonly attempts: bigint;
  readonly nextAttemptAt: bigint;
  readonly lastError: string | null;
  readonly createdAt: bigint;
  readonly updatedAt: bigint;
}

function payoutFromRow(row: Selectable<PayoutsTable>): Payout {
  const place = 'signing/payout';
  const signers: unknown = row.signers === null ? [] : JSON.parse(row.signers);
  if (!Array.isArray(signers) || !signers.every((s) => typeof s === 'string')) {
    throw new CoordinatorError(
      'INTERNAL',
      `${place}: expected signers as a string array, got other`,
    );
  }
  return Object.freeze({
    id: dbBigint(place, row.id),
    state: row.state as PayoutState,
    psbt: new Uint8Array(row.psbt),
    intents: new Uint8Array(row.intents),
    fee: dbBigint(place, row.fee),
    vsize: dbBigint(place, row.vsize),
    feeRate: dbBigint(place, row.fee_rate),
    rawTx: row.raw_tx === null ? null : new Uint8Array(row.raw_tx),
    txid: row.txid,
    replacesId: row.replaces_id === null ? null : dbBigint(place, row.replaces_id),
    blockHeight: row.block_height === null ? null : dbBigint(place, row.block_height),
    signers: Object.freeze(signers as string[]),
    attempts: dbBigint(place, row.attempts),
    nextAttemptAt: dbBigint(place, row.next_attempt_at),
    lastError: row.last_error,
    createdAt: dbBigint(place, row.created_at),
    updatedAt: dbBigint(place, row.updated_at),
  });
}

export interface NewPayout {
  readonly psbt: Uint8Array;
  readonly intents: Uint8Array;
  readonly fee: bigint;
  readonly vsize: bigint;
  readonly feeRate: bigint;
  readonly replacesId?: bigint;
  /** The withdrawals it pays and the output index paying each. */
  readonly outputs: readonly { readonly withdrawalId: string; readonly outputIndex: number }[];
  readonly at: bigint;
}

/** Insert a payout in state `signing` and link its withdrawals (not moving them: the caller does). */
export async function insertPayout(db: Kysely<Schema>, p: NewPayout): Promise<Payout> {
  const row = await db
    .insertInto('payouts')
    .values({
      state: 'signing',
      psbt: p.psbt,
      intents: p.intents,
      fee: p.fee,
      vsize: p.vsize,
      fee_rate: p.feeRate,
      raw_tx: null,
      txid: null,
      replaces_id: p.replacesId ?? null,
      block_height: null,
      signers: null,
      last_error: null,
      state_history: JSON.stringify([{ state: 'signing', at: Number(p.at) }]),
      created_at: p.at,
      updated_at: p.at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const payout = payoutFromRow(row);
  if (p.outputs.length > 0) {
    await db
      .insertInto('payout_withdrawals')
      .values(
        p.outputs.map((o) => ({
          payout_id: payout.id,
          withdrawal_id: o.withdrawalId,
          output_index: BigInt(o.outputIndex),
        })),
      )
      .execute();
  }
  return payout;
}

export interface PayoutTransition {
  readonly id: bigint;
  readonly to: PayoutState;
  readonly at: bigint;
  readonly rawTx?: Uint8Array;
  readonly txid?: string;
  readonly signers?: readonly string[];
}

export async function transitionPayout(db: Kysely<Schema>, t: PayoutTransition): Promise<Payout> {
  const place = 'signing/transitionPayout';
  const row = await db.selectFrom('payouts').selectAll().where('id', '=', t.id).executeTakeFirst();
  if (row === undefined) {
    throw new CoordinatorError('NOT_FOUND', `${place}: expected payout ${t.id}, got none`);
  }
  assertPayoutTransition(String(t.id), row.state, t.to);
  const updated = await db
    .updateTable('payouts')
    .set({
      state: t.to,
      state_history: appendHistory(row.state_history, t.to, t.at),
      updated_at: t.at,
      ...(t.rawTx === undefined ? {} : { raw_tx: t.rawTx }),
      ...(t.txid === undefined ? {} : { txid: t.txid }),
      ...(t.signers === undefined ? {} : { signers: JSON.stringify(t.signers) }),
    })
    .where('id', '=', t.id)
    .where('state', '=', row.state)
    .returningAll()
    .executeTakeFirst();
  if (updated === undefined) {
    throw new CoordinatorError(
      'INVALID_TRANSITION',
      `${place}: expected payout ${t.id} still in '${row.state}', got it moved by another writer`,
    );
  }
  return payoutFromRow(updated);
}

/** Record a failed attempt (device offline, node down) and when to try again. */
export async function deferPayout(
  db: Kysely<Schema>,
  id: bigint,
  error: string,
  nextAttemptAt: bigint,
): Promise<void> {
  const row = await db
    .selectFrom('payouts')
    .select('attempts')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  await db
    .updateTable('payouts')
    .set({
      attempts: dbBigint('signing/deferPayout', row.attempts) + 1n,
      next_attempt_at: nextAttemptAt,
      last_error: error.slice(0, 1000),
    })
    .where('id', '=', id)
    .execute();
}

export async function getPayout(db: Kysely<Schema>, id: bigint): Promise<Payout> {
  const row = await db.selectFrom('payouts').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) {
    throw new CoordinatorError('NOT_FOUND', `signing/getPayout: expected payout ${id}, got none`);
  }
  return payoutFromRow(row);
}

export async function payoutByTxid(db: Kysely<Schema>, txid: string): Promise<Payout | null> {
  const row = await db
    .selectFrom('payouts')
    .selectAll()
    .where('txid', '=', txid)
    .executeTakeFirst();
  return row === undefined ? null : payoutFromRow(row);
}

export async function payoutsInState(
  db: Kysely<Schema>,
  state: PayoutState,
): Promise<readonly Payout[]> {
  const rows = await db
    .selectFrom('payouts')
    .selectAll()
    .where('state', '=', state)
    .orderBy('id')
    .execute();
  return rows.map(payoutFromRow);
}

export async function payoutOutputs(
  db: Kysely<Schema>,
  payoutId: bigint,
): Promise<readonly { withdrawalId: string; outputIndex: number }[]> {
  const rows = await db
    .selectFrom('payout_withdrawals')
    .select(['withdrawal_id', 'output_index'])
    .where('payout_id', '=', payoutId)
    .orderBy('output_index')
    .execute();
  return rows.map((r) => ({
    withdrawalId: r.withdrawal_id,
    outputIndex: Number(dbBigint('signing/payoutOutputs', r.output_index)),
  }));
}

export async function insertDeviceReport(
  db: Kysely<Schema>,
  payoutId: bigint | null,
  r: DeviceReport,
): Promise<void> {
  await db
    .insertInto('device_reports')
    .values({
      device_id: r.deviceId,
      payout_id: payoutId,
      code: BigInt(r.code),
      name: r.name,
      reason: r.reason,
      message: r.message.slice(0, 2000),
      at: BigInt(r.at),
    })
    .execute();
}

export async function getSetting(db: Kysely<Schema>, key: string): Promise<string | null> {
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', key)
    .executeTakeFirst();
  return row?.value ?? null;
}

export async function putSetting(
  db: Kysely<Schema>,
  key: string,
  value: string,
  at: bigint,
): Promise<void> {
  await db
    .insertInto('settings')
    .values({ key, value, updated_at: at })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: at }))
    .execute();
}

/** Record (or clear, after a reorg) the height of the block including a payout's transaction. */
export async function setPayoutBlockHeight(
  db: Kysely<Schema>,
  id: bigint,
  height: bigint | null,
): Promise<void> {
  await db.updateTable('payouts').set({ block_height: height }).where('id', '=', id).execute();
}

/** Store the intents last sent with the payout (refreshed at each signing attempt). */
export async function setPayoutIntents(
  db: Kysely<Schema>,
  id: bigint,
  intents: Uint8Array,
): Promise<void> {
  await db.updateTable('payouts').set({ intents }).where('id', '=', id).execute();
}

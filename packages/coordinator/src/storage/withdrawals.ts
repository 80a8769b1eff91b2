/**
 * Withdrawal records, inserted idempotently by (user, idempotency key): a client that retries
 * a request (timeout, crash) gets the record it already created instead of a second
 * withdrawal; a client that reuses a key for a different request gets DUPLICATE, never a
 * silent overwrite or a second payment. The state machine itself lives elsewhere; this module
 * only stores the first state and reads records back.
 */
import type { Kysely, Selectable } from 'kysely';
import { CoordinatorError } from '../errors.js';
import { RISK_OUTCOMES, type RiskOutcome, type Schema, type WithdrawalsTable } from './schema.js';
import {
  assetCode,
  byteString,
  dbBigint,
  describe,
  positiveSats,
  text,
  timeMs,
} from './validate.js';

/** State names: lowercase words joined by underscores, at most 32 characters. */
export const STATE_NAME = /^[a-z][a-z_]{0,31}$/;

export interface WithdrawalInput {
  /** 1..64 chars: becomes the `withdrawalId` of the signed withdrawal intent. */
  readonly id: string;
  readonly userId: string;
  readonly idempotencyKey: string;
  readonly asset: string;
  /** The destination's scriptPubKey, 1..520 bytes. */
  readonly destinationScript: Uint8Array;
  readonly amount: bigint;
  /** The initial state, chosen by the withdrawal state machine. */
  readonly state: string;
  readonly at: Date;
}

export interface StateChange {
  readonly state: string;
  readonly at: bigint;
}

export interface Withdrawal {
  readonly id: string;
  readonly userId: string;
  readonly idempotencyKey: string;
  readonly asset: string;
  readonly destinationScript: Uint8Array;
  readonly amount: bigint;
  readonly state: string;
  readonly stateHistory: readonly StateChange[];
  readonly riskOutcome: RiskOutcome | null;
  readonly riskReasons: readonly string[] | null;
  readonly createdAt: bigint;
  readonly updatedAt: bigint;
}

export interface InsertWithdrawalResult {
  readonly withdrawal: Withdrawal;
  /** False when (user, key) already held a withdrawal with the same content. */
  readonly created: boolean;
}

function corrupt(place: string, what: string): CoordinatorError {
  return new CoordinatorError(
    'INTERNAL',
    `${place}: expected ${what} in the stored row, got other`,
  );
}

function parseHistory(place: string, json: string): readonly StateChange[] {
  const value: unknown = JSON.parse(json);
  if (!Array.isArray(value)) throw corrupt(place, 'a state history array');
  return Object.freeze(
    value.map((x: unknown) => {
      const c = x as { state?: unknown; at?: unknown };
      if (typeof c?.state !== 'string' || !Number.isSafeInteger(c.at)) {
        throw corrupt(place, 'a {state, at} history item');
      }
      return Object.freeze({ state: c.state, at: BigInt(c.at as number) });
    }),
  );
}

function parseReasons(place: string, json: string | null): readonly string[] | null {
  if (json === null) return null;
  const value: unknown = JSON.parse(json);
  if (!Array.isArray(value) || !value.every((r) => typeof r === 'string')) {
    throw corrupt(place, 'a risk reasons array of strings');
  }
  return Object.freeze([...value]);
}

export function withdrawalFromRow(place: string, row: Selectable<WithdrawalsTable>): Withdrawal {
  if (row.risk_outcome !== null && !RISK_OUTCOMES.includes(row.risk_outcome)) {
    throw corrupt(place, 'a known risk outcome');
  }
  return Object.freeze({
    id: row.id,
    userId: row.user_id,
    idempotencyKey: row.idempotency_key,
    asset: row.asset,
    destinationScript: new Uint8Array(row.destination_script),
    amount: dbBigint(place, row.amount),
    state: row.state,
    stateHistory: parseHistory(place, row.state_history),
    riskOutcome: row.risk_outcome,
    riskReasons: parseReasons(place, row.risk_reasons),
    createdAt: dbBigint(place, row.created_at),
    updatedAt: dbBigint(place, row.updated_at),
  });
}

function checkInput(place: string, w: WithdrawalInput): WithdrawalInput {
  if (typeof w !== 'object' || w === null) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected a withdrawal, got ${describe(w)}`,
    );
  }
  const state = text(`${place}.state`, w.state, 1, 32);
  if (!STATE_NAME.test(state)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}.state: expected a lowercase state name, got ${describe(state)}`,
    );
  }
  return {
    id: text(`${place}.id`, w.id, 1, 64),
    userId: text(`${place}.userId`, w.userId, 1, 128),
    idempotencyKey: text(`${place}.idempotencyKey`, w.idempotencyKey, 1, 128),
    asset: assetCode(`${place}.asset`, w.asset),
    destinationScript: byteString(`${place}.destinationScript`, w.destinationScript, 1, 520),
    amount: positiveSats(`${place}.amount`, w.amount),
    state,
    at: w.at,
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Fields of the request that a retry must repeat exactly (not id, state or time). */
function differingFields(stored: Withdrawal, w: WithdrawalInput): string[] {
  const diff: string[] = [];
  if (stored.asset !== w.asset) diff.push('asset');
  if (stored.amount !== w.amount) diff.push('amount');
  if (!sameBytes(stored.destinationScript, w.destinationScript)) diff.push('destinationScript');
  return diff;
}

async function byUserKey(
  db: Kysely<Schema>,
  userId: string,
  key: string,
): Promise<Selectable<WithdrawalsTable> | undefined> {
  return db
    .selectFrom('withdrawals')
    .selectAll()
    .where('user_id', '=', userId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
}

/**
 * Insert a withdrawal unless (userId, idempotencyKey) is taken. Taken with the same asset,
 * amount and destination: returns the stored record, `created: false` (its id, not the new
 * one). Taken with other content, or the id already used by another request: DUPLICATE.
 */
export async function insertWithdrawal(
  db: Kysely<Schema>,
  input: WithdrawalInput,
): Promise<InsertWithdrawalResult> {
  const place = 'withdrawals/insert';
  const w = checkInput(place, input);
  const at = timeMs(`${place}.at`, w.at);
  const inserted = await db
    .insertInto('withdrawals')
    .values({
      id: w.id,
      user_id: w.userId,
      idempotency_key: w.idempotencyKey,
      asset: w.asset,
      destination_script: w.destinationScript,
      amount: w.amount,
      state: w.state,
      state_history: JSON.stringify([{ state: w.state, at: Number(at) }]),
      risk_outcome: null,
      risk_reasons: null,
      created_at: at,
      updated_at: at,
    })
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted !== undefined) {
    return Object.freeze({ withdrawal: withdrawalFromRow(place, inserted), created: true });
  }
  const row = await byUserKey(db, w.userId, w.idempotencyKey);
  if (row === undefined) {
    throw new CoordinatorError(
      'DUPLICATE',
      `${place}: expected an unused withdrawal id, got '${w.id}' already used by another request`,
      { id: w.id },
    );
  }
  const stored = withdrawalFromRow(place, row);
  const diff = differingFields(stored, w);
  if (diff.length > 0) {
    throw new CoordinatorError(
      'DUPLICATE',
      `${place}: expected idempotency key '${w.idempotencyKey}' unused or reused with the same request, got a different ${diff.join(', ')}`,
      { userId: w.userId, idempotencyKey: w.idempotencyKey, fields: diff },
    );
  }
  return Object.freeze({ withdrawal: stored, created: false });
}

/** The withdrawal with this id; NOT_FOUND if none. */
export async function getWithdrawal(db: Kysely<Schema>, id: string): Promise<Withdrawal> {
  const place = 'withdrawals/get';
  const wid = text(`${place}.id`, id, 1, 64);
  const row = await db
    .selectFrom('withdrawals')
    .selectAll()
    .where('id', '=', wid)
    .executeTakeFirst();
  if (row === undefined) {
    throw new CoordinatorError('NOT_FOUND', `${place}: expected withdrawal '${wid}', got none`, {
      id: wid,
    });
  }
  return withdrawalFromRow(place, row);
}

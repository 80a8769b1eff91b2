/**
 * Withdrawal intake and review (issue 4 §3, §6): one database transaction per request — insert
 * idempotently, evaluate the online risk rules on the history read in the same transaction,
 * persist the outcome with every reason, and reserve the user's funds (approved or held) — so a
 * crash leaves either nothing or the complete decision. A request the user cannot fund is refused
 * (INSUFFICIENT_FUNDS) and nothing is written.
 */
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { base32nopad } from '@scure/base';
import { type Kysely, sql } from 'kysely';
import type { ChainNetwork } from '../chain/interface.js';
import { CoordinatorError } from '../errors.js';
import { withdrawalAccepted, withdrawalReleased } from '../ledger/withdrawal-entries.js';
import type { RiskConfig } from '../risk/config.js';
import type { Reason } from '../risk/reasons.js';
import { evaluateWithdrawal } from '../risk/withdrawal.js';
import type { Schema } from '../storage/schema.js';
import { transitionWithdrawal } from '../storage/signing.js';
import { withTransaction } from '../storage/transaction.js';
import { getWithdrawal, insertWithdrawal, type Withdrawal } from '../storage/withdrawals.js';
import { addressToScript } from './address.js';
import type { SubmitWithdrawalInput } from './contract.js';
import { postEntry } from './post-entry.js';

export const ASSET = 'BTC';

export interface WithdrawalDeps {
  readonly db: Kysely<Schema>;
  readonly network: ChainNetwork;
  readonly risk: RiskConfig;
  /** Unix milliseconds. */
  readonly now: () => number;
}

/** `w_` + 26 base32 characters of 16 random bytes: unguessable, fits the intent's 64-char id. */
export function newWithdrawalId(): string {
  return `w_${base32nopad.encode(randomBytes(16)).toLowerCase()}`;
}

const reasonText = (r: Reason<string>) => `${r.code}: ${r.detail}`;
const hex = bytesToHex;

/** The history the risk engine needs, read inside the caller's transaction. */
async function history(
  db: Kysely<Schema>,
  userId: string,
  excludeId: string,
  risk: RiskConfig,
  nowMs: number,
) {
  const c = risk.withdrawal;
  const userSince = BigInt(nowMs - c.frequency.windowSeconds * 1000);
  const globalSince = BigInt(nowMs - c.globalOutflow.windowSeconds * 1000);
  const recent = await db
    .selectFrom('withdrawals')
    .select(['created_at', 'amount'])
    .where('user_id', '=', userId)
    .where('id', '<>', excludeId)
    .where('state', '<>', 'rejected')
    .where('created_at', '>=', userSince)
    .limit(100_000)
    .execute();
  const destinations = await db
    .selectFrom('withdrawals')
    .select('destination_script')
    .distinct()
    .where('user_id', '=', userId)
    .where('state', '=', 'confirmed')
    .limit(100_000)
    .execute();
  const withdrawn = await db
    .selectFrom('withdrawals')
    .select(sql<bigint>`cast(coalesce(sum(amount), 0) as bigint)`.as('total'))
    .where('user_id', '=', userId)
    .where('id', '<>', excludeId)
    .where('state', '<>', 'rejected')
    .executeTakeFirstOrThrow();
  // Deposits credited to the user, net of reversals, from the journal itself (stored postings
  // raise a user's balance when positive: see post-entry.ts).
  const deposited = await db
    .selectFrom('postings')
    .innerJoin('journal_entries', 'journal_entries.id', 'postings.entry_id')
    .innerJoin('accounts', 'accounts.id', 'postings.account_id')
    .select(sql<bigint>`cast(coalesce(sum(postings.amount), 0) as bigint)`.as('total'))
    .where('accounts.kind', '=', 'user')
    .where('accounts.owner', '=', userId)
    .where('journal_entries.kind', 'in', [
      'deposit_credited',
      'deposit_cleared',
      'deposit_reversed',
    ])
    .executeTakeFirstOrThrow();
  // The global outflow rule only sums amounts in the window: one aggregate row stands for all.
  const global = await db
    .selectFrom('withdrawals')
    .select(sql<bigint>`cast(coalesce(sum(amount), 0) as bigint)`.as('total'))
    .where('id', '<>', excludeId)
    .where('state', '<>', 'rejected')
    .where('created_at', '>=', globalSince)
    .executeTakeFirstOrThrow();
  const nowS = Math.floor(nowMs / 1000);
  const globalTotal = BigInt(global.total);
  return {
    userWithdrawals: recent.map((r) => ({
      at: Math.floor(Number(r.created_at) / 1000),
      amount: BigInt(r.amount),
    })),
    knownDestinations: destinations.map((d) => hex(d.destination_script)),
    totalDeposited: BigInt(deposited.total) > 0n ? BigInt(deposited.total) : 0n,
    totalWithdrawn: BigInt(withdrawn.total),
    globalWithdrawals: globalTotal > 0n ? [{ at: nowS, amount: globalTotal }] : [],
  };
}

export async function submitWithdrawal(
  deps: WithdrawalDeps,
  input: SubmitWithdrawalInput,
): Promise<{ withdrawal: Withdrawal; created: boolean }> {
  const script = addressToScript(deps.network, input.address);
  const nowMs = deps.now();
  const at = new Date(nowMs);
  // READ COMMITTED on PostgreSQL: the funds check cannot race (postJournalEntry locks the user's
  // account row before reading its balance), and the risk history is read without making every
  // concurrent submission a serialization conflict. The price: two submissions racing may both
  // see the other absent from the frequency and global-outflow windows (soft online limits; the
  // devices' velocity caps are the hard ones). SQLite serialises writers anyway.
  return withTransaction(
    deps.db,
    async (trx) => {
      const inserted = await insertWithdrawal(trx, {
        id: newWithdrawalId(),
        userId: input.userId,
        idempotencyKey: input.idempotencyKey,
        asset: ASSET,
        destinationScript: script,
        amount: input.amount,
        state: 'requested',
        at,
      });
      if (!inserted.created) return inserted;
      const w = inserted.withdrawal;
      const h = await history(trx, w.userId, w.id, deps.risk, nowMs);
      const decision = evaluateWithdrawal(
        {
          withdrawalId: w.id,
          userId: w.userId,
          scriptPubKey: hex(script),
          amount: w.amount,
          flags: {
            ...(input.flags.passwordChangedAt === undefined
              ? {}
              : { passwordChangedAt: input.flags.passwordChangedAt }),
            ...(input.flags.twoFactorChangedAt === undefined
              ? {}
              : { twoFactorChangedAt: input.flags.twoFactorChangedAt }),
            newDevice: input.flags.newDevice,
            newDestination: input.flags.newDestination ?? false,
          },
        },
        { ...h, realizedProfit: input.flags.realizedProfit ?? 0n },
        deps.risk,
        Math.floor(nowMs / 1000),
      );
      const to =
        decision.outcome === 'approve'
          ? 'approved'
          : decision.outcome === 'hold'
            ? 'held'
            : 'rejected';
      if (to !== 'rejected') {
        await postEntry(
          trx,
          withdrawalAccepted({
            withdrawalId: w.id,
            userId: w.userId,
            amount: w.amount,
            userFee: 0n,
          }),
          at,
        );
      }
      const moved = await transitionWithdrawal(trx, {
        id: w.id,
        to,
        at: BigInt(nowMs),
        riskOutcome: decision.outcome,
        riskReasons: decision.reasons.map(reasonText),
      });
      return { withdrawal: moved, created: true };
    },
    { isolation: 'read committed' },
  );
}

/** The withdrawal, if it waits for an operator (held, refused or failed); INVALID_TRANSITION if not. */
async function underReview(db: Kysely<Schema>, id: string, action: string): Promise<Withdrawal> {
  const w = await getWithdrawal(db, id);
  if (w.state !== 'held' && w.state !== 'refused' && w.state !== 'failed') {
    throw new CoordinatorError(
      'INVALID_TRANSITION',
      `review/${action}: expected withdrawal '${id}' held, refused or failed, got '${w.state}'`,
      { id, state: w.state },
    );
  }
  return w;
}

/** Operator approval of a held, refused or failed withdrawal. */
export async function approveWithdrawal(
  deps: WithdrawalDeps,
  id: string,
  operator: string,
  note: string,
): Promise<Withdrawal> {
  const nowMs = deps.now();
  return withTransaction(deps.db, async (trx) => {
    const w = await underReview(trx, id, 'approve');
    return transitionWithdrawal(trx, {
      id,
      to: 'approved',
      at: BigInt(nowMs),
      payoutId: null,
      riskReasons: [
        ...(w.riskReasons ?? []),
        `OPERATOR_APPROVED: ${operator}: ${note}`.slice(0, 500),
      ],
    });
  });
}

/** Operator rejection: the reserve returns to the user. */
export async function rejectWithdrawal(
  deps: WithdrawalDeps,
  id: string,
  operator: string,
  note: string,
): Promise<Withdrawal> {
  const nowMs = deps.now();
  const at = new Date(nowMs);
  return withTransaction(deps.db, async (trx) => {
    const w = await underReview(trx, id, 'reject');
    await postEntry(
      trx,
      withdrawalReleased({ withdrawalId: w.id, userId: w.userId, amount: w.amount, userFee: 0n }),
      at,
    );
    return transitionWithdrawal(trx, {
      id,
      to: 'rejected',
      at: BigInt(nowMs),
      payoutId: null,
      riskReasons: [
        ...(w.riskReasons ?? []),
        `OPERATOR_REJECTED: ${operator}: ${note}`.slice(0, 500),
      ],
    });
  });
}

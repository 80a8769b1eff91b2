/**
 * Hot-wallet thresholds (issue 4 §2): above the high mark the surplus is swept to the configured
 * cold-wallet address THROUGH THE SAME PATH as any withdrawal — an approved withdrawal of the
 * treasury, paid in a batch, with a risk-signed intent the devices check against their own policy
 * (their limits apply to sweeps too); below the low mark a refill request event is emitted for
 * the custodians of the cold wallet. The figure compared is the hot wallet per the ledger minus
 * what open withdrawals will take out of it. One sweep at a time; one open refill request.
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { base32nopad } from '@scure/base';
import { type Kysely, sql } from 'kysely';
import { type HotWalletThresholds, hotWalletAction } from '../ledger/hot-wallet-action.js';
import type { Schema } from '../storage/schema.js';
import { transitionWithdrawal } from '../storage/signing.js';
import { withTransaction } from '../storage/transaction.js';
import { insertWithdrawal } from '../storage/withdrawals.js';
import { ledgerHotWallet } from './views.js';
import { ASSET } from './withdrawals.js';

/** The owner of treasury withdrawals (sweeps): not a user, never has a user balance. */
export const TREASURY_USER = '@treasury';

const OPEN_STATES = [
  'requested',
  'held',
  'approved',
  'batched',
  'signing',
  'signed',
  'broadcast',
  'refused',
  'failed',
];

export interface TreasuryDeps {
  readonly db: Kysely<Schema>;
  readonly thresholds: HotWalletThresholds;
  readonly coldScript: Uint8Array;
  readonly now: () => number;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

export type TreasuryOutcome =
  | { readonly action: 'sweep'; readonly withdrawalId: string; readonly amount: bigint }
  | { readonly action: 'refill'; readonly amount: bigint }
  | { readonly action: 'none' };

export async function treasuryStep(deps: TreasuryDeps): Promise<TreasuryOutcome> {
  const nowMs = deps.now();
  return withTransaction(deps.db, async (trx) => {
    const open = await trx
      .selectFrom('withdrawals')
      .select(['user_id', sql<bigint>`cast(coalesce(sum(amount), 0) as bigint)`.as('total')])
      .where('state', 'in', OPEN_STATES)
      .groupBy('user_id')
      .execute();
    if (open.some((r) => r.user_id === TREASURY_USER)) return { action: 'none' };
    const outgoing = open.reduce((s, r) => s + BigInt(r.total), 0n);
    const hot = await ledgerHotWallet(trx);
    const available = hot > outgoing ? hot - outgoing : 0n;
    const decision = hotWalletAction(available, deps.thresholds);
    if (decision.action === 'sweep') {
      const id = `sweep_${base32nopad.encode(randomBytes(10)).toLowerCase()}`;
      await insertWithdrawal(trx, {
        id,
        userId: TREASURY_USER,
        idempotencyKey: id,
        asset: ASSET,
        destinationScript: deps.coldScript,
        amount: decision.amount,
        state: 'requested',
        at: new Date(nowMs),
      });
      await transitionWithdrawal(trx, {
        id,
        to: 'approved',
        at: BigInt(nowMs),
        riskOutcome: 'approve',
        riskReasons: [
          `HOT_WALLET_SWEEP: available ${available} above ${deps.thresholds.sweepAbove}`,
        ],
      });
      deps.log?.('hot_wallet_sweep', { withdrawalId: id, amount: String(decision.amount) });
      return { action: 'sweep', withdrawalId: id, amount: decision.amount };
    }
    if (decision.action === 'refill') {
      const pending = await trx
        .selectFrom('events')
        .select('id')
        .where('kind', '=', 'refill_request')
        .where('delivered_at', 'is', null)
        .executeTakeFirst();
      if (pending === undefined) {
        await trx
          .insertInto('events')
          .values({
            kind: 'refill_request',
            payload: JSON.stringify({
              amount: String(decision.amount),
              available: String(available),
            }),
            created_at: BigInt(nowMs),
            delivered_at: null,
          })
          .execute();
        deps.log?.('hot_wallet_refill_requested', { amount: String(decision.amount) });
      }
      return { action: 'refill', amount: decision.amount };
    }
    return { action: 'none' };
  });
}

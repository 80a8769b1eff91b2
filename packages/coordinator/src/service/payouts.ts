/**
 * The payout pipeline (issue 4 §5–6): approved withdrawals become one batched transaction,
 * signed by two devices, broadcast, confirmed. Each step is a function that reads persisted state,
 * does at most one kind of side effect, and persists the result; the daemon calls them in a loop
 * and a restart simply calls them again:
 *
 *   batch      approved → batched → signing   one DB transaction: coins reserved, PSBT stored
 *   sign       signing → signed | refused     devices asked (same PSBT every attempt), then stored
 *   broadcast  signed → broadcast             the same stored bytes relayed, then stored
 *   confirm    broadcast → confirmed          at the configured depth, ledger settled
 *
 * Side effects are idempotent by construction: a device asked twice for the same PSBT signs the
 * same transaction (its replay rule allows only that); the node given the same bytes twice keeps
 * one transaction. A transaction once signed is never rebuilt from other inputs.
 * While withdrawals are paused nothing is batched, signed or broadcast.
 */
import { encodeCanonical } from '@keyline/wire-protocol';
import type { Kysely, Transaction } from 'kysely';
import { CoordinatorError, isCoordinatorError } from '../errors.js';
import { sweepToCold } from '../ledger/treasury-entries.js';
import {
  withdrawalBroadcast,
  withdrawalConfirmed,
  withdrawalFeeBumped,
} from '../ledger/withdrawal-entries.js';
import type { SignedWithdrawalIntent, signWithdrawalIntent } from '../risk/intent.js';
import {
  collectSignatures,
  type SignatureReply,
  type SigningDevice,
} from '../signing/orchestrator.js';
import type { Schema } from '../storage/schema.js';
import {
  deferPayout,
  getPayout,
  getSetting,
  insertDeviceReport,
  insertPayout,
  type Payout,
  payoutOutputs,
  payoutsInState,
  setPayoutIntents,
  transitionPayout,
  transitionWithdrawal,
  withdrawalsInState,
} from '../storage/signing.js';
import { withTransaction } from '../storage/transaction.js';
import { getWithdrawal, type Withdrawal } from '../storage/withdrawals.js';
import { postEntry } from './post-entry.js';
import { TREASURY_USER } from './treasury.js';
import { storedSum } from './views.js';

export const PAUSE_SETTING = 'withdrawals_paused';

/** What the pipeline needs from the vault (coins, PSBTs, signatures). */
export interface PayoutVault {
  /**
   * Choose a batch among `approved` (oldest first, bounded), select and reserve coins for it
   * inside `trx`, and build the PSBT; null when nothing can be paid now (no confirmed coins).
   * `reserveFor` is called with the payout id once it exists, inside the same transaction.
   */
  plan(
    trx: Transaction<Schema>,
    approved: readonly Withdrawal[],
    feeRate: bigint,
    tipHeight: number,
  ): Promise<PlannedPayout | null>;
  /** Release the coins reserved for a payout that will never be broadcast. */
  release(trx: Transaction<Schema>, payoutId: bigint): Promise<void>;
  /** Throws when a device's signatures do not all verify for `psbt`. */
  verify(psbt: Uint8Array, deviceId: string, signatures: SignatureReply): void;
  /** Combine two verified replies, finalize, extract. */
  finalize(
    psbt: Uint8Array,
    replies: readonly { deviceId: string; signatures: SignatureReply }[],
  ): { rawTx: Uint8Array; txid: string };
  /**
   * A replacement of a broadcast payout (same inputs and payments, more fee from the change), or
   * null when the change cannot pay it. Reserves nothing: the inputs stay the original's.
   */
  replace(
    trx: Transaction<Schema>,
    original: { psbt: Uint8Array; rawTx: Uint8Array },
    outputs: readonly { withdrawalId: string; outputIndex: number }[],
    feeRate: bigint,
  ): Promise<{ psbt: Uint8Array; fee: bigint; vsize: bigint; feeRate: bigint } | null>;
  /** The payout's inputs are spent by `txid` (called when it confirms). */
  settle(trx: Transaction<Schema>, payoutId: bigint, txid: string): Promise<void>;
}

export interface PlannedPayout {
  readonly psbt: Uint8Array;
  readonly fee: bigint;
  readonly vsize: bigint;
  readonly feeRate: bigint;
  /** The withdrawals paid, with the output index paying each. */
  readonly outputs: readonly { readonly withdrawalId: string; readonly outputIndex: number }[];
  /** Reserve the selected coins for the payout, once its id exists (same transaction). */
  reserve(trx: Transaction<Schema>, payoutId: bigint): Promise<void>;
}

export interface PayoutChain {
  broadcast(raw: Uint8Array): Promise<string>;
  tipHeight(): Promise<number>;
  feeRate(): Promise<bigint>;
}

export interface PayoutDeps {
  readonly db: Kysely<Schema>;
  readonly vault: PayoutVault;
  readonly chain: PayoutChain;
  readonly devices: () => readonly SigningDevice[];
  /** Wallet name registered on the devices. */
  readonly walletName: string;
  /** Signs intents; the pipeline never holds the key (the caller's closure does). */
  readonly signIntent: (
    content: Parameters<typeof signWithdrawalIntent>[0],
  ) => SignedWithdrawalIntent;
  readonly now: () => number;
  readonly intentTtlSeconds: number;
  readonly maxBatch: number;
  readonly confirmations: number;
  /** Called with each signing attempt's duration (seconds) and outcome, for metrics. */
  readonly observeSigning?: (seconds: number, outcome: string) => void;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
  /**
   * Fault injection for the crash tests: called at every persisted step (`<step>:before_commit`
   * inside the transaction, `<step>:after_commit` after it) and after each side effect
   * (`sign:after_devices`, `broadcast:after_send`). A throw here is a crash at that point.
   */
  readonly crashPoint?: (point: string) => void;
}

export async function isPaused(db: Kysely<Schema>): Promise<boolean> {
  return (await getSetting(db, PAUSE_SETTING)) !== null;
}

/** Step: batch. Returns the payout created, or null. */
export async function batchStep(deps: PayoutDeps): Promise<Payout | null> {
  if (await isPaused(deps.db)) return null;
  const feeRate = await deps.chain.feeRate();
  const height = await deps.chain.tipHeight();
  const nowMs = deps.now();
  return withTransaction(deps.db, async (trx) => {
    const approved = await withdrawalsInState(trx, 'approved', deps.maxBatch);
    if (approved.length === 0) return null;
    const plan = await deps.vault.plan(trx, approved, feeRate, height);
    if (plan === null) return null;
    const payout = await insertPayout(trx, {
      psbt: plan.psbt,
      intents: encodeCanonical([]),
      fee: plan.fee,
      vsize: plan.vsize,
      feeRate: plan.feeRate,
      outputs: plan.outputs,
      at: BigInt(nowMs),
    });
    await plan.reserve(trx, payout.id);
    for (const o of plan.outputs) {
      await transitionWithdrawal(trx, {
        id: o.withdrawalId,
        to: 'batched',
        at: BigInt(nowMs),
        payoutId: payout.id,
      });
      await transitionWithdrawal(trx, { id: o.withdrawalId, to: 'signing', at: BigInt(nowMs) });
    }
    deps.crashPoint?.('batch:before_commit');
    deps.log?.('payout_batched', {
      payoutId: String(payout.id),
      withdrawals: plan.outputs.length,
      fee: String(plan.fee),
    });
    return payout;
  }).then((p) => {
    if (p !== null) deps.crashPoint?.('batch:after_commit');
    return p;
  });
}

async function intentsFor(deps: PayoutDeps, payout: Payout): Promise<SignedWithdrawalIntent[]> {
  const outputs = await payoutOutputs(deps.db, payout.id);
  const expiresAt = Math.floor(deps.now() / 1000) + deps.intentTtlSeconds;
  const intents: SignedWithdrawalIntent[] = [];
  for (const o of outputs) {
    const w = await getWithdrawal(deps.db, o.withdrawalId);
    intents.push(
      deps.signIntent({
        withdrawalId: w.id,
        scriptPubKey: w.destinationScript,
        amount: w.amount,
        expiresAt,
      }),
    );
  }
  return intents;
}

async function moveAll(
  trx: Transaction<Schema>,
  payoutId: bigint,
  to: 'signed' | 'refused' | 'broadcast' | 'confirmed',
  at: bigint,
  extra: Parameters<typeof transitionWithdrawal>[1] extends infer T
    ? Partial<Omit<T & object, 'id' | 'to' | 'at'>>
    : never = {},
): Promise<readonly Withdrawal[]> {
  const out: Withdrawal[] = [];
  for (const o of await payoutOutputs(trx, payoutId)) {
    out.push(await transitionWithdrawal(trx, { id: o.withdrawalId, to, at, ...extra }));
  }
  return out;
}

/** Step: sign one payout. Returns what happened. */
export async function signPayout(
  deps: PayoutDeps,
  payout: Payout,
): Promise<'signed' | 'refused' | 'deferred' | 'paused'> {
  if (await isPaused(deps.db)) return 'paused';
  const intents = await intentsFor(deps, payout);
  await setPayoutIntents(deps.db, payout.id, encodeCanonical(intents));
  const height = await deps.chain.tipHeight().catch(() => 0);
  const started = deps.now();
  const outcome = await collectSignatures(deps.devices(), {
    params: {
      wallet: deps.walletName,
      psbt: new Uint8Array(payout.psbt),
      time: { unixSeconds: Math.floor(started / 1000), height },
      intents,
    },
    verify: (deviceId, sigs) => deps.vault.verify(payout.psbt, deviceId, sigs),
    now: deps.now,
  });
  const nowMs = deps.now();
  deps.observeSigning?.((nowMs - started) / 1000, outcome.kind);
  for (const f of outcome.faults)
    deps.log?.('device_fault', { deviceId: f.deviceId, message: f.message });
  if (outcome.kind === 'unavailable') {
    const backoffMs = Math.min(300_000, 2_000 * 2 ** Math.min(8, Number(payout.attempts)));
    await deferPayout(
      deps.db,
      payout.id,
      `fewer than two devices signed: ${outcome.faults.map((f) => `${f.deviceId}: ${f.message}`).join('; ')}`,
      BigInt(nowMs + backoffMs),
    );
    return 'deferred';
  }
  const at = BigInt(nowMs);
  const replacement = payout.replacesId !== null;
  if (outcome.kind === 'refused') {
    await withTransaction(deps.db, async (trx) => {
      await transitionPayout(trx, { id: payout.id, to: 'refused', at });
      await insertDeviceReport(trx, payout.id, outcome.report);
      // A refused replacement leaves the original broadcast and its withdrawals untouched.
      if (!replacement) {
        await deps.vault.release(trx, payout.id);
        await moveAll(trx, payout.id, 'refused', at, { deviceReport: outcome.report });
      }
    });
    deps.log?.('payout_refused', { payoutId: String(payout.id), report: outcome.report });
    return 'refused';
  }
  deps.crashPoint?.('sign:after_devices');
  const { rawTx, txid } = deps.vault.finalize(payout.psbt, outcome.replies);
  await withTransaction(deps.db, async (trx) => {
    await transitionPayout(trx, {
      id: payout.id,
      to: 'signed',
      at,
      rawTx,
      txid,
      signers: outcome.replies.map((r) => r.deviceId),
    });
    if (!replacement) await moveAll(trx, payout.id, 'signed', at);
    deps.crashPoint?.('sign:before_commit');
  });
  deps.crashPoint?.('sign:after_commit');
  deps.log?.('payout_signed', { payoutId: String(payout.id), txid });
  return 'signed';
}

/** Share `fee` among `n` withdrawals: equal parts, the remainder to the first. */
export function feeShares(fee: bigint, n: number): bigint[] {
  if (n <= 0) return [];
  const part = fee / BigInt(n);
  const shares = Array.from({ length: n }, () => part);
  shares[0] = part + (fee - part * BigInt(n));
  return shares;
}

/** Step: broadcast one signed payout (the stored bytes, unchanged). */
export async function broadcastPayout(
  deps: PayoutDeps,
  payout: Payout,
): Promise<'broadcast' | 'deferred' | 'paused'> {
  if (await isPaused(deps.db)) return 'paused';
  if (payout.rawTx === null || payout.txid === null) {
    throw new CoordinatorError(
      'INTERNAL',
      `payouts/broadcast: expected payout ${payout.id} to hold its signed bytes, got none`,
    );
  }
  try {
    const txid = await deps.chain.broadcast(payout.rawTx);
    if (txid !== payout.txid) {
      throw new CoordinatorError(
        'INTERNAL',
        `payouts/broadcast: expected txid ${payout.txid} from the node, got ${txid}`,
      );
    }
  } catch (e) {
    if (
      isCoordinatorError(e, 'CHAIN_UNAVAILABLE') ||
      isCoordinatorError(e, 'CHAIN_REJECTED') ||
      isCoordinatorError(e, 'CHAIN_RPC')
    ) {
      const backoffMs = Math.min(300_000, 2_000 * 2 ** Math.min(8, Number(payout.attempts)));
      await deferPayout(
        deps.db,
        payout.id,
        `${e.code}: ${e.message}`,
        BigInt(deps.now() + backoffMs),
      );
      deps.log?.('broadcast_deferred', {
        payoutId: String(payout.id),
        code: e.code,
        message: e.message,
      });
      return 'deferred';
    }
    throw e;
  }
  deps.crashPoint?.('broadcast:after_send');
  const at = BigInt(deps.now());
  if (payout.replacesId !== null) {
    await recordReplacementBroadcast(deps, payout, at);
    deps.log?.('payout_replacement_broadcast', { payoutId: String(payout.id), txid: payout.txid });
    return 'broadcast';
  }
  await withTransaction(deps.db, async (trx) => {
    await transitionPayout(trx, { id: payout.id, to: 'broadcast', at });
    const moved = await moveAll(trx, payout.id, 'broadcast', at);
    const shares = feeShares(payout.fee, moved.length);
    for (const [i, w] of moved.entries()) {
      const fee = shares[i] ?? 0n;
      // A sweep's fee is booked with the sweep itself when it settles (ledger sweepToCold).
      if (fee > 0n && w.userId !== TREASURY_USER)
        await postEntry(
          trx,
          withdrawalBroadcast({ withdrawalId: w.id, networkFee: fee }),
          new Date(Number(at)),
        );
    }
    deps.crashPoint?.('broadcast:before_commit');
  });
  deps.crashPoint?.('broadcast:after_commit');
  deps.log?.('payout_broadcast', { payoutId: String(payout.id), txid: payout.txid });
  return 'broadcast';
}

/** Step: confirm every broadcast payout whose block is deep enough. */
export async function confirmStep(deps: PayoutDeps, tipHeight: number): Promise<number> {
  let confirmed = 0;
  for (const payout of await payoutsInState(deps.db, 'broadcast')) {
    if (payout.blockHeight === null || payout.txid === null) continue;
    if (tipHeight - Number(payout.blockHeight) + 1 < deps.confirmations) continue;
    const at = BigInt(deps.now());
    const txid = payout.txid;
    await withTransaction(deps.db, async (trx) => {
      await transitionPayout(trx, { id: payout.id, to: 'confirmed', at });
      const moved = await moveAll(trx, payout.id, 'confirmed', at, { payoutId: payout.id });
      const shares = feeShares(payout.fee, moved.length);
      for (const [i, w] of moved.entries()) {
        const fee = shares[i] ?? 0n;
        if (w.userId === TREASURY_USER) {
          await postEntry(
            trx,
            sweepToCold({ txid, amount: w.amount, networkFee: fee }),
            new Date(Number(at)),
          );
          continue;
        }
        // What the reserve holds beyond the amount: every fee share reserved at broadcast and at
        // each replacement (the pending account's stored sum, see post-entry.ts).
        const reserved = (await storedSum(trx, 'pending_withdrawals', w.id)) - w.amount;
        await postEntry(
          trx,
          withdrawalConfirmed({
            withdrawalId: w.id,
            amount: w.amount,
            userFee: 0n,
            reservedNetworkFee: reserved,
            paidNetworkFee: fee,
          }),
          new Date(Number(at)),
        );
      }
      // Every other version of this payment (the original or another replacement) is now dead.
      for (const other of await otherVersions(trx, payout.id)) {
        await transitionPayout(trx, { id: other, to: 'replaced', at });
      }
      await deps.vault.settle(trx, await rootOf(trx, payout), txid);
      deps.crashPoint?.('confirm:before_commit');
    });
    deps.crashPoint?.('confirm:after_commit');
    confirmed += 1;
    deps.log?.('payout_confirmed', { payoutId: String(payout.id), txid });
  }
  return confirmed;
}

/** The first version of a payment (the payout whose coins are reserved). */
async function rootOf(db: Kysely<Schema>, payout: Payout): Promise<bigint> {
  let p = payout;
  while (p.replacesId !== null) p = await getPayout(db, p.replacesId);
  return p.id;
}

/** Still-open payouts paying the same withdrawals as `id`, other than it. */
async function otherVersions(db: Kysely<Schema>, id: bigint): Promise<bigint[]> {
  const rows = await db
    .selectFrom('payout_withdrawals as a')
    .innerJoin('payout_withdrawals as b', 'b.withdrawal_id', 'a.withdrawal_id')
    .innerJoin('payouts as p', 'p.id', 'b.payout_id')
    .select('p.id')
    .distinct()
    .where('a.payout_id', '=', id)
    .where('b.payout_id', '!=', id)
    .where('p.state', 'in', ['signing', 'signed', 'broadcast'])
    .execute();
  return rows.map((r) => BigInt(r.id));
}

/** A replacement went out: the fee increase is reserved from each withdrawal (ledger). */
async function recordReplacementBroadcast(
  deps: PayoutDeps,
  payout: Payout,
  at: bigint,
): Promise<void> {
  if (payout.replacesId === null || payout.txid === null) return;
  const txid = payout.txid;
  const previous = await getPayout(deps.db, payout.replacesId);
  await withTransaction(deps.db, async (trx) => {
    await transitionPayout(trx, { id: payout.id, to: 'broadcast', at });
    const outputs = await payoutOutputs(trx, payout.id);
    const increase = payout.fee > previous.fee ? payout.fee - previous.fee : 0n;
    const shares = feeShares(increase, outputs.length);
    for (const [i, o] of outputs.entries()) {
      const w = await getWithdrawal(trx, o.withdrawalId);
      const share = shares[i] ?? 0n;
      if (share > 0n && w.userId !== TREASURY_USER) {
        await postEntry(
          trx,
          withdrawalFeeBumped({ withdrawalId: w.id, replacementTxid: txid, feeIncrease: share }),
          new Date(Number(at)),
        );
      }
    }
  });
}

export interface BumpOptions {
  /** A broadcast payout unconfirmed for this long is a candidate for a fee bump. */
  readonly afterMs: number;
}

/**
 * Step: bump the fee of stuck payouts (RBF). A payout broadcast at least `afterMs` ago, still
 * unconfirmed, with no open replacement, whose fee rate is below the gateway's estimate, gets a
 * replacement: the same inputs and payments, more fee from the change (vault.replace), which then
 * goes through the same signing (the devices check the replacement and cap the bump) and
 * broadcast steps. Never new inputs: a signed payment is never rebuilt from disjoint coins.
 */
export async function bumpStep(deps: PayoutDeps, options: BumpOptions): Promise<number> {
  if (await isPaused(deps.db)) return 0;
  const nowMs = deps.now();
  let bumped = 0;
  const candidates = (await payoutsInState(deps.db, 'broadcast')).filter(
    (p) => p.blockHeight === null && Number(p.updatedAt) + options.afterMs <= nowMs,
  );
  if (candidates.length === 0) return 0;
  const target = await deps.chain.feeRate();
  for (const p of candidates) {
    if (p.feeRate >= target || p.rawTx === null) continue;
    const open = await deps.db
      .selectFrom('payouts')
      .select('id')
      .where('replaces_id', '=', p.id)
      .where('state', 'in', ['signing', 'signed', 'broadcast'])
      .executeTakeFirst();
    if (open !== undefined) continue;
    const rawTx = p.rawTx;
    const created = await withTransaction(deps.db, async (trx) => {
      const outputs = await payoutOutputs(trx, p.id);
      const next = await deps.vault.replace(trx, { psbt: p.psbt, rawTx }, outputs, target);
      if (next === null) return null;
      return insertPayout(trx, {
        psbt: next.psbt,
        intents: encodeCanonical([]),
        fee: next.fee,
        vsize: next.vsize,
        feeRate: next.feeRate,
        replacesId: p.id,
        outputs,
        at: BigInt(nowMs),
      });
    });
    if (created === null) {
      deps.log?.('fee_bump_unaffordable', { payoutId: String(p.id) });
      continue;
    }
    bumped += 1;
    deps.log?.('fee_bump', {
      payoutId: String(p.id),
      replacementId: String(created.id),
      fee: String(created.fee),
      feeRate: String(created.feeRate),
    });
  }
  return bumped;
}

/** One pass of the pipeline: batch, sign what is due, broadcast what is signed. */
export async function runPipelineOnce(deps: PayoutDeps): Promise<void> {
  while ((await batchStep(deps)) !== null) {
    // keep batching while approved withdrawals and coins remain
  }
  const now = BigInt(deps.now());
  for (const p of await payoutsInState(deps.db, 'signing')) {
    if (p.nextAttemptAt <= now) await signPayout(deps, p);
  }
  for (const p of await payoutsInState(deps.db, 'signed')) {
    if (p.nextAttemptAt <= now || p.attempts === 0n) await broadcastPayout(deps, p);
  }
}

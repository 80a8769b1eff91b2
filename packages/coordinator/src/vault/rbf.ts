/**
 * Replace-by-fee for a stuck vault transaction: the same inputs in the same order, the same
 * payments in the same order, a higher fee taken from the change output only (the change shrinks,
 * or goes entirely to the fee when what is left would be dust). The replacement satisfies BIP125
 * as Bitcoin Core applies it, against the original's ACTUAL signed vsize and our upper bound of the
 * replacement's (73-byte signatures):
 *
 *   rule 3  new fee >= old fee
 *   rule 4  new fee − old fee >= incremental relay feerate × new vsize
 *   rule 6  new feerate > old feerate       (new fee × old vsize > old fee × new vsize)
 *   target  new fee >= target feerate × new vsize
 *
 * Refused with INSUFFICIENT_FUNDS when the change cannot pay it (or there is no change). A
 * replacement never adds an input: paying more than the change holds would need one, and that is
 * a new transaction, not a fee bump. Pure. docs/vault.md §6.
 */
import { CoordinatorError } from '../errors.js';
import { checkFeerate } from './coin-selection.js';
import { checkPlan, outpointKey, type TxPlan } from './plan.js';
import { CHANGE_OUTPUT_WEIGHT, feeFor, outputWeight, txWeight, vsizeOf } from './tx-weight.js';

const PLACE = 'vault/rbf';

/**
 * 1 sat/vB: Bitcoin Core's long-standing default `-incrementalrelayfee`. A node configured lower
 * accepts every replacement this default produces.
 */
export const DEFAULT_INCREMENTAL_RELAY_SAT_PER_KVB = 1000n;

export interface ReplacementRequest {
  /** The plan of the transaction being replaced, as it was built and broadcast. */
  readonly original: TxPlan;
  /** The original signed transaction's vsize (from finalize), at most its plan's estimate. */
  readonly originalVsize: number;
  /** The feerate wanted now (the gateway's estimate), sat/kvB. */
  readonly feerateSatPerKvB: bigint;
  readonly incrementalRelaySatPerKvB?: bigint;
  readonly dustThreshold?: bigint;
}

const bad = (message: string, detail: Record<string, unknown> = {}) =>
  new CoordinatorError('BAD_REQUEST', `${PLACE}: ${message}`, detail);

function paymentsWeight(plan: TxPlan): number {
  return plan.payments.reduce((w, p) => w + outputWeight(p.scriptPubKey.length), 0);
}

/** The least fee a replacement of vsize `v` may pay (rules 3, 4, 6 and the target). */
function leastFee(req: ReplacementRequest, incremental: bigint, v: number): bigint {
  const old = req.original.fee;
  const rule4 = old + feeFor(v, incremental);
  const rule6 = (old * BigInt(v)) / BigInt(req.originalVsize) + 1n;
  const target = feeFor(v, req.feerateSatPerKvB);
  let least = rule4;
  if (rule6 > least) least = rule6;
  if (target > least) least = target;
  return least;
}

function plan(original: TxPlan, change: bigint | null, fee: bigint, weight: number): TxPlan {
  return Object.freeze({
    inputs: original.inputs,
    payments: original.payments,
    change,
    fee,
    weight,
    vsize: vsizeOf(weight),
    totalIn: original.totalIn,
    totalOut: original.totalIn - fee,
  });
}

function checkRequest(req: ReplacementRequest): { incremental: bigint; dust: bigint } {
  if (typeof req !== 'object' || req === null) throw bad('expected a request object');
  const dust = req.dustThreshold ?? 546n;
  checkPlan(`${PLACE}/original`, req.original, dust);
  checkFeerate(PLACE, req.feerateSatPerKvB);
  const incremental = req.incrementalRelaySatPerKvB ?? DEFAULT_INCREMENTAL_RELAY_SAT_PER_KVB;
  if (typeof incremental !== 'bigint' || incremental < 1n || incremental > 1_000_000n)
    throw bad(
      `expected an incremental relay feerate of 1..1000000 sat/kvB, got ${String(incremental)}`,
    );
  const v = req.originalVsize;
  if (!Number.isInteger(v) || v < 1 || v > req.original.vsize) {
    throw bad(
      `expected the original's signed vsize 1..${req.original.vsize} (its estimate), got ${String(v)}`,
    );
  }
  return { incremental, dust };
}

/** The replacement plan; its change output (if kept) goes to the same change address. */
export function replaceByFee(req: ReplacementRequest): TxPlan {
  const { incremental, dust } = checkRequest(req);
  const o = req.original;
  if (o.change === null) {
    throw new CoordinatorError(
      'INSUFFICIENT_FUNDS',
      `${PLACE}: expected a change output to take the higher fee from, got a transaction without change`,
    );
  }
  const nIn = o.inputs.length;
  const nPay = o.payments.length;
  const payW = paymentsWeight(o);
  const withChange = txWeight(nIn, nPay + 1, payW + CHANGE_OUTPUT_WEIGHT);
  const feeWith = leastFee(req, incremental, vsizeOf(withChange));
  const change = o.totalIn - o.totalOut + o.change - feeWith;
  if (change >= dust) return plan(o, change, feeWith, withChange);
  // What is left would be dust: the whole change goes to the fee, and the output disappears.
  if (nPay === 0) {
    throw new CoordinatorError(
      'INSUFFICIENT_FUNDS',
      `${PLACE}: expected change above dust after the bump, got ${change} sat and no payment to keep`,
    );
  }
  const without = txWeight(nIn, nPay, payW);
  const feeAll = o.fee + o.change;
  const least = leastFee(req, incremental, vsizeOf(without));
  if (feeAll < least) {
    throw new CoordinatorError(
      'INSUFFICIENT_FUNDS',
      `${PLACE}: expected the change (${o.change} sat) to pay a replacement fee of at least ${least} sat, got ${feeAll} sat in all`,
      { needed: least.toString(), available: feeAll.toString() },
    );
  }
  return plan(o, null, feeAll, without);
}

/**
 * Checks that `replacement` may replace `original` (whose signed vsize was `originalVsize`):
 * same inputs in order, same payments in order, change not larger, and rules 3, 4 and 6.
 * BAD_REQUEST naming the rule otherwise.
 */
export function checkReplacement(
  original: TxPlan,
  originalVsize: number,
  replacement: TxPlan,
  incrementalRelaySatPerKvB: bigint = DEFAULT_INCREMENTAL_RELAY_SAT_PER_KVB,
  dustThreshold = 546n,
): void {
  checkPlan(`${PLACE}/original`, original, dustThreshold);
  checkPlan(`${PLACE}/replacement`, replacement, dustThreshold);
  const same =
    original.inputs.length === replacement.inputs.length &&
    original.inputs.every((u, i) => {
      const r = replacement.inputs[i];
      return r !== undefined && outpointKey(u) === outpointKey(r) && u.value === r.value;
    });
  if (!same) throw bad('expected the same inputs in the same order, got others');
  const samePayments =
    original.payments.length === replacement.payments.length &&
    original.payments.every((p, i) => {
      const r = replacement.payments[i];
      return (
        r !== undefined &&
        r.withdrawalId === p.withdrawalId &&
        r.amount === p.amount &&
        r.scriptPubKey.length === p.scriptPubKey.length &&
        r.scriptPubKey.every((b, j) => b === p.scriptPubKey[j])
      );
    });
  if (!samePayments) throw bad('expected the same payments in the same order, got others');
  if (
    replacement.change !== null &&
    (original.change === null || replacement.change > original.change)
  )
    throw bad('expected the fee taken from change only, got a larger or new change output');
  const v = BigInt(replacement.vsize);
  if (replacement.fee < original.fee)
    throw bad('rule 3: expected a fee at least the original fee', { rule: 3 });
  if (replacement.fee - original.fee < feeFor(replacement.vsize, incrementalRelaySatPerKvB))
    throw bad('rule 4: expected the fee to rise by at least the incremental relay fee × vsize', {
      rule: 4,
    });
  if (replacement.fee * BigInt(originalVsize) <= original.fee * v)
    throw bad('rule 6: expected a higher feerate than the original', { rule: 6 });
}

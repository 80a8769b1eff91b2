/**
 * Coin selection with batching: from the wallet's available UTXOs and the approved withdrawals in
 * order, choose the longest payable prefix of withdrawals (bounded by the output, input and amount
 * limits) and the fewest inputs that pay it at the target feerate, largest first. Change is added
 * when it would be at least the dust threshold; otherwise the remainder goes to the fee. Deposits
 * shallower than `minConfirmationsDeposit` and own change shallower than `minConfirmationsChange`
 * are never selected, nor UTXOs worth less than what spending them costs.
 *
 * Pure and deterministic: the same request gives the same plan (UTXOs are ranked by value, then
 * txid, then vout). O(n log n) in the UTXOs for the sort, then O(limits). docs/vault.md §3.
 */
import { CoordinatorError } from '../errors.js';
import { MAX_MONEY_SATS } from '../storage/schema.js';
import {
  checkPayment,
  checkUtxo,
  outpointKey,
  type Payment,
  type SpendableUtxo,
  type TxPlan,
} from './plan.js';
import {
  CHANGE_OUTPUT_WEIGHT,
  feeFor,
  INPUT_WEIGHT,
  outputWeight,
  txWeight,
  vsizeOf,
} from './tx-weight.js';

const PLACE = 'vault/select';

export interface SelectionLimits {
  /** Outputs per transaction including the change output: 2..1000 (the devices' limit). */
  readonly maxOutputs: number;
  /** Inputs per transaction: 1..1000. */
  readonly maxInputs: number;
  /** Confirmations a deposit (branch 0) needs before it is spent: >= 1. */
  readonly minConfirmationsDeposit: number;
  /** Confirmations our own change (branch 1) needs before it is spent: >= 0. */
  readonly minConfirmationsChange: number;
  /** No output below this; change below it is folded into the fee. >= 1 sat. */
  readonly dustThreshold: bigint;
  /** Most satoshis paid to withdrawals by one transaction (e.g. the devices' per-tx cap). */
  readonly maxBatchAmount: bigint;
}

export const DEFAULT_SELECTION_LIMITS: SelectionLimits = Object.freeze({
  maxOutputs: 501,
  maxInputs: 500,
  minConfirmationsDeposit: 3,
  minConfirmationsChange: 1,
  dustThreshold: 546n,
  maxBatchAmount: MAX_MONEY_SATS,
});

/** Feerates accepted, sat per 1000 vB: 1 sat/kvB .. 10 000 sat/vB. */
export const MIN_FEERATE_SAT_PER_KVB = 1n;
export const MAX_FEERATE_SAT_PER_KVB = 10_000_000n;

export interface SelectionRequest {
  /** Available (not reserved, not spent) UTXOs of the wallet, any order. */
  readonly utxos: readonly SpendableUtxo[];
  /** Approved withdrawals, oldest first: batches take a prefix. */
  readonly withdrawals: readonly Payment[];
  /** The gateway's fee estimate, sat per 1000 vB. */
  readonly feerateSatPerKvB: bigint;
  /** Height of the chain tip (confirmations = tip − height + 1). */
  readonly tipHeight: number;
  readonly limits?: Partial<SelectionLimits>;
}

export interface Selection extends TxPlan {
  /** Withdrawals not in this batch (left for the next), in order. */
  readonly deferred: readonly Payment[];
  /** How many UTXOs could be spent (deep enough and worth more than their cost). */
  readonly eligible: number;
}

function bad(message: string, detail: Record<string, unknown> = {}): CoordinatorError {
  return new CoordinatorError('BAD_REQUEST', `${PLACE}: ${message}`, detail);
}

function intIn(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw bad(`expected ${name} an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

export function resolveLimits(over: Partial<SelectionLimits> = {}): SelectionLimits {
  const l = { ...DEFAULT_SELECTION_LIMITS, ...over };
  intIn('maxOutputs', l.maxOutputs, 2, 1000);
  intIn('maxInputs', l.maxInputs, 1, 1000);
  intIn('minConfirmationsDeposit', l.minConfirmationsDeposit, 1, 10_000);
  intIn('minConfirmationsChange', l.minConfirmationsChange, 0, 10_000);
  if (typeof l.dustThreshold !== 'bigint' || l.dustThreshold < 1n || l.dustThreshold > 1_000_000n)
    throw bad(`expected dustThreshold a bigint in 1..1000000, got ${String(l.dustThreshold)}`);
  if (
    typeof l.maxBatchAmount !== 'bigint' ||
    l.maxBatchAmount < 1n ||
    l.maxBatchAmount > MAX_MONEY_SATS
  )
    throw bad(`expected maxBatchAmount a bigint in 1..${MAX_MONEY_SATS}`);
  return Object.freeze(l);
}

export function checkFeerate(place: string, f: unknown): bigint {
  if (typeof f !== 'bigint' || f < MIN_FEERATE_SAT_PER_KVB || f > MAX_FEERATE_SAT_PER_KVB) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected a feerate of ${MIN_FEERATE_SAT_PER_KVB}..${MAX_FEERATE_SAT_PER_KVB} sat/kvB as a bigint, got ${typeof f === 'bigint' ? `${f}` : typeof f}`,
    );
  }
  return f;
}

/** Value desc, then txid asc, then vout asc: a total order, so the result is deterministic. */
function byValueDesc(a: SpendableUtxo, b: SpendableUtxo): number {
  if (a.value !== b.value) return a.value > b.value ? -1 : 1;
  if (a.txid !== b.txid) return a.txid < b.txid ? -1 : 1;
  return a.vout - b.vout;
}

/**
 * The UTXOs that may be spent, best first. An input adds 105 vB (107 where the input count's
 * compact size grows): one worth no more than that at the feerate is never selected, so every
 * added input raises the amount available after fees (what the searches below rely on).
 */
function eligibleUtxos(req: SelectionRequest, limits: SelectionLimits, feerate: bigint) {
  const tip = req.tipHeight;
  const minValue = feeFor(vsizeOf(INPUT_WEIGHT + 8), feerate);
  const seen = new Set<string>();
  const out: SpendableUtxo[] = [];
  req.utxos.forEach((u, i) => {
    checkUtxo(`${PLACE}/utxo ${i}`, u);
    const key = outpointKey(u);
    if (seen.has(key)) throw bad(`expected distinct UTXOs, got ${key} twice`, { outpoint: key });
    seen.add(key);
    const confirmations = u.height === null || u.height > tip ? 0 : tip - u.height + 1;
    const need = u.branch === 1 ? limits.minConfirmationsChange : limits.minConfirmationsDeposit;
    if (confirmations >= need && u.value > minValue) out.push(u);
  });
  return out.sort(byValueDesc);
}

/** The plan for the first `k` withdrawals with the first `m` pool UTXOs, before change. */
interface Shape {
  readonly cum: readonly bigint[];
  readonly payAmount: readonly bigint[];
  readonly payWeight: readonly number[];
  readonly feerate: bigint;
}

const feeNoChange = (s: Shape, m: number, k: number): bigint =>
  feeFor(vsizeOf(txWeight(m, k, s.payWeight[k] ?? 0)), s.feerate);

/** Inputs minus payments minus the fee without change (>= 0: payable). */
const surplus = (s: Shape, m: number, k: number): bigint =>
  (s.cum[m] ?? 0n) - (s.payAmount[k] ?? 0n) - feeNoChange(s, m, k);

/** Smallest m in 1..M with surplus >= 0 (surplus grows with m), or undefined. */
function fewestInputs(s: Shape, k: number, maxM: number): number | undefined {
  if (maxM < 1 || surplus(s, maxM, k) < 0n) return undefined;
  let lo = 1;
  let hi = maxM;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (surplus(s, mid, k) >= 0n) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Select inputs and a batch of withdrawals; INSUFFICIENT_FUNDS if not even the first is payable. */
export function selectCoins(req: SelectionRequest): Selection {
  if (typeof req !== 'object' || req === null) throw bad('expected a request object');
  const limits = resolveLimits(req.limits);
  const feerate = checkFeerate(PLACE, req.feerateSatPerKvB);
  intIn('tipHeight', req.tipHeight, 0, 100_000_000);
  if (!Array.isArray(req.utxos) || !Array.isArray(req.withdrawals))
    throw bad('expected utxos and withdrawals arrays');
  if (req.withdrawals.length === 0) throw bad('expected at least one withdrawal to pay');
  const ids = new Set<string>();
  req.withdrawals.forEach((w, i) => {
    checkPayment(`${PLACE}/withdrawal ${i}`, w, limits.dustThreshold);
    if (ids.has(w.withdrawalId))
      throw bad(`expected distinct withdrawal ids, got '${w.withdrawalId}' twice`);
    ids.add(w.withdrawalId);
  });

  // 1. The pool: largest first never needs more than the best `maxInputs` UTXOs.
  const eligible = eligibleUtxos(req, limits, feerate);
  const pool = eligible.slice(0, limits.maxInputs);
  const cum: bigint[] = [0n];
  for (const u of pool) cum.push((cum[cum.length - 1] ?? 0n) + u.value);

  // 2. The batch bound: outputs (one kept for change) and the amount cap.
  const payAmount: bigint[] = [0n];
  const payWeight: number[] = [0];
  const kMax = Math.min(req.withdrawals.length, limits.maxOutputs - 1);
  for (let k = 0; k < kMax; k++) {
    const w = req.withdrawals[k] as Payment;
    const amount = (payAmount[k] ?? 0n) + w.amount;
    if (amount > limits.maxBatchAmount) break;
    payAmount.push(amount);
    payWeight.push((payWeight[k] ?? 0) + outputWeight(w.scriptPubKey.length));
  }
  const shape: Shape = { cum, payAmount, payWeight, feerate };

  // 3. The longest payable prefix (surplus falls as k grows), then its fewest inputs.
  let k = payAmount.length - 1;
  while (k >= 1 && surplus(shape, pool.length, k) < 0n) k--;
  const m = k >= 1 ? fewestInputs(shape, k, pool.length) : undefined;
  if (m === undefined) {
    const first = req.withdrawals[0] as Payment;
    const capped = payAmount.length === 1;
    throw new CoordinatorError(
      'INSUFFICIENT_FUNDS',
      capped
        ? `${PLACE}: expected the first withdrawal within maxBatchAmount ${limits.maxBatchAmount} sat, got ${first.amount}`
        : `${PLACE}: expected spendable UTXOs to pay withdrawal '${first.withdrawalId}' (${first.amount} sat) and its fee at ${feerate} sat/kvB, got ${eligible.length} eligible UTXOs worth ${cum[pool.length] ?? 0n} sat in the best ${pool.length}`,
      {
        withdrawalId: first.withdrawalId,
        amount: first.amount.toString(),
        eligible: eligible.length,
        available: (cum[pool.length] ?? 0n).toString(),
      },
    );
  }

  // 4. Change, or the remainder (below dust + the change output's cost) folded into the fee.
  const totalIn = cum[m] ?? 0n;
  const paid = payAmount[k] ?? 0n;
  const weightWithChange = txWeight(m, k + 1, (payWeight[k] ?? 0) + CHANGE_OUTPUT_WEIGHT);
  const feeWithChange = feeFor(vsizeOf(weightWithChange), feerate);
  const changeAmount = totalIn - paid - feeWithChange;
  const withChange = changeAmount >= limits.dustThreshold;
  const weight = withChange ? weightWithChange : txWeight(m, k, payWeight[k] ?? 0);
  const fee = withChange ? feeWithChange : totalIn - paid;
  return Object.freeze({
    inputs: Object.freeze(pool.slice(0, m)),
    payments: Object.freeze(req.withdrawals.slice(0, k)),
    change: withChange ? changeAmount : null,
    fee,
    weight,
    vsize: vsizeOf(weight),
    totalIn,
    totalOut: totalIn - fee,
    deferred: Object.freeze(req.withdrawals.slice(k)),
    eligible: eligible.length,
  });
}

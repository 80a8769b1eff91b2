/**
 * evaluatePolicy: the offline policy's decision on one verified transaction. PURE: no clock, no
 * I/O, no randomness, inputs never mutated; the same input gives the same answer.
 *
 * Order (docs/policy.md §5): built-in checks (policy expiry, network, change window), then the
 * policy's rules in their order — each rule is a check that can only refuse, the first refusal
 * names the rule — then the fail-closed memory check. Only when nothing refused is the decision
 * `sign`, with the records the durable state must commit before the signature leaves.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { DeviceMemory, SpendRecord, WithdrawalRecord } from '../device-memory.js';
import { SignerError } from '../errors.js';
import type { TxSummary } from '../tx-summary.js';
import type { CompiledPolicy } from './compile.js';
import type { VerifiedIntent } from './intent.js';
import { REFUSAL_REASONS, type RefusalReason } from './reasons.js';
import { checkRule, type RuleContext } from './rule-checks.js';
import { analyseWithdrawals, nextWithdrawalRecord, outpointKey } from './withdrawals.js';

export interface EvaluationInput {
  readonly summary: TxSummary;
  readonly intents: readonly VerifiedIntent[];
  readonly policy: CompiledPolicy;
  readonly memory: DeviceMemory;
  /** Device time (unix seconds) as the clock module accepted it. */
  readonly now: number;
}

export interface SignRecord {
  readonly spend: SpendRecord;
  /** New or updated record per withdrawal id paid by this transaction. */
  readonly withdrawals: readonly WithdrawalRecord[];
  /** Present when this transaction uses a change index above the highest in memory. */
  readonly changeIndex?: { readonly walletId: string; readonly index: number };
}

export type PolicyDecision =
  | { readonly decision: 'sign'; readonly record: SignRecord }
  | {
      readonly decision: 'refuse';
      /** `policy`, `change`, `memory` (built-in) or `rules[i].<type>`. */
      readonly rule: string;
      readonly output: number | null;
      readonly reason: RefusalReason;
      readonly detail: string;
    };

const PLACE = 'policy/evaluate';

function refuse(
  rule: string,
  output: number | null,
  reason: RefusalReason,
  detail: string,
): PolicyDecision {
  return Object.freeze({ decision: 'refuse', rule, output, reason, detail: detail.slice(0, 512) });
}

/** The summary is produced by verification; a broken one is a bug upstream: fail loudly. */
function checkSummary(s: TxSummary): bigint {
  const bad = (m: string): never => {
    throw new SignerError('VERIFICATION_FAILED', `${PLACE}: expected a consistent TxSummary, ${m}`);
  };
  if (typeof s !== 'object' || s === null || !Array.isArray(s.outputs) || !Array.isArray(s.inputs))
    bad('got no outputs/inputs');
  if (typeof s.fee !== 'bigint' || s.fee < 0n) bad(`got fee ${String(s.fee)}`);
  if (typeof s.feerateMsatPerVb !== 'bigint') bad('got a non-bigint feerate');
  let external = 0n;
  for (const o of s.outputs) {
    if (typeof o.amount !== 'bigint' || o.amount < 0n)
      bad(`got output ${o.index} amount ${String(o.amount)}`);
    if (!(o.scriptPubKey instanceof Uint8Array)) bad(`got output ${o.index} without script bytes`);
    if (o.kind === 'external') external += o.amount;
  }
  if (external !== s.totalExternal)
    bad(`got totalExternal ${s.totalExternal}, outputs sum to ${external}`);
  return external + s.fee;
}

function changeRefusal(
  policy: CompiledPolicy,
  memory: DeviceMemory,
  summary: TxSummary,
  walletHex: string,
) {
  const base = Object.hasOwn(memory.changeIndex, walletHex)
    ? (memory.changeIndex[walletHex] ?? 0)
    : 0;
  let highest = -1;
  for (const o of summary.outputs) {
    if (o.kind !== 'change') continue;
    if (o.addressIndex > base + policy.document.changeWindow) {
      return {
        refused: refuse(
          'change',
          o.index,
          'CHANGE_OUT_OF_WINDOW',
          `change index ${o.addressIndex} > ${base} + ${policy.document.changeWindow}`,
        ),
        highest,
      };
    }
    if (o.addressIndex > highest) highest = o.addressIndex;
  }
  const known = Object.hasOwn(memory.changeIndex, walletHex)
    ? (memory.changeIndex[walletHex] ?? -1)
    : -1;
  return { refused: null, highest: highest > known ? highest : -1 };
}

/** Decide whether the offline policy lets the device sign `summary`. */
export function evaluatePolicy(input: EvaluationInput): PolicyDecision {
  const { summary, intents, policy, memory, now } = input;
  if (!Number.isSafeInteger(now) || now < 0) {
    throw new SignerError(
      'CLOCK_REFUSED',
      `${PLACE}: expected now as unix seconds, got ${String(now)}`,
    );
  }
  if (!Array.isArray(intents))
    throw new SignerError('VERIFICATION_FAILED', `${PLACE}: expected an intents array`);
  const outflow = checkSummary(summary);
  const doc = policy.document;

  if (now >= doc.expiresAt) {
    return refuse(
      'policy',
      null,
      'POLICY_EXPIRED',
      `policy v${doc.version} expired at ${doc.expiresAt}, now ${now}`,
    );
  }
  if (doc.network !== memory.network) {
    return refuse(
      'policy',
      null,
      'NETWORK_MISMATCH',
      `policy ${doc.network}, device ${memory.network}`,
    );
  }
  const walletHex = bytesToHex(summary.walletId);
  const change = changeRefusal(policy, memory, summary, walletHex);
  if (change.refused !== null) return change.refused;

  const txid = bytesToHex(Uint8Array.from(summary.txid).reverse());
  const outpointList = summary.inputs.map((i) => outpointKey(i.outpoint.txid, i.outpoint.vout));
  const outpoints = new Set(outpointList);
  const ctx: RuleContext = {
    summary,
    now,
    outflow,
    // Velocity counts what can still confirm together with this transaction: an earlier
    // signature that spends one of the same outpoints is an alternative to this one (at most one
    // of them can ever confirm), so a replacement or a re-sign is not counted twice. Every set of
    // signed transactions that can confirm together stays within the caps (docs/policy.md).
    spends: memory.spends.filter((s) => !s.outpoints.some((o) => outpoints.has(o))),
    failClosed: memory.failClosed,
    withdrawals: policy.requiresIntents
      ? analyseWithdrawals({
          summary,
          intents,
          withdrawals: memory.withdrawals,
          spendsByTxid: new Map(memory.spends.map((s) => [s.txid, s] as const)),
          txid,
          outpoints,
          allowsReplacement: policy.allowsReplacement,
          now,
        })
      : null,
  };
  for (let i = 0; i < policy.rules.length; i++) {
    const rule = policy.rules[i];
    if (rule === undefined) continue;
    const r = checkRule(rule, ctx);
    if (r !== null) return refuse(`rules[${i}].${rule.type}`, r.output, r.reason, r.detail);
  }
  if (memory.failClosed) {
    return refuse('memory', null, 'MEMORY_FAIL_CLOSED', REFUSAL_REASONS.MEMORY_FAIL_CLOSED);
  }

  const matches = ctx.withdrawals?.ok ? ctx.withdrawals.matches : [];
  const spend: SpendRecord = {
    at: now,
    txid,
    amount: outflow,
    fee: summary.fee,
    outpoints: outpointList,
    withdrawalIds: matches.map((m) => m.withdrawalId),
  };
  const withdrawals = matches.map((m) => nextWithdrawalRecord(m, txid, outpointList, summary.fee));
  const record: SignRecord =
    change.highest >= 0
      ? { spend, withdrawals, changeIndex: { walletId: walletHex, index: change.highest } }
      : { spend, withdrawals };
  return Object.freeze({ decision: 'sign', record });
}

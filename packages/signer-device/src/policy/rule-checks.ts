/**
 * One pure check per rule type. A check returns null (passes) or a refusal; it never decides
 * "sign". evaluate.ts runs them in the policy's order and the first refusal wins.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { SpendRecord } from '../device-memory.js';
import type { TxSummary } from '../tx-summary.js';
import type { CompiledRule } from './compile.js';
import type { RefusalReason } from './reasons.js';
import type { WithdrawalAnalysis } from './withdrawals.js';

export interface RuleRefusal {
  readonly reason: RefusalReason;
  readonly output: number | null;
  readonly detail: string;
}

/** What every check may read; built once per evaluation. */
export interface RuleContext {
  readonly summary: TxSummary;
  readonly now: number;
  /** totalExternal + fee: what this transaction takes out of the wallet. */
  readonly outflow: bigint;
  readonly spends: readonly SpendRecord[];
  readonly failClosed: boolean;
  /** null when the policy has no requireIntents rule. */
  readonly withdrawals: WithdrawalAnalysis | null;
}

const refusal = (reason: RefusalReason, output: number | null, detail: string): RuleRefusal => ({
  reason,
  output,
  detail,
});

/**
 * Sum and count of the spends inside (now − window, now]. A record dated after `now` (it cannot
 * happen while time only moves forward) is counted too: a rolled-back clock must not free a window.
 */
export function windowTotals(
  spends: readonly SpendRecord[],
  now: number,
  windowSeconds: number,
): { amount: bigint; count: number } {
  let amount = 0n;
  let count = 0;
  const from = now - windowSeconds;
  for (const s of spends) {
    if (s.at > from) {
      amount += s.amount;
      count += 1;
    }
  }
  return { amount, count };
}

function checkVelocity(
  rule: Extract<CompiledRule, { type: 'velocity' }>,
  ctx: RuleContext,
): RuleRefusal | null {
  if (ctx.failClosed) {
    return refusal(
      'VELOCITY_FAIL_CLOSED',
      null,
      `memory failed closed: the ${rule.windowSeconds} s window counts as full`,
    );
  }
  const { amount, count } = windowTotals(ctx.spends, ctx.now, rule.windowSeconds);
  if (amount + ctx.outflow > rule.maxAmount) {
    return refusal(
      'VELOCITY_AMOUNT',
      null,
      `${amount} sat signed in the last ${rule.windowSeconds} s + ${ctx.outflow} > ${rule.maxAmount}`,
    );
  }
  if (count + 1 > rule.maxCount) {
    return refusal(
      'VELOCITY_COUNT',
      null,
      `${count} transactions in the last ${rule.windowSeconds} s + 1 > ${rule.maxCount}`,
    );
  }
  return null;
}

function checkReplacementBump(
  rule: Extract<CompiledRule, { type: 'maxReplacementFeeBump' }>,
  ctx: RuleContext,
): RuleRefusal | null {
  const w = ctx.withdrawals;
  if (w === null || !w.ok) return null; // requireIntents reports it
  for (const m of w.matches) {
    if (m.prior === null || m.sameTx) continue;
    const bump = ctx.summary.fee - m.prior.maxFee;
    if (bump > rule.maxBump) {
      return refusal(
        'REPLACEMENT_FEE_BUMP',
        m.outputIndex,
        `withdrawal ${JSON.stringify(m.withdrawalId)}: fee ${ctx.summary.fee} − earlier ${m.prior.maxFee} > ${rule.maxBump}`,
      );
    }
    if (m.prior.replacements + 1 > rule.maxReplacements) {
      return refusal(
        'REPLACEMENT_COUNT',
        m.outputIndex,
        `withdrawal ${JSON.stringify(m.withdrawalId)} already replaced ${m.prior.replacements} times, cap ${rule.maxReplacements}`,
      );
    }
  }
  return null;
}

/** Run one rule's check. */
export function checkRule(rule: CompiledRule, ctx: RuleContext): RuleRefusal | null {
  const { summary } = ctx;
  switch (rule.type) {
    case 'maxPerTransaction':
      return ctx.outflow > rule.maxAmount
        ? refusal(
            'AMOUNT_ABOVE_TX_CAP',
            null,
            `totalExternal + fee ${ctx.outflow} > ${rule.maxAmount}`,
          )
        : null;
    case 'maxPerOutput':
      for (const o of summary.outputs) {
        if (o.kind === 'external' && o.amount > rule.maxAmount) {
          return refusal('AMOUNT_ABOVE_OUTPUT_CAP', o.index, `${o.amount} > ${rule.maxAmount}`);
        }
      }
      return null;
    case 'velocity':
      return checkVelocity(rule, ctx);
    case 'maxFee':
      if (summary.fee > rule.absolute) {
        return refusal('FEE_ABOVE_CAP', null, `fee ${summary.fee} > ${rule.absolute}`);
      }
      if (summary.feerateMsatPerVb > rule.feerateMsatPerVb) {
        return refusal(
          'FEERATE_ABOVE_CAP',
          null,
          `feerate ${summary.feerateMsatPerVb} msat/vB > ${rule.feerateMsatPerVb}`,
        );
      }
      return null;
    case 'denyDestinations':
      for (const o of summary.outputs) {
        if (rule.scripts.has(bytesToHex(o.scriptPubKey))) {
          return refusal('DESTINATION_DENIED', o.index, 'the output script is on the deny list');
        }
      }
      return null;
    case 'allowDestinations':
      for (const o of summary.outputs) {
        if (o.kind !== 'external') continue;
        const addedAt = rule.entries.get(bytesToHex(o.scriptPubKey));
        if (addedAt === undefined) {
          return refusal(
            'DESTINATION_NOT_ALLOWED',
            o.index,
            'the output script is not on the allow list',
          );
        }
        if (addedAt + rule.coolingOffSeconds > ctx.now) {
          return refusal(
            'DESTINATION_COOLING_OFF',
            o.index,
            `added at ${addedAt}, usable from ${addedAt + rule.coolingOffSeconds}, now ${ctx.now}`,
          );
        }
      }
      return null;
    case 'requireIntents': {
      const w = ctx.withdrawals;
      if (w === null || w.ok) return null;
      return refusal(w.reason, w.output, w.detail);
    }
    case 'maxReplacementFeeBump':
      return checkReplacementBump(rule, ctx);
  }
}

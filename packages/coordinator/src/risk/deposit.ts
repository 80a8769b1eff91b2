/**
 * Online risk evaluation of one confirmed deposit: credit it, or delay it for review when any
 * check flags it (a delayed deposit is booked to the hot wallet but not to the user). Pure.
 * docs/risk.md §5.
 */
import { denyListsOf, type RiskConfig } from './config.js';
import {
  assertNow,
  type DepositHistory,
  type DepositRequest,
  depositHistorySchema,
  depositRequestSchema,
  inWindow,
  parseInput,
} from './inputs.js';
import type { DepositOutcome, DepositReasonCode, Reason } from './reasons.js';

export interface DepositDecision {
  readonly outcome: DepositOutcome;
  readonly reasons: readonly Reason<DepositReasonCode>[];
}

const PLACE = 'risk/evaluateDeposit';

export function evaluateDeposit(
  request: DepositRequest,
  history: DepositHistory,
  config: RiskConfig,
  now: number,
): DepositDecision {
  const deny = denyListsOf(config);
  const t = assertNow(PLACE, now);
  const req = parseInput(`${PLACE} request`, depositRequestSchema, request);
  const hist = parseInput(`${PLACE} history`, depositHistorySchema, history);
  const c = config.deposit;
  const reasons: Reason<DepositReasonCode>[] = [];
  const flag = (code: DepositReasonCode, detail: string) => {
    reasons.push(Object.freeze({ code, detail }));
  };

  // 1. Source deny list: any input spending a deny-listed script taints the deposit.
  const denied = [...new Set(req.sourceScriptPubKeys.filter((s) => deny.depositSource.has(s)))];
  if (denied.length > 0) flag('SOURCE_DENIED', `inputs spend deny-listed ${denied.join(', ')}`);

  // 2. Amount: below the minimum (dust) or large.
  if (req.amount < c.minAmount) flag('BELOW_MINIMUM', `amount ${req.amount} < ${c.minAmount}`);
  if (req.amount >= c.largeAmount)
    flag('LARGE_DEPOSIT', `amount ${req.amount} >= ${c.largeAmount}`);

  // 3. Frequency per user and window (this deposit included).
  const recent = hist.userDeposits.filter((d) =>
    inWindow(d.at, t, c.frequency.windowSeconds),
  ).length;
  if (recent + 1 > c.frequency.maxCount) {
    flag(
      'DEPOSIT_FREQUENCY_EXCEEDED',
      `${recent + 1} deposits in ${c.frequency.windowSeconds} s, at most ${c.frequency.maxCount}`,
    );
  }

  return Object.freeze({
    outcome: reasons.length > 0 ? 'delay' : 'credit',
    reasons: Object.freeze(reasons),
  });
}

/**
 * Online risk evaluation of one withdrawal: every check runs, every reason is collected, the
 * strongest outcome wins (reject > hold > approve). Pure: time comes in as `now`. docs/risk.md §4.
 */
import { denyListsOf, type RiskConfig } from './config.js';
import {
  assertNow,
  inWindow,
  parseInput,
  type WithdrawalHistory,
  type WithdrawalRequest,
  withdrawalHistorySchema,
  withdrawalRequestSchema,
} from './inputs.js';
import {
  type Reason,
  strongest,
  WITHDRAWAL_REASONS,
  type WithdrawalOutcome,
  type WithdrawalReasonCode,
} from './reasons.js';

export interface WithdrawalDecision {
  readonly outcome: WithdrawalOutcome;
  readonly reasons: readonly Reason<WithdrawalReasonCode>[];
}

const PLACE = 'risk/evaluateWithdrawal';

export function evaluateWithdrawal(
  request: WithdrawalRequest,
  history: WithdrawalHistory,
  config: RiskConfig,
  now: number,
): WithdrawalDecision {
  const deny = denyListsOf(config);
  const t = assertNow(PLACE, now);
  const req = parseInput(`${PLACE} request`, withdrawalRequestSchema, request);
  const hist = parseInput(`${PLACE} history`, withdrawalHistorySchema, history);
  const c = config.withdrawal;

  let outcome: WithdrawalOutcome = 'approve';
  const reasons: Reason<WithdrawalReasonCode>[] = [];
  const flag = (code: WithdrawalReasonCode, given: WithdrawalOutcome, detail: string) => {
    const fixed = WITHDRAWAL_REASONS[code].outcome;
    outcome = strongest(outcome, fixed === 'config' ? given : fixed);
    reasons.push(Object.freeze({ code, detail }));
  };

  // 1. Deny list: the destination compared as scriptPubKey bytes (lower-case hex).
  if (deny.withdrawal.has(req.scriptPubKey)) {
    flag('DESTINATION_DENIED', 'reject', `destination ${req.scriptPubKey} is deny-listed`);
  }

  // 2. Frequency per user and window (this request included).
  const recent = hist.userWithdrawals.filter((w) =>
    inWindow(w.at, t, c.frequency.windowSeconds),
  ).length;
  if (recent + 1 > c.frequency.maxCount) {
    flag(
      'FREQUENCY_EXCEEDED',
      c.frequency.outcome,
      `${recent + 1} withdrawals in ${c.frequency.windowSeconds} s, at most ${c.frequency.maxCount}`,
    );
  }

  // 3. Amount: a single large withdrawal.
  if (req.amount >= c.largeAmount.threshold) {
    flag(
      'LARGE_AMOUNT',
      c.largeAmount.outcome,
      `amount ${req.amount} >= threshold ${c.largeAmount.threshold}`,
    );
  }

  // 4. Profit anomaly: all withdrawals (this one included) against deposits + realized profit.
  const allowance = hist.totalDeposited + hist.realizedProfit;
  const base = allowance > 0n ? allowance : 0n;
  const withdrawn = hist.totalWithdrawn + req.amount;
  if (withdrawn * 100n > base * BigInt(c.profitAnomaly.factorPercent)) {
    flag(
      'PROFIT_ANOMALY',
      c.profitAnomaly.outcome,
      `withdrawn ${withdrawn} > ${c.profitAnomaly.factorPercent}% of deposits ${hist.totalDeposited} + realized profit ${hist.realizedProfit}`,
    );
  }

  // 5. Account behaviour flags supplied by the exchange.
  const cooling = c.credentialChangeCoolingSeconds;
  const changes = [
    ['password', req.flags.passwordChangedAt],
    ['second factor', req.flags.twoFactorChangedAt],
  ] as const;
  for (const [what, at] of changes) {
    if (at !== undefined && inWindow(at, t, cooling)) {
      flag('RECENT_CREDENTIAL_CHANGE', 'hold', `${what} changed at ${at}, cooling ${cooling} s`);
    }
  }
  if (req.flags.newDevice) flag('NEW_DEVICE', 'hold', 'request from a new device');
  if (req.flags.newDestination) {
    flag('NEW_DESTINATION_FLAG', 'hold', `destination ${req.scriptPubKey} newly added`);
  }

  // 6. First-time destination for this user.
  if (c.firstTimeDestination === 'hold' && !hist.knownDestinations.includes(req.scriptPubKey)) {
    flag('FIRST_TIME_DESTINATION', 'hold', `first withdrawal to ${req.scriptPubKey}`);
  }

  // 7. Global hot-wallet outflow in the window (this request included).
  let outflow = req.amount;
  for (const w of hist.globalWithdrawals) {
    if (inWindow(w.at, t, c.globalOutflow.windowSeconds)) outflow += w.amount;
  }
  if (outflow > c.globalOutflow.maxAmount) {
    flag(
      'GLOBAL_OUTFLOW_EXCEEDED',
      c.globalOutflow.outcome,
      `outflow ${outflow} in ${c.globalOutflow.windowSeconds} s > limit ${c.globalOutflow.maxAmount}`,
    );
  }

  return Object.freeze({ outcome, reasons: Object.freeze(reasons) });
}

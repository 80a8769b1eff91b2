/**
 * Stable reason codes of the online risk engine, as frozen tables. A code is never renamed or
 * reused: stored decisions and the operator UI refer to it. docs/risk.md §3.
 */

export type WithdrawalOutcome = 'approve' | 'hold' | 'reject';
export type DepositOutcome = 'credit' | 'delay';

interface ReasonSpec<O extends string> {
  /** The outcome this reason gives; `config` = the outcome named in the config. */
  readonly outcome: O | 'config';
  readonly summary: string;
}

const r = <O extends string>(outcome: O | 'config', summary: string): ReasonSpec<O> =>
  Object.freeze({ outcome, summary });

export const WITHDRAWAL_REASONS = Object.freeze({
  DESTINATION_DENIED: r<WithdrawalOutcome>('reject', 'the destination script is on the deny list'),
  FREQUENCY_EXCEEDED: r<WithdrawalOutcome>(
    'config',
    'the user made more withdrawals in the window than allowed',
  ),
  LARGE_AMOUNT: r<WithdrawalOutcome>(
    'config',
    'the amount is at or above the large-amount threshold',
  ),
  PROFIT_ANOMALY: r<WithdrawalOutcome>(
    'config',
    "withdrawals would exceed the user's deposits plus realized profit by more than the factor",
  ),
  RECENT_CREDENTIAL_CHANGE: r<WithdrawalOutcome>(
    'hold',
    'the password or second factor changed within the cooling-off period',
  ),
  NEW_DEVICE: r<WithdrawalOutcome>('hold', 'the exchange flagged the request as from a new device'),
  NEW_DESTINATION_FLAG: r<WithdrawalOutcome>(
    'hold',
    'the exchange flagged the destination as newly added',
  ),
  FIRST_TIME_DESTINATION: r<WithdrawalOutcome>(
    'config',
    'the user has never withdrawn to this destination before',
  ),
  GLOBAL_OUTFLOW_EXCEEDED: r<WithdrawalOutcome>(
    'config',
    'the hot wallet outflow of all users in the window would exceed the limit',
  ),
} as const);

export type WithdrawalReasonCode = keyof typeof WITHDRAWAL_REASONS;

export const DEPOSIT_REASONS = Object.freeze({
  SOURCE_DENIED: r<DepositOutcome>('delay', 'an input of the deposit spends a deny-listed script'),
  BELOW_MINIMUM: r<DepositOutcome>('delay', 'the amount is below the minimum deposit'),
  LARGE_DEPOSIT: r<DepositOutcome>(
    'delay',
    'the amount is at or above the large-deposit threshold',
  ),
  DEPOSIT_FREQUENCY_EXCEEDED: r<DepositOutcome>(
    'delay',
    'the user received more deposits in the window than allowed',
  ),
} as const);

export type DepositReasonCode = keyof typeof DEPOSIT_REASONS;

export interface Reason<C extends string> {
  readonly code: C;
  readonly detail: string;
}

/** Strength of each withdrawal outcome: the strongest among the reasons wins. */
export const WITHDRAWAL_OUTCOME_RANK = Object.freeze({ approve: 0, hold: 1, reject: 2 } as const);
export const DEPOSIT_OUTCOME_RANK = Object.freeze({ credit: 0, delay: 1 } as const);

/** The strongest of two withdrawal outcomes (reject > hold > approve). */
export function strongest(a: WithdrawalOutcome, b: WithdrawalOutcome): WithdrawalOutcome {
  return WITHDRAWAL_OUTCOME_RANK[b] > WITHDRAWAL_OUTCOME_RANK[a] ? b : a;
}

/**
 * The withdrawal and payout state machines (issue 4 §6) as data: which step may follow which.
 * Every transition is persisted (storage/signing.ts checks it against these tables inside the
 * same database transaction) BEFORE the side effect it enables, so a restart resumes from the
 * last persisted state and repeats only idempotent side effects (re-asking devices to sign the
 * same PSBT, re-broadcasting the same bytes).
 *
 *   requested → held | rejected | approved          (online risk, at submission)
 *   held      → approved | rejected                 (operator review)
 *   approved  → batched                             (put into a payout with its PSBT)
 *   batched   → signing                             (persisted before the devices are asked)
 *   signing   → signed | refused                    (two signatures verified | a device refused)
 *   refused   → approved | rejected                 (operator review of the device's report)
 *   signed    → broadcast                           (raw bytes persisted before relaying)
 *   broadcast → confirmed | failed                  (confirmed at depth | the node rejected it for good)
 *   failed    → approved | rejected                 (operator)
 *
 * A payout is one transaction (possibly batching many withdrawals):
 *   signing → signed | refused;  signed → broadcast;  broadcast → confirmed | replaced | failed
 * A replacement (RBF: replaces_id set) pays the same withdrawals from the same inputs with more
 * fee; its withdrawals stay `broadcast` while it is signed and broadcast. Whichever version
 * confirms, every other version still open becomes `replaced` (from signing, signed or broadcast).
 */
import { CoordinatorError } from '../errors.js';
import type { WithdrawalState } from '../service/contract.js';

export const WITHDRAWAL_STATES = Object.freeze([
  'requested',
  'held',
  'rejected',
  'approved',
  'batched',
  'signing',
  'signed',
  'broadcast',
  'confirmed',
  'refused',
  'failed',
] as const satisfies readonly WithdrawalState[]);

export const WITHDRAWAL_TRANSITIONS: Readonly<Record<WithdrawalState, readonly WithdrawalState[]>> =
  Object.freeze({
    requested: Object.freeze(['held', 'rejected', 'approved'] as const),
    held: Object.freeze(['approved', 'rejected'] as const),
    approved: Object.freeze(['batched'] as const),
    batched: Object.freeze(['signing'] as const),
    signing: Object.freeze(['signed', 'refused'] as const),
    refused: Object.freeze(['approved', 'rejected'] as const),
    signed: Object.freeze(['broadcast'] as const),
    broadcast: Object.freeze(['confirmed', 'failed'] as const),
    failed: Object.freeze(['approved', 'rejected'] as const),
    confirmed: Object.freeze([] as const),
    rejected: Object.freeze([] as const),
  });

export type PayoutState =
  | 'signing'
  | 'signed'
  | 'refused'
  | 'broadcast'
  | 'confirmed'
  | 'replaced'
  | 'failed';

export const PAYOUT_STATES = Object.freeze([
  'signing',
  'signed',
  'refused',
  'broadcast',
  'confirmed',
  'replaced',
  'failed',
] as const satisfies readonly PayoutState[]);

export const PAYOUT_TRANSITIONS: Readonly<Record<PayoutState, readonly PayoutState[]>> =
  Object.freeze({
    signing: Object.freeze(['signed', 'refused', 'replaced'] as const),
    signed: Object.freeze(['broadcast', 'replaced'] as const),
    broadcast: Object.freeze(['confirmed', 'replaced', 'failed'] as const),
    refused: Object.freeze([] as const),
    confirmed: Object.freeze([] as const),
    replaced: Object.freeze([] as const),
    failed: Object.freeze([] as const),
  });

/** Withdrawal states from which the user's reserved funds are released (never paid). */
export const RELEASED_STATES: readonly WithdrawalState[] = Object.freeze(['rejected']);

export function isWithdrawalState(x: unknown): x is WithdrawalState {
  return typeof x === 'string' && (WITHDRAWAL_STATES as readonly string[]).includes(x);
}

export function isPayoutState(x: unknown): x is PayoutState {
  return typeof x === 'string' && (PAYOUT_STATES as readonly string[]).includes(x);
}

export function assertWithdrawalTransition(id: string, from: string, to: WithdrawalState): void {
  if (!isWithdrawalState(from) || !WITHDRAWAL_TRANSITIONS[from].includes(to)) {
    throw new CoordinatorError(
      'INVALID_TRANSITION',
      `withdrawal/transition: expected a state that may move to '${to}' for withdrawal '${id}', got '${from}'`,
      { id, from, to },
    );
  }
}

export function assertPayoutTransition(id: string, from: string, to: PayoutState): void {
  if (!isPayoutState(from) || !PAYOUT_TRANSITIONS[from].includes(to)) {
    throw new CoordinatorError(
      'INVALID_TRANSITION',
      `payout/transition: expected a state that may move to '${to}' for payout '${id}', got '${from}'`,
      { id, from, to },
    );
  }
}

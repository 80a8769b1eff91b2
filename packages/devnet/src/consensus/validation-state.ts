/**
 * The outcome of validating a transaction (src/consensus/validation.h TxValidationState): a
 * result class, Core's reject reason and an optional debug message. `ToString()` is
 * "reason, debug" — the text sendrawtransaction puts in its error.
 */
export type TxValidationResult =
  | 'consensus'
  | 'inputs-not-standard'
  | 'not-standard'
  | 'missing-inputs'
  | 'premature-spend'
  | 'witness-mutated'
  | 'witness-stripped'
  | 'conflict'
  | 'mempool-policy'
  | 'reconsiderable'
  | 'unsupported';

export interface TxValidationState {
  readonly result: TxValidationResult;
  readonly reason: string;
  readonly debug?: string;
}

export function invalid(
  result: TxValidationResult,
  reason: string,
  debug?: string,
): TxValidationState {
  return Object.freeze(debug === undefined ? { result, reason } : { result, reason, debug });
}

export function stateToString(state: TxValidationState): string {
  return state.debug === undefined || state.debug === ''
    ? state.reason
    : `${state.reason}, ${state.debug}`;
}

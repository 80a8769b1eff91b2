/**
 * Stable reason codes of the offline policy, as frozen data. A refusal from `evaluatePolicy`
 * carries one of REFUSAL_REASONS; a refused `verifyPolicyUpdate` or `verifyIntent` carries one of
 * UPDATE_REFUSAL_REASONS / INTENT_REFUSAL_REASONS in `SignerError.detail.reason`. Codes are never
 * reused; a retired one stays in the table.
 */
const table = <T extends Record<string, string>>(t: T): Readonly<T> => Object.freeze(t);

export const REFUSAL_REASONS = table({
  POLICY_EXPIRED: 'the policy has expired (now >= expiresAt): a stale policy signs nothing',
  NETWORK_MISMATCH: 'the policy is for another network than the device memory',
  CHANGE_OUT_OF_WINDOW: 'a change output index is beyond the highest seen + changeWindow',
  AMOUNT_ABOVE_TX_CAP: 'totalExternal + fee is above maxPerTransaction',
  AMOUNT_ABOVE_OUTPUT_CAP: 'an external output pays more than maxPerOutput',
  VELOCITY_AMOUNT: 'the amount signed in the window plus this transaction is above the cap',
  VELOCITY_COUNT: 'the transactions signed in the window plus this one are above the cap',
  VELOCITY_FAIL_CLOSED: 'the device memory failed closed: every velocity window counts as full',
  FEE_ABOVE_CAP: 'the fee is above maxFee.absolute',
  FEERATE_ABOVE_CAP: 'the feerate is above maxFee.feerateMsatPerVb',
  DESTINATION_DENIED: 'an output pays a deny-listed scriptPubKey',
  DESTINATION_NOT_ALLOWED: 'an external output pays a scriptPubKey not on the allow list',
  DESTINATION_COOLING_OFF: 'an external output pays an allow-listed scriptPubKey still cooling off',
  INTENT_MISSING: 'an external output has no matching withdrawal intent',
  INTENT_AMBIGUOUS: 'more intents than outputs match one scriptPubKey and amount',
  INTENT_EXPIRED: 'the intent covering an output has expired',
  DUPLICATE_WITHDRAWAL_ID: 'two different intents carry the same withdrawal id',
  DOUBLE_PAYMENT: 'a withdrawal id already paid by a transaction this one does not conflict with',
  REPLACEMENT_OUTPUT_MISMATCH: 'a withdrawal id already paid is paid again with another output',
  REPLACEMENT_UNVERIFIABLE: 'an earlier transaction for the withdrawal id is not in memory',
  REPLACEMENT_NOT_ALLOWED: 'a replacement, but the policy has no maxReplacementFeeBump rule',
  REPLACEMENT_FEE_BUMP: 'a replacement raises the fee by more than maxReplacementFeeBump',
  REPLACEMENT_COUNT: 'a withdrawal id has been replaced the maximum number of times',
  MEMORY_FAIL_CLOSED: 'the device memory failed closed: nothing is signed until re-activation',
});
export type RefusalReason = keyof typeof REFUSAL_REASONS;

export const UPDATE_REFUSAL_REASONS = table({
  THRESHOLD_NOT_MET: 'fewer than M distinct pinned officers signed the document hash',
  ROLLBACK: 'the version is not strictly higher than the current one',
  BROKEN_CHAIN: "`previous` is not the current policy's hash",
  EXPIRED: 'the policy has already expired',
  NOT_TARGETED: 'the device id is not in `devices`',
  WRONG_NETWORK: 'the policy is for another network',
});
export type UpdateRefusalReason = keyof typeof UPDATE_REFUSAL_REASONS;

export const INTENT_REFUSAL_REASONS = table({
  NO_VALID_SIGNATURE: "the signature verifies under none of the policy's intent keys",
  INTENT_EXPIRED: 'the intent has expired (now >= expiresAt)',
});
export type IntentRefusalReason = keyof typeof INTENT_REFUSAL_REASONS;

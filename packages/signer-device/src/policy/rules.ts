/**
 * The rules of an offline policy: a discriminated union on `type`, every object strict.
 * Each rule is a check that can only refuse; docs/policy.md describes the evaluation order.
 */
import { bytes, sats, uint } from '@keyline/wire-protocol';
import { z } from 'zod';

/** Largest time or duration in a policy (2^40 s, ~34,800 years): sums stay exact in a number. */
export const MAX_POLICY_SECONDS = 2 ** 40;
/** Most entries in one deny or allow list. */
export const MAX_LIST_ENTRIES = 50_000;
/** Most rules in one policy. */
export const MAX_RULES = 64;

export const seconds = uint.max(MAX_POLICY_SECONDS);
/** A scriptPubKey as Bitcoin allows it in an output (at most 520 bytes here). */
export const scriptPubKey = bytes(1, 520);

/** Refuses when totalExternal + fee (what leaves the wallet) is above `maxAmount`. */
export const maxPerTransactionRule = z.strictObject({
  type: z.literal('maxPerTransaction'),
  maxAmount: sats,
});

/** Refuses when any external output pays more than `maxAmount`. */
export const maxPerOutputRule = z.strictObject({
  type: z.literal('maxPerOutput'),
  maxAmount: sats,
});

/**
 * Refuses when the spends signed in (now - windowSeconds, now] plus this transaction exceed
 * `maxAmount` (sum of totalExternal + fee) or `maxCount` (number of transactions).
 */
export const velocityRule = z.strictObject({
  type: z.literal('velocity'),
  windowSeconds: seconds.min(1),
  maxAmount: sats,
  maxCount: uint.min(1).max(1_000_000_000),
});

/** Refuses when the fee is above `absolute` sat or the feerate above `feerateMsatPerVb`. */
export const maxFeeRule = z.strictObject({
  type: z.literal('maxFee'),
  absolute: sats,
  feerateMsatPerVb: sats,
});

/** Refuses when any output's scriptPubKey equals, byte for byte, one of `scripts`. */
export const denyDestinationsRule = z.strictObject({
  type: z.literal('denyDestinations'),
  scripts: z.array(scriptPubKey).max(MAX_LIST_ENTRIES),
});

/** One allowed destination and when it was added (unix seconds). */
export const allowEntry = z.strictObject({
  script: scriptPubKey,
  addedAt: seconds,
});

/**
 * Refuses when an external output's scriptPubKey is not in `entries`, or was added less than
 * `coolingOffSeconds` ago (entry.addedAt + coolingOffSeconds > now).
 */
export const allowDestinationsRule = z.strictObject({
  type: z.literal('allowDestinations'),
  entries: z.array(allowEntry).max(MAX_LIST_ENTRIES),
  coolingOffSeconds: seconds,
});

/**
 * Refuses unless each external output is covered by exactly one distinct, unexpired withdrawal
 * intent with the same scriptPubKey and amount, and no withdrawal id is paid twice (see
 * docs/policy.md §5). Without this rule intents are ignored and no withdrawal is recorded.
 */
export const requireIntentsRule = z.strictObject({
  type: z.literal('requireIntents'),
});

/**
 * Allows replacements of an already paid withdrawal (conflicting transactions with the identical
 * output) and caps them: fee − highest earlier fee ≤ `maxBump`, at most `maxReplacements` per
 * withdrawal id. Without this rule in the policy a replacement is refused.
 */
export const maxReplacementFeeBumpRule = z.strictObject({
  type: z.literal('maxReplacementFeeBump'),
  maxBump: sats,
  maxReplacements: uint.min(1).max(1000),
});

export const policyRule = z.discriminatedUnion('type', [
  maxPerTransactionRule,
  maxPerOutputRule,
  velocityRule,
  maxFeeRule,
  denyDestinationsRule,
  allowDestinationsRule,
  requireIntentsRule,
  maxReplacementFeeBumpRule,
]);

export type PolicyRule = z.output<typeof policyRule>;
export type PolicyRuleInput = z.input<typeof policyRule>;
export type PolicyRuleType = PolicyRule['type'];

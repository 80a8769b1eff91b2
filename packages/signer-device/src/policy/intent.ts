/**
 * Withdrawal intents: one withdrawal the online risk engine approved, signed with one of the
 * policy's intent keys over `"keyline/intent/v1" || canonical CBOR of {withdrawalId,
 * scriptPubKey, amount, expiresAt}`. Only a `VerifiedIntent` (made here) reaches evaluation.
 * docs/policy.md §4.
 */
import { encodeCanonical, withdrawalIntent } from '@keyline/wire-protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { z } from 'zod';
import { SignerError } from '../errors.js';

export const INTENT_SIGNING_DOMAIN = 'keyline/intent/v1';
const DOMAIN_BYTES = utf8ToBytes(INTENT_SIGNING_DOMAIN);
const PLACE = 'policy/intent';

declare const verified: unique symbol;

/** An intent whose signature verified under a policy intent key and which had not expired. */
export interface VerifiedIntent {
  readonly withdrawalId: string;
  readonly scriptPubKey: Uint8Array;
  readonly amount: bigint;
  readonly expiresAt: number;
  /** Index in the policy's `intentKeys` of the key that signed it. */
  readonly keyIndex: number;
  readonly [verified]: true;
}

export type WithdrawalIntent = z.output<typeof withdrawalIntent>;
export type IntentContent = Pick<
  WithdrawalIntent,
  'withdrawalId' | 'scriptPubKey' | 'amount' | 'expiresAt'
>;

/** The bytes an intent key signs. */
export function intentSigningMessage(intent: IntentContent): Uint8Array {
  const { withdrawalId, scriptPubKey, amount, expiresAt } = intent;
  return concatBytes(
    DOMAIN_BYTES,
    encodeCanonical({ withdrawalId, scriptPubKey, amount, expiresAt }),
  );
}

/**
 * Verify one intent (as decoded from the wire) against the policy's intent keys at device time
 * `now`. Throws BAD_SIGNED_DOCUMENT (malformed), UNAUTHORIZED (no key verifies; reason
 * NO_VALID_SIGNATURE), POLICY_REFUSED (expired; reason INTENT_EXPIRED).
 */
export function verifyIntent(
  intent: unknown,
  intentKeys: readonly Uint8Array[],
  now: number,
): VerifiedIntent {
  if (!Number.isSafeInteger(now) || now < 0) {
    throw new SignerError(
      'CLOCK_REFUSED',
      `${PLACE}: expected now as unix seconds, got ${String(now)}`,
    );
  }
  if (
    !Array.isArray(intentKeys) ||
    intentKeys.some((k) => !(k instanceof Uint8Array) || k.length !== 32)
  ) {
    throw new SignerError(
      'BAD_POLICY',
      `${PLACE}: expected intent keys as 32-byte Ed25519 public keys`,
    );
  }
  const parsed = withdrawalIntent.safeParse(intent);
  if (!parsed.success) {
    const where = parsed.error.issues
      .map((i) => i.path.join('.') || '$')
      .slice(0, 5)
      .join(', ');
    throw new SignerError(
      'BAD_SIGNED_DOCUMENT',
      `${PLACE}: expected a withdrawal intent, got issues at ${where}`,
    );
  }
  const it = parsed.data;
  const message = intentSigningMessage(it);
  let keyIndex = -1;
  for (let i = 0; i < intentKeys.length && keyIndex < 0; i++) {
    const key = intentKeys[i];
    if (key === undefined) continue;
    try {
      if (ed25519.verify(it.signature, message, key, { zip215: false })) keyIndex = i;
    } catch {
      // a malformed key or signature verifies nothing
    }
  }
  if (keyIndex < 0) {
    throw new SignerError(
      'UNAUTHORIZED',
      `${PLACE} ${JSON.stringify(it.withdrawalId)}: expected a signature by one of ${intentKeys.length} intent keys, got none that verifies`,
      { reason: 'NO_VALID_SIGNATURE', withdrawalId: it.withdrawalId },
    );
  }
  if (now >= it.expiresAt) {
    throw new SignerError(
      'POLICY_REFUSED',
      `${PLACE} ${JSON.stringify(it.withdrawalId)}: expected expiresAt after now ${now}, got ${it.expiresAt}`,
      { reason: 'INTENT_EXPIRED', withdrawalId: it.withdrawalId },
    );
  }
  const out = {
    withdrawalId: it.withdrawalId,
    scriptPubKey: new Uint8Array(it.scriptPubKey),
    amount: it.amount,
    expiresAt: it.expiresAt,
    keyIndex,
  };
  return Object.freeze(out) as unknown as VerifiedIntent;
}

/** Verify every intent of a request; the first failure throws (see `verifyIntent`). */
export function verifyIntents(
  intents: readonly unknown[],
  intentKeys: readonly Uint8Array[],
  now: number,
): VerifiedIntent[] {
  if (!Array.isArray(intents)) {
    throw new SignerError(
      'BAD_SIGNED_DOCUMENT',
      `${PLACE}: expected an array of intents, got ${typeof intents}`,
    );
  }
  return intents.map((it) => verifyIntent(it, intentKeys, now));
}

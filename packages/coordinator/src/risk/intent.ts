/**
 * Withdrawal intents: the risk engine's Ed25519 signature over one approved withdrawal, which
 * every signer device checks before it pays an external output. The signed bytes are
 * `"keyline/intent/v1" || canonical CBOR of {withdrawalId, scriptPubKey, amount, expiresAt}`,
 * exactly what packages/signer-device/src/policy/intent.ts verifies. docs/risk.md §6.
 */
import { encodeCanonical, withdrawalIntent } from '@keyline/wire-protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { z } from 'zod';
import { CoordinatorError } from '../errors.js';
import { issuesWhere } from './config.js';

export const INTENT_SIGNING_DOMAIN = 'keyline/intent/v1';
const DOMAIN_BYTES = utf8ToBytes(INTENT_SIGNING_DOMAIN);
const PLACE = 'risk/signWithdrawalIntent';

export type SignedWithdrawalIntent = z.output<typeof withdrawalIntent>;

export interface IntentContent {
  readonly withdrawalId: string;
  readonly scriptPubKey: Uint8Array;
  readonly amount: bigint;
  /** Unix seconds after which devices refuse the intent. */
  readonly expiresAt: number;
}

const contentSchema = withdrawalIntent.omit({ signature: true });

/** The bytes the risk key signs for `content` (already validated). */
export function intentSigningMessage(content: IntentContent): Uint8Array {
  const { withdrawalId, scriptPubKey, amount, expiresAt } = content;
  return concatBytes(
    DOMAIN_BYTES,
    encodeCanonical({ withdrawalId, scriptPubKey, amount, expiresAt }),
  );
}

/**
 * Sign one approved withdrawal with the risk engine's 32-byte Ed25519 secret key. The key stays
 * the caller's: it is not copied or kept here, and the caller wipes it (`fill(0)`) when done.
 * Call only after `evaluateWithdrawal` answered `approve` (or an operator approved a hold).
 */
export function signWithdrawalIntent(
  content: IntentContent,
  riskSecretKey: Uint8Array,
): SignedWithdrawalIntent {
  if (!(riskSecretKey instanceof Uint8Array) || riskSecretKey.length !== 32) {
    // Never echo key bytes: only the type and the length.
    const got =
      riskSecretKey instanceof Uint8Array ? `${riskSecretKey.length} bytes` : typeof riskSecretKey;
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${PLACE}: expected the risk key as a 32-byte Ed25519 secret key, got ${got}`,
    );
  }
  if (typeof content !== 'object' || content === null || typeof content.amount !== 'bigint') {
    throw new CoordinatorError(
      'BAD_AMOUNT',
      `${PLACE}: expected content with amount as a bigint of satoshis, got ${typeof content === 'object' && content !== null ? typeof content.amount : typeof content}`,
    );
  }
  const parsed = contentSchema.safeParse(content);
  if (!parsed.success) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${PLACE}: expected intent content, got issues at ${issuesWhere(parsed.error)}`,
    );
  }
  const c = parsed.data;
  const scriptPubKey = new Uint8Array(c.scriptPubKey);
  const body = {
    withdrawalId: c.withdrawalId,
    scriptPubKey,
    amount: c.amount,
    expiresAt: c.expiresAt,
  };
  const signature = ed25519.sign(intentSigningMessage(body), riskSecretKey);
  return Object.freeze({ ...body, signature: new Uint8Array(signature) });
}

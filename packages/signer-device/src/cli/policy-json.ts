/**
 * The JSON form of a policy document, as a risk officer writes it, and its conversion to the
 * document the device parses (src/policy/document.ts). Same fields, same nesting, same strictness;
 * only two kinds of value are written differently because JSON has no bytes and no exact big
 * integers:
 *
 *   bytes   (previous, intentKeys[], denyDestinations.scripts[], allowDestinations.entries[].script)
 *           → lower-case hex strings, even length
 *   amounts (maxAmount, absolute, feerateMsatPerVb, maxBump)
 *           → decimal strings without leading zeros ("150000000")
 *
 * Everything else (version, times, counts, names) is a JSON number or string as in the schema.
 * The converted object then goes through `encodePolicyDocument`, which validates it against the
 * device's schema and gives the canonical CBOR bytes the officers sign. docs/cli.md §3.2.
 */
import { z } from 'zod';
import { SignerError } from '../errors.js';
import {
  encodePolicyDocument,
  hashPolicyDocument,
  type PolicyDocumentInput,
} from '../policy/document.js';

const hexBytes = z
  .string()
  .regex(/^(?:[0-9a-f]{2})*$/, 'expected lower-case hex of whole bytes')
  .transform((s) => Uint8Array.from(Buffer.from(s, 'hex')));

const amount = z
  .string()
  .regex(/^(?:0|[1-9][0-9]{0,15})$/, 'expected satoshis as a decimal string')
  .transform((s) => BigInt(s));

const num = z.number();

const ruleJson = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('maxPerTransaction'), maxAmount: amount }),
  z.strictObject({ type: z.literal('maxPerOutput'), maxAmount: amount }),
  z.strictObject({
    type: z.literal('velocity'),
    windowSeconds: num,
    maxAmount: amount,
    maxCount: num,
  }),
  z.strictObject({ type: z.literal('maxFee'), absolute: amount, feerateMsatPerVb: amount }),
  z.strictObject({ type: z.literal('denyDestinations'), scripts: z.array(hexBytes) }),
  z.strictObject({
    type: z.literal('allowDestinations'),
    entries: z.array(z.strictObject({ script: hexBytes, addedAt: num })),
    coolingOffSeconds: num,
  }),
  z.strictObject({ type: z.literal('requireIntents') }),
  z.strictObject({
    type: z.literal('maxReplacementFeeBump'),
    maxBump: amount,
    maxReplacements: num,
  }),
]);

export const policyDocumentJson = z.strictObject({
  version: num,
  previous: hexBytes,
  issuedAt: num,
  expiresAt: num,
  network: z.string(),
  devices: z.array(z.string()),
  wallets: z.array(z.strictObject({ name: z.string(), descriptor: z.string() })),
  intentKeys: z.array(hexBytes),
  changeWindow: num,
  rules: z.array(ruleJson),
  lockout: z.strictObject({ maxRefusals: num, windowSeconds: num }),
});

/** Largest policy JSON read (the CBOR document is at most 8 MiB; hex doubles bytes). */
export const MAX_POLICY_JSON_BYTES = 24 * 1024 * 1024;

export interface EncodedPolicy {
  /** The canonical CBOR bytes: what the device parses and the approvals' hash covers. */
  readonly bytes: Uint8Array;
  readonly hash: Uint8Array;
  readonly version: number;
  readonly network: string;
  readonly devices: readonly string[];
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** JSON text → validated document → canonical bytes and hash. Throws BAD_POLICY. */
export function encodePolicyJson(place: string, text: string): EncodedPolicy {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SignerError(
      'BAD_POLICY',
      `${place}: expected a JSON policy document, got text that does not parse`,
    );
  }
  const r = policyDocumentJson.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '$'}: ${i.message}`)
      .join('; ');
    throw new SignerError(
      'BAD_POLICY',
      `${place}: expected the JSON form of a policy, got ${issues}`,
    );
  }
  // The device's schema has the final word (ranges, lengths, uniqueness, the chain rule).
  const input = r.data as unknown as PolicyDocumentInput;
  const bytes = encodePolicyDocument(input);
  const doc = r.data;
  return Object.freeze({
    bytes,
    hash: hashPolicyDocument(bytes),
    version: doc.version,
    network: doc.network,
    devices: Object.freeze([...doc.devices]),
    issuedAt: doc.issuedAt,
    expiresAt: doc.expiresAt,
  });
}

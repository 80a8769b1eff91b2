/**
 * The offline policy document: a strict zod schema, its canonical CBOR bytes and its hash.
 * The bytes the officers sign (through their hash) are `encodeCanonical(document)`; a device
 * only ever parses bytes that are already canonical (`decodeStrict`) and re-encodes them to
 * prove the round trip. docs/policy.md §2 documents every field.
 */

import {
  bytes32,
  decodeStrict,
  encodeCanonical,
  identifier,
  network,
  text,
  uint,
} from '@keyline/wire-protocol';
import { equalBytes } from '@noble/ciphers/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { SignerError } from '../errors.js';
import { MAX_LIST_ENTRIES, MAX_RULES, policyRule, seconds } from './rules.js';

/** Largest policy document the device parses (the wire's `MAX_POLICY_BYTES` may be smaller). */
export const MAX_POLICY_DOCUMENT_BYTES = 8 * 1024 * 1024;
/** Deny plus allow entries over all rules. */
export const MAX_TOTAL_LIST_ENTRIES = 2 * MAX_LIST_ENTRIES;
/** CBOR limits for a policy: a 100,000-entry allow list is 300,000 items (array + 2 per map). */
const POLICY_CBOR_LIMITS = Object.freeze({
  maxDepth: 8,
  maxBytes: MAX_POLICY_DOCUMENT_BYTES,
  maxItems: 3 * MAX_TOTAL_LIST_ENTRIES + 10_000,
  maxStringBytes: 64 * 1024,
});

export const ZERO_HASH: Uint8Array = new Uint8Array(32);

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

function unique<T>(items: readonly T[], key: (t: T) => string): boolean {
  return new Set(items.map(key)).size === items.length;
}

export const walletEntry = z.strictObject({
  name: text(1, 64),
  /** Kept as text: parsing the descriptor is the wallet module's job. */
  descriptor: text(1, 4096),
});

export const lockoutSettings = z.strictObject({
  maxRefusals: uint.min(1).max(1_000_000),
  windowSeconds: seconds.min(1),
});

export const policyDocument = z
  .strictObject({
    version: uint.min(1),
    previous: bytes32,
    issuedAt: seconds,
    expiresAt: seconds,
    network,
    devices: z.array(identifier).min(1).max(16),
    wallets: z.array(walletEntry).min(1).max(16),
    intentKeys: z.array(bytes32).min(1).max(8),
    changeWindow: uint.min(1).max(1_000_000),
    rules: z.array(policyRule).min(1).max(MAX_RULES),
    lockout: lockoutSettings,
  })
  .superRefine((doc, ctx) => {
    const issue = (path: (string | number)[], message: string): void => {
      ctx.addIssue({ code: 'custom', path, message });
    };
    if (doc.version === 1 && !isZero(doc.previous)) {
      issue(['previous'], 'expected 32 zero bytes for version 1');
    }
    if (doc.version > 1 && isZero(doc.previous)) {
      issue(['previous'], 'expected the hash of the replaced policy, got zero bytes');
    }
    if (doc.expiresAt <= doc.issuedAt) issue(['expiresAt'], 'expected expiresAt > issuedAt');
    if (!unique(doc.devices, (d) => d)) issue(['devices'], 'expected distinct device ids');
    if (!unique(doc.wallets, (w) => w.name)) issue(['wallets'], 'expected distinct wallet names');
    if (!unique(doc.intentKeys, bytesToHex)) issue(['intentKeys'], 'expected distinct keys');
    let entries = 0;
    for (const rule of doc.rules) {
      if (rule.type === 'denyDestinations') entries += rule.scripts.length;
      if (rule.type === 'allowDestinations') entries += rule.entries.length;
    }
    if (entries > MAX_TOTAL_LIST_ENTRIES) {
      issue(['rules'], `expected at most ${MAX_TOTAL_LIST_ENTRIES} list entries, got ${entries}`);
    }
  });

export type PolicyDocument = z.output<typeof policyDocument>;
/** A document as an issuer may write it (amounts as number or bigint). */
export type PolicyDocumentInput = z.input<typeof policyDocument>;

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '$'}: ${i.message}`)
    .join('; ');
}

/** Validate a document object; throws BAD_POLICY naming the first issues (never the values). */
export function validatePolicyDocument(place: string, value: unknown): PolicyDocument {
  const parsed = policyDocument.safeParse(value);
  if (!parsed.success) {
    throw new SignerError(
      'BAD_POLICY',
      `${place}: expected a policy document, got ${describeIssues(parsed.error)}`,
      { issues: parsed.error.issues.slice(0, 16).map((i) => i.path.join('.')) },
    );
  }
  return parsed.data;
}

/** The canonical CBOR bytes of a document (validated first): what the officers' hash covers. */
export function encodePolicyDocument(document: PolicyDocumentInput): Uint8Array {
  const doc = validatePolicyDocument('policy/document/encode', document);
  return encodeCanonical(doc, POLICY_CBOR_LIMITS);
}

/** sha256 of the document bytes: the policy's identity, chained by `previous`. */
export function hashPolicyDocument(documentBytes: Uint8Array): Uint8Array {
  return sha256(documentBytes);
}

/**
 * Parse document bytes: strict deterministic CBOR (indefinite lengths, tags, floats, duplicate
 * or unsorted keys, non-shortest heads and trailing bytes are refused), then the schema, then a
 * re-encoding that must give the same bytes. Throws BAD_POLICY.
 */
export function parsePolicyDocument(documentBytes: Uint8Array): PolicyDocument {
  const place = 'policy/document';
  if (!(documentBytes instanceof Uint8Array)) {
    throw new SignerError(
      'BAD_POLICY',
      `${place}: expected document bytes, got ${typeof documentBytes}`,
    );
  }
  if (documentBytes.length === 0 || documentBytes.length > MAX_POLICY_DOCUMENT_BYTES) {
    throw new SignerError(
      'BAD_POLICY',
      `${place}: expected 1..${MAX_POLICY_DOCUMENT_BYTES} bytes, got ${documentBytes.length}`,
    );
  }
  let decoded: unknown;
  try {
    decoded = decodeStrict(documentBytes, POLICY_CBOR_LIMITS);
  } catch (e) {
    const why = e instanceof Error ? e.message : 'unknown error';
    throw new SignerError(
      'BAD_POLICY',
      `${place}: expected strict deterministic CBOR, got bytes it refuses: ${why}`,
      {},
      { cause: e },
    );
  }
  const doc = validatePolicyDocument(place, decoded);
  let again: Uint8Array;
  try {
    again = encodeCanonical(doc, POLICY_CBOR_LIMITS);
  } catch (e) {
    throw new SignerError(
      'BAD_POLICY',
      `${place}: expected a re-encodable document`,
      {},
      { cause: e },
    );
  }
  if (!equalBytes(again, documentBytes)) {
    throw new SignerError(
      'BAD_POLICY',
      `${place}: expected bytes that re-encode identically, got a different encoding`,
    );
  }
  return doc;
}

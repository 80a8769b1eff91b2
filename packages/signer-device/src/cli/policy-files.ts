/**
 * The two files officers pass around for a policy update, JSON with lower-case hex bytes:
 *
 *   approval  {format: "keyline-policy-approval", version: 1, documentHash, keyId, signature}
 *   bundle    {format: "keyline-policy-bundle", version: 1, documentHash, document, approvals:
 *              [{keyId, signature}]}
 *
 * `document` = hex of the canonical CBOR bytes; `documentHash` = hex sha256 of them, a
 * convenience the reader recomputes and compares (it never replaces the recomputation);
 * `signature` = Ed25519 over "keyline/policy/v1" || sha256(document). A bundle carries exactly
 * what `update_policy` takes (document bytes, approvals). docs/cli.md §3.3.
 */
import { z } from 'zod';
import { SignerError } from '../errors.js';
import { hashPolicyDocument, MAX_POLICY_DOCUMENT_BYTES } from '../policy/document.js';
import { MAX_APPROVALS, type PolicyApproval } from '../policy/signed-policy.js';

export const APPROVAL_FORMAT = 'keyline-policy-approval';
export const BUNDLE_FORMAT = 'keyline-policy-bundle';
export const MAX_APPROVAL_FILE_BYTES = 4096;
export const MAX_BUNDLE_FILE_BYTES = 2 * MAX_POLICY_DOCUMENT_BYTES + 64 * 1024;

const hexN = (n: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${2 * n}}$`), `expected ${n} bytes as lower-case hex`);
const keyId = z.string().regex(/^[\x21-\x7e]{1,64}$/, 'expected a key id');

export const approvalFile = z.strictObject({
  format: z.literal(APPROVAL_FORMAT),
  version: z.literal(1),
  documentHash: hexN(32),
  keyId,
  signature: hexN(64),
});
export type ApprovalFile = z.output<typeof approvalFile>;

const approvalEntry = z.strictObject({ keyId, signature: hexN(64) });

export const bundleFile = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(1),
  documentHash: hexN(32),
  document: z
    .string()
    .min(2)
    .max(2 * MAX_POLICY_DOCUMENT_BYTES)
    .regex(/^(?:[0-9a-f]{2})+$/, 'expected lower-case hex'),
  approvals: z.array(approvalEntry).min(1).max(MAX_APPROVALS),
});
export type BundleFile = z.output<typeof bundleFile>;

export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

function parseJson<S extends z.ZodType>(place: string, what: string, schema: S, text: string) {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SignerError(
      'BAD_SIGNED_DOCUMENT',
      `${place}: expected a ${what} (JSON), got text that does not parse`,
    );
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new SignerError(
      'BAD_SIGNED_DOCUMENT',
      `${place}: expected a ${what}, got a problem at '${i?.path.join('.') ?? ''}': ${i?.message ?? 'invalid'}`,
    );
  }
  return r.data as z.output<S>;
}

export function parseApprovalFile(place: string, text: string): ApprovalFile {
  return parseJson(place, APPROVAL_FORMAT, approvalFile, text);
}

export interface ParsedBundle {
  readonly documentBytes: Uint8Array;
  readonly hash: Uint8Array;
  readonly approvals: readonly PolicyApproval[];
}

/** Parses a bundle; the stated hash must be the hash of the document (else BAD_SIGNED_DOCUMENT). */
export function parseBundleFile(place: string, text: string): ParsedBundle {
  const b = parseJson(place, BUNDLE_FORMAT, bundleFile, text);
  const documentBytes = fromHex(b.document);
  const hash = hashPolicyDocument(documentBytes);
  if (toHex(hash) !== b.documentHash) {
    throw new SignerError(
      'BAD_SIGNED_DOCUMENT',
      `${place}: expected documentHash to be sha256 of the document, got another hash`,
    );
  }
  const approvals = b.approvals.map((a) => ({ keyId: a.keyId, signature: fromHex(a.signature) }));
  return { documentBytes, hash, approvals };
}

export function approvalToJson(hash: Uint8Array, a: PolicyApproval): string {
  const file: ApprovalFile = {
    format: APPROVAL_FORMAT,
    version: 1,
    documentHash: toHex(hash),
    keyId: a.keyId,
    signature: toHex(a.signature),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

export function bundleToJson(
  documentBytes: Uint8Array,
  approvals: readonly ApprovalFile[],
): string {
  const file: BundleFile = {
    format: BUNDLE_FORMAT,
    version: 1,
    documentHash: toHex(hashPolicyDocument(documentBytes)),
    document: toHex(documentBytes),
    approvals: approvals.map((a) => ({ keyId: a.keyId, signature: a.signature })),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

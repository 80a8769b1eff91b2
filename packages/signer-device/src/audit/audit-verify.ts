/**
 * Verification of an audit log range, pure: for the device when it opens its log, the
 * coordinator and the CLI's `verify-audit` (docs/state-and-audit.md §8). A range verifies when
 * its seqs are consecutive, each entry's prevHash is the previous entry's hash, each hash is
 * recomputed from the entry, the last entry is the head, and the head's Ed25519 signature verifies
 * under the device's audit public key. The signed head then vouches for every entry before it.
 */

import { auditEntry, decodeStrict } from '@keyline/wire-protocol';
import { equalBytes } from '@noble/ciphers/utils.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { z } from 'zod';
import { SignerError } from '../errors.js';
import { AUDIT_KINDS, type AuditEntryData, entryHash, GENESIS_PREV_HASH } from './audit-entry.js';

export interface AuditHead {
  readonly seq: number;
  readonly hash: Uint8Array;
  readonly signature: Uint8Array;
}

export interface VerifiedRange {
  readonly firstSeq: number | null;
  readonly headSeq: number;
  readonly headHash: Uint8Array;
  readonly count: number;
}

const headSchema = z.strictObject({
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  hash: z.instanceof(Uint8Array).refine((b) => b.length === 32, 'expected 32 bytes'),
  signature: z.instanceof(Uint8Array).refine((b) => b.length === 64, 'expected 64 bytes'),
});

function malformed(message: string, detail: Record<string, unknown> = {}): SignerError {
  return new SignerError('BAD_AUDIT_LOG', `audit/verify: ${message}`, detail);
}

function broken(seq: number, message: string): SignerError {
  return new SignerError('AUDIT_CHAIN_BROKEN', `audit/verify: seq ${seq}: ${message}`, { seq });
}

function issueText(e: z.ZodError): string {
  const first = e.issues[0];
  return first === undefined
    ? 'does not match'
    : `${first.path.map(String).join('.')}: ${first.message}`;
}

/**
 * The links and hashes of consecutive entries starting at seq `firstSeq`, after `previous` (the
 * entry before the first, if known; seq 0 must follow the all-zero genesis prevHash). Throws
 * AUDIT_CHAIN_BROKEN with the first seq where the chain does not hold.
 */
export function verifyLinks(
  entries: readonly AuditEntryData[],
  firstSeq: number,
  previous: { readonly seq: number; readonly hash: Uint8Array } | null,
): void {
  if (previous !== null && previous.seq + 1 !== firstSeq) {
    throw broken(firstSeq, `expected the range to follow seq ${previous.seq}`);
  }
  let prev = previous;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as AuditEntryData;
    const expectedSeq = firstSeq + i;
    if (e.seq !== expectedSeq) {
      throw broken(expectedSeq, `expected seq ${expectedSeq} at position ${i}, got ${e.seq}`);
    }
    const linkTo = prev !== null ? prev.hash : e.seq === 0 ? GENESIS_PREV_HASH : null;
    if (linkTo !== null && !equalBytes(e.prevHash, linkTo)) {
      throw broken(e.seq, `prevHash is not the hash of seq ${e.seq - 1}`);
    }
    if (!equalBytes(entryHash(e), e.hash)) {
      throw broken(e.seq, 'hash does not match the entry');
    }
    if (!(AUDIT_KINDS as readonly string[]).includes(e.kind)) {
      throw malformed(`seq ${e.seq}: expected a kind of ${AUDIT_KINDS.join(', ')}, got ${e.kind}`, {
        seq: e.seq,
      });
    }
    let body: unknown;
    try {
      body = decodeStrict(e.body);
    } catch {
      throw malformed(`seq ${e.seq}: body is not strict CBOR`, { seq: e.seq });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw malformed(`seq ${e.seq}: expected the body to be a map`, { seq: e.seq });
    }
    prev = { seq: e.seq, hash: e.hash };
  }
}

/**
 * Verify `entries` (as get_audit_log returns them) against `head` and the device's audit public
 * key. `options.fromSeq` is the seq the range must start at (the fromSeq asked for; default: the
 * first entry's); `options.previous` chains this range to one verified before. Throws
 * BAD_AUDIT_LOG when the input is malformed, AUDIT_CHAIN_BROKEN with detail.seq where it breaks.
 */
export function verifyAuditChain(
  entries: readonly unknown[],
  head: unknown,
  auditPublicKey: Uint8Array,
  options: {
    readonly fromSeq?: number;
    readonly previous?: { readonly seq: number; readonly hash: Uint8Array };
  } = {},
): VerifiedRange {
  if (!(auditPublicKey instanceof Uint8Array) || auditPublicKey.length !== 32) {
    throw malformed('expected a 32-byte Ed25519 audit public key');
  }
  if (!Array.isArray(entries))
    throw malformed(`expected entries as an array, got ${typeof entries}`);
  const parsed: AuditEntryData[] = [];
  for (let i = 0; i < entries.length; i++) {
    const r = auditEntry.safeParse(entries[i]);
    if (!r.success) throw malformed(`entries[${i}]: ${issueText(r.error)}`, { index: i });
    parsed.push(r.data);
  }
  const h = headSchema.safeParse(head);
  if (!h.success) throw malformed(`head: ${issueText(h.error)}`);
  const previous = options.previous ?? null;
  const fromSeq = options.fromSeq ?? (previous !== null ? previous.seq + 1 : (parsed[0]?.seq ?? 0));
  if (!Number.isSafeInteger(fromSeq) || fromSeq < 0) {
    throw malformed(`expected options.fromSeq >= 0, got ${String(fromSeq)}`);
  }
  verifyLinks(parsed, fromSeq, previous);
  const last = parsed[parsed.length - 1];
  if (last !== undefined) {
    if (last.seq !== h.data.seq) {
      const at = last.seq < h.data.seq ? last.seq + 1 : h.data.seq + 1;
      throw broken(at, `expected the range to end at the head seq ${h.data.seq}, got ${last.seq}`);
    }
    if (!equalBytes(last.hash, h.data.hash)) {
      throw broken(last.seq, 'the head hash is not the hash of the last entry');
    }
  }
  let ok = false;
  try {
    ok = ed25519.verify(h.data.signature, h.data.hash, auditPublicKey);
  } catch {
    ok = false;
  }
  if (!ok) throw broken(h.data.seq, 'the head signature does not verify under the audit key');
  return Object.freeze({
    firstSeq: parsed[0]?.seq ?? null,
    headSeq: h.data.seq,
    headHash: Uint8Array.from(h.data.hash),
    count: parsed.length,
  });
}

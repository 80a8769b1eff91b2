/**
 * Verification of a signed policy update: M of N pinned risk officers' Ed25519 signatures over
 * `"keyline/policy/v1" || sha256(document bytes)`, then the document, then its place in the
 * chain (strictly higher version, `previous` = current hash, not expired, this device, this
 * network). Signatures are checked before the parser sees a byte: only officer-approved bytes
 * reach the CBOR decoder. docs/policy.md §3.
 */

import { identifier, network as networkSchema } from '@keyline/wire-protocol';
import { equalBytes } from '@noble/ciphers/utils.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { SignerError } from '../errors.js';
import {
  hashPolicyDocument,
  MAX_POLICY_DOCUMENT_BYTES,
  type PolicyDocument,
  parsePolicyDocument,
} from './document.js';
import type { UpdateRefusalReason } from './reasons.js';

export const POLICY_SIGNING_DOMAIN = 'keyline/policy/v1';
const DOMAIN_BYTES = utf8ToBytes(POLICY_SIGNING_DOMAIN);
/** Most approvals read from one update (the wire allows 16). */
export const MAX_APPROVALS = 16;

export interface PolicyApproval {
  readonly keyId: string;
  readonly signature: Uint8Array;
}
export interface PolicyUpdate {
  readonly documentBytes: Uint8Array;
  readonly approvals: readonly PolicyApproval[];
}
export interface PinnedOfficers {
  readonly officers: readonly { readonly keyId: string; readonly publicKey: Uint8Array }[];
  /** M: distinct officers whose signatures must verify. */
  readonly threshold: number;
  /** The network the device is pinned to. */
  readonly network: PolicyDocument['network'];
}
export interface CurrentPolicy {
  readonly version: number;
  /** sha256 of the current document bytes. */
  readonly hash: Uint8Array;
}
export interface VerifiedPolicyUpdate {
  readonly document: PolicyDocument;
  readonly hash: Uint8Array;
  readonly documentBytes: Uint8Array;
  /** Key ids of the officers whose signatures counted, sorted. */
  readonly signers: readonly string[];
}

/** The message an officer signs: domain || sha256(document bytes). */
export function policyApprovalMessage(documentHash: Uint8Array): Uint8Array {
  return concatBytes(DOMAIN_BYTES, documentHash);
}

const PLACE = 'policy/update';

function malformed(message: string): never {
  throw new SignerError('BAD_SIGNED_DOCUMENT', `${PLACE}: ${message}`);
}

function refuse(
  code: 'UNAUTHORIZED' | 'STALE_POLICY',
  reason: UpdateRefusalReason,
  message: string,
): never {
  throw new SignerError(code, `${PLACE}: ${message}`, { reason });
}

function isBytes(v: unknown, n?: number): v is Uint8Array {
  return v instanceof Uint8Array && (n === undefined || v.length === n);
}

function checkUpdate(update: PolicyUpdate): void {
  if (typeof update !== 'object' || update === null)
    malformed(`expected an update object, got ${typeof update}`);
  const { documentBytes, approvals } = update;
  if (
    !isBytes(documentBytes) ||
    documentBytes.length === 0 ||
    documentBytes.length > MAX_POLICY_DOCUMENT_BYTES
  ) {
    malformed(`expected documentBytes of 1..${MAX_POLICY_DOCUMENT_BYTES} bytes`);
  }
  if (!Array.isArray(approvals) || approvals.length < 1 || approvals.length > MAX_APPROVALS) {
    malformed(
      `expected 1..${MAX_APPROVALS} approvals, got ${Array.isArray(approvals) ? approvals.length : typeof approvals}`,
    );
  }
  approvals.forEach((a: unknown, i) => {
    const ap = a as Partial<PolicyApproval> | null;
    if (
      typeof ap !== 'object' ||
      ap === null ||
      typeof ap.keyId !== 'string' ||
      ap.keyId.length === 0 ||
      ap.keyId.length > 64
    ) {
      malformed(`approvals[${i}]: expected {keyId: 1..64 chars, signature}`);
    }
    if (!isBytes(ap.signature, 64))
      malformed(`approvals[${i}]: expected a 64-byte Ed25519 signature`);
  });
}

function checkPinned(pinned: PinnedOfficers): void {
  const bad = (m: string): never => {
    throw new SignerError('BAD_CONFIG', `${PLACE}/pinned: ${m}`);
  };
  if (typeof pinned !== 'object' || pinned === null || !Array.isArray(pinned.officers))
    bad('expected {officers, threshold, network}');
  if (pinned.officers.length < 1 || pinned.officers.length > 32)
    bad(`expected 1..32 officers, got ${pinned.officers.length}`);
  const ids = new Set<string>();
  const keys = new Set<string>();
  pinned.officers.forEach((o, i) => {
    if (!identifier.safeParse(o?.keyId).success) bad(`officers[${i}]: expected a key id`);
    if (!isBytes(o.publicKey, 32)) bad(`officers[${i}]: expected a 32-byte Ed25519 public key`);
    ids.add(o.keyId);
    keys.add(bytesToHex(o.publicKey));
  });
  if (ids.size !== pinned.officers.length) bad('expected distinct officer key ids');
  if (keys.size !== pinned.officers.length) bad('expected distinct officer public keys');
  const m = pinned.threshold;
  if (!Number.isSafeInteger(m) || m < 1 || m > pinned.officers.length) {
    bad(`expected threshold in 1..${pinned.officers.length}, got ${String(m)}`);
  }
  if (!networkSchema.safeParse(pinned.network).success)
    bad(`expected a network, got ${String(pinned.network)}`);
}

/** Key ids of the distinct pinned officers whose signature over `message` verifies. */
function countSigners(
  approvals: readonly PolicyApproval[],
  pinned: PinnedOfficers,
  message: Uint8Array,
): string[] {
  const byId = new Map(pinned.officers.map((o) => [o.keyId, o.publicKey] as const));
  const signers = new Set<string>();
  for (const a of approvals) {
    if (signers.has(a.keyId)) continue; // the same officer counts once
    const publicKey = byId.get(a.keyId);
    if (publicKey === undefined) continue; // not pinned: ignored
    let ok = false;
    try {
      ok = ed25519.verify(a.signature, message, publicKey, { zip215: false });
    } catch {
      ok = false;
    }
    if (ok) signers.add(a.keyId);
  }
  return [...signers].sort();
}

/**
 * Verify a signed policy update. Throws SignerError: BAD_SIGNED_DOCUMENT (update shape),
 * BAD_CONFIG (pinned officers), UNAUTHORIZED (fewer than M distinct valid officer signatures),
 * BAD_POLICY (document bytes or schema), STALE_POLICY (rollback, broken chain, expired, device
 * not targeted, wrong network). `current` null = the device has no policy yet.
 */
export function verifyPolicyUpdate(
  update: PolicyUpdate,
  pinned: PinnedOfficers,
  current: CurrentPolicy | null,
  deviceId: string,
  now: number,
): VerifiedPolicyUpdate {
  checkUpdate(update);
  checkPinned(pinned);
  if (
    current !== null &&
    (typeof current !== 'object' ||
      !Number.isSafeInteger(current.version) ||
      current.version < 1 ||
      !isBytes(current.hash, 32))
  ) {
    throw new SignerError(
      'STATE_CORRUPT',
      `${PLACE}: expected current {version >= 1, 32-byte hash} or null`,
    );
  }
  if (!identifier.safeParse(deviceId).success)
    throw new SignerError('BAD_CONFIG', `${PLACE}: expected a device id`);
  if (!Number.isSafeInteger(now) || now < 0)
    throw new SignerError(
      'CLOCK_REFUSED',
      `${PLACE}: expected now as unix seconds, got ${String(now)}`,
    );

  const documentBytes = new Uint8Array(update.documentBytes);
  const hash = hashPolicyDocument(documentBytes);
  const signers = countSigners(update.approvals, pinned, policyApprovalMessage(hash));
  if (signers.length < pinned.threshold) {
    refuse(
      'UNAUTHORIZED',
      'THRESHOLD_NOT_MET',
      `expected ${pinned.threshold} distinct pinned officer signatures, got ${signers.length}`,
    );
  }
  const document = parsePolicyDocument(documentBytes);
  if (document.network !== pinned.network) {
    refuse(
      'STALE_POLICY',
      'WRONG_NETWORK',
      `expected a ${pinned.network} policy, got ${document.network}`,
    );
  }
  if (!document.devices.includes(deviceId)) {
    refuse(
      'STALE_POLICY',
      'NOT_TARGETED',
      `expected the device id among the ${document.devices.length} targeted devices`,
    );
  }
  if (now >= document.expiresAt) {
    refuse(
      'STALE_POLICY',
      'EXPIRED',
      `expected expiresAt after now ${now}, got ${document.expiresAt}`,
    );
  }
  if (current !== null) {
    if (document.version <= current.version) {
      refuse(
        'STALE_POLICY',
        'ROLLBACK',
        `expected a version above ${current.version}, got ${document.version}`,
      );
    }
    if (!equalBytes(document.previous, current.hash)) {
      refuse(
        'STALE_POLICY',
        'BROKEN_CHAIN',
        `expected previous = current hash ${bytesToHex(current.hash)}, got ${bytesToHex(document.previous)}`,
      );
    }
  }
  return Object.freeze({ document, hash, documentBytes, signers: Object.freeze(signers) });
}

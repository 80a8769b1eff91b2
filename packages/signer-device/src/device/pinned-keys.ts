/**
 * The Ed25519 keys pinned at enrollment that may authorise lifecycle steps: key holders (activate,
 * pause, resume) and risk officers (pause only). Shared by activation.ts and approvals.ts: shape
 * checks, strict RFC 8032 verification, and the signer interface a holder's CLI passes in (a
 * keystore `HolderKey` fits it, so the secret never leaves its owner). docs/lifecycle.md §3.
 */

import { identifier } from '@keyline/wire-protocol';
import { equalBytes } from '@noble/ciphers/utils.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { SignerError } from '../errors.js';

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
/** Most keys in one pinned role (the wire allows 16 approvals). */
export const MAX_PINNED_KEYS = 16;

export interface PinnedKey {
  readonly keyId: string;
  readonly publicKey: Uint8Array;
}

/** The pinned key sets. A key has exactly one role: no key id or public key in both lists. */
export interface PinnedSigners {
  readonly holders: readonly PinnedKey[];
  readonly officers: readonly PinnedKey[];
}

/** Who signs: a key id and a function producing an Ed25519 signature over a message. */
export interface MessageSigner {
  readonly keyId: string;
  sign(message: Uint8Array): Uint8Array;
}

export function isBytes(v: unknown, n?: number): v is Uint8Array {
  return v instanceof Uint8Array && (n === undefined || v.length === n);
}

/** Constant-time byte equality: noble's, under the name the device modules use. */
export const sameBytes: (a: Uint8Array, b: Uint8Array) => boolean = equalBytes;

export function isKeyId(v: unknown): v is string {
  return identifier.safeParse(v).success;
}

/**
 * True for a canonical encoding of a curve point that is not of small order. A small-order key
 * (e.g. the identity) has signatures that verify for every message under lax verifiers.
 */
export function isUsablePoint(publicKey: Uint8Array): boolean {
  try {
    return !ed25519.Point.fromBytes(publicKey, false).isSmallOrder();
  } catch {
    return false;
  }
}

/** Throws BAD_CONFIG unless `keys` is 1..MAX distinct {keyId, 32-byte public key}. */
export function checkPinnedKeys(place: string, role: string, keys: readonly PinnedKey[]): void {
  const bad: (m: string) => never = (m) => {
    throw new SignerError('BAD_CONFIG', `${place}: pinned ${role}: ${m}`);
  };
  if (!Array.isArray(keys)) bad(`expected an array of {keyId, publicKey}, got ${typeof keys}`);
  if (keys.length < 1 || keys.length > MAX_PINNED_KEYS)
    bad(`expected 1..${MAX_PINNED_KEYS} keys, got ${keys.length}`);
  const ids = new Set<string>();
  const pubs = new Set<string>();
  keys.forEach((k: unknown, i) => {
    const key = k as Partial<PinnedKey> | null;
    const keyId = typeof key === 'object' && key !== null ? key.keyId : undefined;
    const publicKey = typeof key === 'object' && key !== null ? key.publicKey : undefined;
    if (!isKeyId(keyId)) {
      bad(`[${i}]: expected {keyId: printable ASCII 1..64, publicKey}`);
    } else if (!isBytes(publicKey, ED25519_PUBLIC_KEY_BYTES)) {
      bad(`[${i}]: expected a ${ED25519_PUBLIC_KEY_BYTES}-byte Ed25519 public key`);
    } else if (!isUsablePoint(publicKey)) {
      bad(`[${i}]: expected an Ed25519 point of large order, got a small-order or invalid one`);
    } else {
      ids.add(keyId);
      pubs.add(bytesToHex(publicKey));
    }
  });
  if (ids.size !== keys.length) bad('expected distinct key ids');
  if (pubs.size !== keys.length) bad('expected distinct public keys');
}

/** Throws BAD_CONFIG unless both roles are well formed and share no key id or public key. */
export function checkPinnedSigners(place: string, pinned: PinnedSigners): void {
  if (typeof pinned !== 'object' || pinned === null) {
    throw new SignerError(
      'BAD_CONFIG',
      `${place}: expected pinned {holders, officers}, got ${typeof pinned}`,
    );
  }
  checkPinnedKeys(place, 'holders', pinned.holders);
  checkPinnedKeys(place, 'officers', pinned.officers);
  const holderIds = new Set(pinned.holders.map((k) => k.keyId));
  const holderPubs = new Set(pinned.holders.map((k) => bytesToHex(k.publicKey)));
  for (const o of pinned.officers) {
    if (holderIds.has(o.keyId) || holderPubs.has(bytesToHex(o.publicKey))) {
      throw new SignerError(
        'BAD_CONFIG',
        `${place}: expected holder and officer keys to be disjoint, got ${o.keyId} in both`,
      );
    }
  }
}

/** The pinned key with this id, or undefined. */
export function findKey(keys: readonly PinnedKey[], keyId: string): PinnedKey | undefined {
  return keys.find((k) => k.keyId === keyId);
}

/** Strict RFC 8032 verification (zip215 off: no non-canonical encodings). Never throws. */
export function verifyEd25519(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!isBytes(publicKey, ED25519_PUBLIC_KEY_BYTES) || !isBytes(signature, ED25519_SIGNATURE_BYTES))
    return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** Calls `signer.sign` and checks that it returned a 64-byte signature. */
export function signWith(
  place: string,
  signer: MessageSigner,
  message: Uint8Array,
): Uint8Array<ArrayBuffer> {
  if (typeof signer !== 'object' || signer === null || typeof signer.sign !== 'function') {
    throw new SignerError('BAD_CONFIG', `${place}: expected a signer {keyId, sign}`);
  }
  if (!isKeyId(signer.keyId)) {
    throw new SignerError('BAD_CONFIG', `${place}: expected the signer's key id (1..64 printable)`);
  }
  const signature: unknown = signer.sign(message);
  if (!isBytes(signature, ED25519_SIGNATURE_BYTES)) {
    throw new SignerError(
      'BAD_SIGNED_DOCUMENT',
      `${place}: expected a ${ED25519_SIGNATURE_BYTES}-byte signature from the signer, got ${isBytes(signature) ? `${signature.length} bytes` : typeof signature}`,
    );
  }
  return Uint8Array.from(signature);
}

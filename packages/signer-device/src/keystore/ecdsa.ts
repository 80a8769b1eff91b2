/**
 * The one place that makes a Bitcoin ECDSA signature: RFC 6979 deterministic nonce, low S,
 * DER-encoded, followed by the sighash byte 0x01 (SIGHASH_ALL).
 *
 * Signing and verification run on libsecp256k1 (tiny-secp256k1, WASM): `sign(hash, d)` signs the
 * 32-byte digest as is (never hashed again — the pitfall noble has without `prehash: false`,
 * NOTES.md) with the RFC 6979 nonce and no extra data, and libsecp always returns the low-S form
 * (secp256k1_ecdsa_sign normalises). We do not rely on that: a high S is normalised to n - s here
 * (the same signature's canonical twin), and the RFC 6979 vectors pin the bytes. Every signature
 * is verified against the public key (strict: low S required) before it is returned, so a fault
 * (bit flip, bad RAM — the classic way to leak a key through a broken signature) is caught here,
 * not on chain. tiny-secp256k1 zeroes its WASM input buffers after each call.
 */
import { secp256k1 as curves } from '@noble/curves/secp256k1.js';
import * as tiny from 'tiny-secp256k1';
import { SignerError } from '../errors.js';

export const SIGHASH_ALL = 0x01;
export const DIGEST_BYTES = 32;

/** Half the group order: a signature with s above it is high-S and non-standard in Bitcoin. */
const CURVE_N = curves.Point.CURVE().n;
const HALF_N = CURVE_N >> 1n;

export interface DigestSignature {
  /** Compressed public key (33 bytes) of the signing key. */
  readonly pubkey: Uint8Array;
  /** DER signature + 0x01 (SIGHASH_ALL), ready for a PSBT partial signature. */
  readonly signature: Uint8Array;
}

/** Checks that `digest` is a 32-byte Uint8Array; `place` starts the message. */
export function assertDigest(digest: unknown, place: string): asserts digest is Uint8Array {
  if (!(digest instanceof Uint8Array) || digest.length !== DIGEST_BYTES) {
    throw new SignerError(
      'BAD_PSBT',
      `${place}: expected a ${DIGEST_BYTES}-byte sighash digest, got ${digest instanceof Uint8Array ? `Uint8Array(${digest.length})` : typeof digest}`,
    );
  }
}

/**
 * Signs a 32-byte sighash with a 32-byte private key. The private key is read, not kept and not
 * wiped (its owner wipes it). Returns the compressed public key and DER+0x01.
 */
export function signDigestWithKey(privateKey: Uint8Array, digest: Uint8Array): DigestSignature {
  assertDigest(digest, 'ecdsa/sign');
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) {
    throw new SignerError('STATE_CORRUPT', 'ecdsa/sign: expected a 32-byte private key in memory');
  }
  if (!tiny.isPrivate(privateKey)) {
    throw new SignerError(
      'STATE_CORRUPT',
      'ecdsa/sign: expected a private key in 1..n-1 in memory',
    );
  }
  const pubkey = tiny.pointFromScalar(privateKey, true);
  if (pubkey === null || pubkey.length !== 33) {
    throw new SignerError('STATE_CORRUPT', 'ecdsa/sign: expected a public key for the private key');
  }
  let sig = curves.Signature.fromBytes(tiny.sign(digest, privateKey), 'compact');
  if (sig.s > HALF_N) sig = new curves.Signature(sig.r, CURVE_N - sig.s);
  if (!tiny.verify(digest, pubkey, sig.toBytes('compact'), true)) {
    throw new SignerError(
      'STATE_CORRUPT',
      'ecdsa/sign: expected the new signature to verify, got a signature that does not: refusing to release it',
    );
  }
  const der = sig.toBytes('der');
  const signature = new Uint8Array(der.length + 1);
  signature.set(der);
  signature[der.length] = SIGHASH_ALL;
  return Object.freeze({ pubkey, signature });
}

/**
 * Verifies a DER+sighash signature over a digest with a compressed public key, as a node would
 * for SIGHASH_ALL: low S required, last byte 0x01. Used by tests and by callers that check a
 * signature before it leaves.
 */
export function verifyDigestSignature(
  signature: Uint8Array,
  digest: Uint8Array,
  pubkey: Uint8Array,
): boolean {
  assertDigest(digest, 'ecdsa/verify');
  if (!(signature instanceof Uint8Array) || signature.length < 9 || signature.length > 73) {
    return false;
  }
  if (signature[signature.length - 1] !== SIGHASH_ALL) return false;
  try {
    const sig = curves.Signature.fromBytes(signature.subarray(0, -1), 'der');
    if (sig.s > HALF_N) return false;
    return tiny.verify(digest, pubkey, sig.toBytes('compact'), true);
  } catch {
    return false;
  }
}

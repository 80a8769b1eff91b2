/**
 * BIP32 private child derivation (CKDpriv, non-hardened only) on libsecp256k1 (tiny-secp256k1
 * `privateAdd`), for `UnlockedKey.signDigest`: only the child scalar is made, no child public key
 * and no HD node (@scure/bip32's `deriveChild` computes the child public key, 0.3 ms).
 *
 *   I  = HMAC-SHA512(key = c_par, data = serP(point(k_par)) || ser32(i))      (i < 2^31)
 *   k_i = parse256(IL) + k_par (mod n)
 *
 * Invalid child (BIP32): parse256(IL) >= n or k_i = 0 gives null; the caller refuses (never the
 * neighbour index, which @scure/bip32 would silently take). The child scalar is a secret: the
 * caller wipes it. I is wiped here. test/psbt/ckd.test.ts proves equality with @scure/bip32.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import * as tiny from 'tiny-secp256k1';
import { SignerError } from '../errors.js';
import { HARDENED_INDEX, isAtLeastOrder } from '../psbt/ckd-pub.js';

/** A private BIP32 node as the keystore holds it. All three buffers are read, never kept. */
export interface PrivateParent {
  /** 32-byte scalar k_par (secret). */
  readonly privateKey: Uint8Array;
  /** 33-byte compressed point(k_par). */
  readonly publicKey: Uint8Array;
  readonly chainCode: Uint8Array;
}

function corrupt(message: string): SignerError {
  return new SignerError('STATE_CORRUPT', `ckd-priv/${message}`);
}

/** k_par + IL mod n, or null when IL >= n or the sum is 0. `I` is read, not wiped. */
export function childScalarFromHmac(parentKey: Uint8Array, I: Uint8Array): Uint8Array | null {
  if (!(parentKey instanceof Uint8Array) || parentKey.length !== 32 || !tiny.isPrivate(parentKey)) {
    throw corrupt('expected a 32-byte private scalar in 1..n-1 in memory');
  }
  if (!(I instanceof Uint8Array) || I.length !== 64) {
    throw corrupt('expected 64 bytes of HMAC-SHA512 output');
  }
  const il = I.subarray(0, 32);
  if (isAtLeastOrder(il)) return null;
  const child = tiny.privateAdd(parentKey, il);
  if (child === null || child.length !== 32) return null;
  return child;
}

/**
 * The child private scalar at non-hardened `index`, or null for BIP32's invalid child. The
 * returned buffer is a secret owned by the caller (wipe it).
 */
export function ckdPrivScalar(parent: PrivateParent, index: number): Uint8Array | null {
  if (!Number.isInteger(index) || index < 0 || index >= HARDENED_INDEX) {
    throw new SignerError(
      'BAD_PSBT',
      `ckd-priv: expected a non-hardened index 0..2^31-1, got ${String(index).slice(0, 24)}`,
    );
  }
  const pub = parent.publicKey;
  if (!(pub instanceof Uint8Array) || pub.length !== 33 || (pub[0] !== 2 && pub[0] !== 3)) {
    throw corrupt('expected the parent compressed public key (33 bytes) in memory');
  }
  if (!(parent.chainCode instanceof Uint8Array) || parent.chainCode.length !== 32) {
    throw corrupt('expected the parent 32-byte chain code in memory');
  }
  const data = new Uint8Array(37);
  data.set(pub, 0);
  data[33] = (index >>> 24) & 0xff;
  data[34] = (index >>> 16) & 0xff;
  data[35] = (index >>> 8) & 0xff;
  data[36] = index & 0xff;
  const I = hmac(sha512, parent.chainCode, data);
  try {
    return childScalarFromHmac(parent.privateKey, I);
  } finally {
    I.fill(0);
  }
}

/**
 * Signature and public-key encoding rules of the interpreter (src/script/interpreter.cpp):
 * BIP66 strict DER (IsValidSignatureEncoding), low S (BIP146 via CPubKey::CheckLowS), defined
 * sighash types, key formats; and the conversions between DER and the 64-byte r||s form that
 * libsecp256k1 (tiny-secp256k1) takes. These are consensus/policy rules on bytes, written from
 * the BIP66 text; the DER writer exists for signing in tests and benchmarks.
 */
import { concatBytes } from '@noble/hashes/utils.js';

export const SIGHASH = Object.freeze({
  DEFAULT: 0x00,
  ALL: 0x01,
  NONE: 0x02,
  SINGLE: 0x03,
  ANYONECANPAY: 0x80,
});

const CURVE_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = CURVE_N >> 1n;

/** BIP66: `0x30 len 0x02 lenR R 0x02 lenS S hashtype`, minimal, positive integers. */
export function isValidSignatureEncoding(sig: Uint8Array): boolean {
  const len = sig.length;
  const at = (i: number): number => sig[i] as number;
  if (len < 9 || len > 73) return false;
  if (at(0) !== 0x30) return false;
  if (at(1) !== len - 3) return false;
  const lenR = at(3);
  if (5 + lenR >= len) return false;
  const lenS = at(5 + lenR);
  if (lenR + lenS + 7 !== len) return false;
  if (at(2) !== 0x02) return false;
  if (lenR === 0) return false;
  if (at(4) & 0x80) return false;
  if (lenR > 1 && at(4) === 0x00 && !(at(5) & 0x80)) return false;
  if (at(lenR + 4) !== 0x02) return false;
  if (lenS === 0) return false;
  if (at(lenR + 6) & 0x80) return false;
  if (lenS > 1 && at(lenR + 6) === 0x00 && !(at(lenR + 7) & 0x80)) return false;
  return true;
}

function toBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** R and S of a strictly encoded signature (with its trailing sighash byte). */
function derParts(sigWithType: Uint8Array): { r: Uint8Array; s: Uint8Array } {
  const lenR = sigWithType[3] as number;
  const lenS = sigWithType[5 + lenR] as number;
  return {
    r: sigWithType.subarray(4, 4 + lenR),
    s: sigWithType.subarray(6 + lenR, 6 + lenR + lenS),
  };
}

/** IsLowDERSignature's test (the encoding is already valid): S at most n/2. */
export function hasLowS(sigWithType: Uint8Array): boolean {
  return toBigint(derParts(sigWithType).s) <= HALF_N;
}

/** IsDefinedHashtypeSignature: the last byte without ANYONECANPAY is ALL, NONE or SINGLE. */
export function isDefinedHashtype(sigWithType: Uint8Array): boolean {
  if (sigWithType.length === 0) return false;
  const type = (sigWithType[sigWithType.length - 1] as number) & ~SIGHASH.ANYONECANPAY;
  return type >= SIGHASH.ALL && type <= SIGHASH.SINGLE;
}

function to32(bytes: Uint8Array): Uint8Array | null {
  let b = bytes;
  while (b.length > 0 && b[0] === 0) b = b.subarray(1);
  if (b.length > 32) return null;
  const out = new Uint8Array(32);
  out.set(b, 32 - b.length);
  return out;
}

/**
 * The 64-byte r||s of a DER signature without its sighash byte, or null when it does not
 * decode (then the signature simply does not verify, as in Core's lax parser).
 */
export function derToCompact(der: Uint8Array): Uint8Array | null {
  const withType = concatBytes(der, Uint8Array.of(0));
  if (!isValidSignatureEncoding(withType)) return null;
  const { r, s } = derParts(withType);
  const r32 = to32(r);
  const s32 = to32(s);
  if (r32 === null || s32 === null) return null;
  return concatBytes(r32, s32);
}

function derInteger(bytes32: Uint8Array): Uint8Array {
  let b = bytes32;
  while (b.length > 1 && b[0] === 0 && !((b[1] as number) & 0x80)) b = b.subarray(1);
  if ((b[0] as number) & 0x80) b = concatBytes(Uint8Array.of(0), b);
  return concatBytes(Uint8Array.of(0x02, b.length), b);
}

/** DER of a 64-byte r||s signature (minimal integers), for signing. */
export function compactToDer(compact: Uint8Array): Uint8Array {
  if (compact.length !== 64) {
    throw new RangeError(`signature/der: expected 64 bytes r||s, got ${compact.length}`);
  }
  const body = concatBytes(derInteger(compact.subarray(0, 32)), derInteger(compact.subarray(32)));
  return concatBytes(Uint8Array.of(0x30, body.length), body);
}

/** IsCompressedOrUncompressedPubKey (STRICTENC). */
export function isCompressedOrUncompressedPubKey(key: Uint8Array): boolean {
  if (key.length < 33) return false;
  if (key[0] === 0x04) return key.length === 65;
  if (key[0] === 0x02 || key[0] === 0x03) return key.length === 33;
  return false;
}

export function isCompressedPubKey(key: Uint8Array): boolean {
  return key.length === 33 && (key[0] === 0x02 || key[0] === 0x03);
}

/** CPubKey::IsValid: the size the first byte announces (33 for 02/03, 65 for 04/06/07). */
export function hasValidPubKeySize(key: Uint8Array): boolean {
  const first = key[0];
  if (first === 0x02 || first === 0x03) return key.length === 33;
  if (first === 0x04 || first === 0x06 || first === 0x07) return key.length === 65;
  return false;
}

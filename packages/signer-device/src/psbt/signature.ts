/**
 * Checks of a Bitcoin ECDSA input signature: strict DER (BIP66) followed by one sighash byte,
 * low S (BIP62/146: the malleable twin is non-standard), SIGHASH_ALL only, and a verification of
 * the digest as is with libsecp256k1 (tiny-secp256k1 `verify(hash, Q, r||s, strict = true)`:
 * the digest is never hashed again, and strict mode refuses a high S on its own too — a second
 * barrier behind `isLowS`). Used on every signature the device meets (co-signers' partial
 * signatures, and its own before they leave). Pure.
 */
import * as tiny from 'tiny-secp256k1';
import { SignerError } from '../errors.js';
import { SIGHASH_ALL } from './sighash.js';

/** secp256k1 group order. */
export const CURVE_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = CURVE_N >> 1n;

function fail(message: string, reason: string): SignerError {
  return new SignerError('BAD_PSBT', `signature/${message}`, { reason });
}

function toBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/**
 * Parses `DER(r, s) || sighashType` under BIP66's IsValidSignatureEncoding rules, plus
 * 1 <= r, s < n. Throws BAD_PSBT (reason `der`) on any deviation. Does not judge S or the type.
 */
export function parseDerSignature(sig: Uint8Array): { r: bigint; s: bigint; sighashType: number } {
  if (!(sig instanceof Uint8Array)) throw fail(`der: expected bytes, got ${typeof sig}`, 'der');
  const len = sig.length;
  const at = (i: number): number => sig[i] ?? 0;
  // 0x30 [total-len] 0x02 [R-len] [R] 0x02 [S-len] [S] [sighash]
  if (len < 9 || len > 73) throw fail(`der: expected 9..73 bytes, got ${len}`, 'der');
  if (at(0) !== 0x30)
    throw fail(`der: expected a sequence tag 0x30, got 0x${at(0).toString(16)}`, 'der');
  if (at(1) !== len - 3)
    throw fail(`der: expected sequence length ${len - 3}, got ${at(1)}`, 'der');
  const lenR = at(3);
  if (5 + lenR >= len) throw fail(`der: R length ${lenR} overruns the signature`, 'der');
  const lenS = at(5 + lenR);
  if (lenR + lenS + 7 !== len)
    throw fail(
      `der: expected R and S to fill the signature, got R ${lenR}, S ${lenS} in ${len} bytes`,
      'der',
    );
  if (at(2) !== 0x02) throw fail('der: expected an integer tag for R', 'der');
  if (lenR === 0) throw fail('der: expected a non-empty R', 'der');
  if (at(4) & 0x80) throw fail('der: expected a positive R, got a negative one', 'der');
  if (lenR > 1 && at(4) === 0x00 && !(at(5) & 0x80))
    throw fail('der: expected minimal R, got a padding zero', 'der');
  if (at(lenR + 4) !== 0x02) throw fail('der: expected an integer tag for S', 'der');
  if (lenS === 0) throw fail('der: expected a non-empty S', 'der');
  if (at(lenR + 6) & 0x80) throw fail('der: expected a positive S, got a negative one', 'der');
  if (lenS > 1 && at(lenR + 6) === 0x00 && !(at(lenR + 7) & 0x80)) {
    throw fail('der: expected minimal S, got a padding zero', 'der');
  }
  const r = toBigint(sig.subarray(4, 4 + lenR));
  const s = toBigint(sig.subarray(6 + lenR, 6 + lenR + lenS));
  if (r < 1n || r >= CURVE_N) throw fail('der: expected 1 <= r < n', 'der');
  if (s < 1n || s >= CURVE_N) throw fail('der: expected 1 <= s < n', 'der');
  return { r, s, sighashType: at(len - 1) };
}

/** True when 1 <= s <= n/2 (the canonical, non-malleable half). */
export function isLowS(s: bigint): boolean {
  return typeof s === 'bigint' && s >= 1n && s <= HALF_N;
}

const to32 = (n: bigint): Uint8Array => {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
};

/**
 * True only for a strict-DER, low-S, SIGHASH_ALL signature of `digest` (verified as is) by the
 * 33-byte compressed `pubkey`. Any defect of the signature gives false; a pubkey or digest of the
 * wrong type or size throws BAD_PSBT (the caller passed something that is not a key or a hash).
 */
export function verifyInputSignature(
  pubkey: Uint8Array,
  digest: Uint8Array,
  sigWithHashType: Uint8Array,
): boolean {
  if (
    !(pubkey instanceof Uint8Array) ||
    pubkey.length !== 33 ||
    (pubkey[0] !== 2 && pubkey[0] !== 3)
  ) {
    throw fail('verify: expected a 33-byte compressed public key', 'pubkey');
  }
  if (!(digest instanceof Uint8Array) || digest.length !== 32) {
    throw fail('verify: expected a 32-byte digest', 'digest');
  }
  let parsed: { r: bigint; s: bigint; sighashType: number };
  try {
    parsed = parseDerSignature(sigWithHashType);
  } catch {
    return false;
  }
  if (parsed.sighashType !== SIGHASH_ALL || !isLowS(parsed.s)) return false;
  const compact = new Uint8Array(64);
  compact.set(to32(parsed.r), 0);
  compact.set(to32(parsed.s), 32);
  try {
    // Throws for a pubkey that is not a point on the curve: that is a signature that fails.
    return tiny.verify(digest, pubkey, compact, true);
  } catch {
    return false;
  }
}

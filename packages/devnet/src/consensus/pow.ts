/**
 * Proof of work for regtest: compact nBits → target, the PoW check, the work a block adds to its
 * chain, and Core's GetDifficulty (src/pow.cpp, src/arith_uint256.cpp, src/rpc/blockchain.cpp).
 */
import { bytesToHex } from '@noble/hashes/utils.js';

/** SetCompact: the 256-bit target from nBits; null when negative or overflowing. */
export function targetFromBits(bits: number): bigint | null {
  const size = bits >>> 24;
  let word = BigInt(bits & 0x007fffff);
  if (word !== 0n && (bits & 0x00800000) !== 0) return null;
  if (size <= 3) word >>= BigInt(8 * (3 - size));
  else word <<= BigInt(8 * (size - 3));
  if (word >= 1n << 256n) return null;
  return word;
}

/** CheckProofOfWork: the hash (as a little-endian 256-bit number) is at most the target. */
export function checkProofOfWork(
  hashInternal: Uint8Array,
  bits: number,
  powLimitBits: number,
): boolean {
  const target = targetFromBits(bits);
  const limit = targetFromBits(powLimitBits);
  if (target === null || limit === null || target === 0n || target > limit) return false;
  const value = BigInt(`0x${bytesToHex(Uint8Array.from(hashInternal).reverse())}`);
  return value <= target;
}

/** GetBlockProof: 2^256 / (target + 1). */
export function blockWork(bits: number): bigint {
  const target = targetFromBits(bits);
  if (target === null || target === 0n) return 0n;
  return (1n << 256n) / (target + 1n);
}

/** Core's GetDifficulty, the same double arithmetic so the printed value is identical. */
export function difficulty(bits: number): number {
  let shift = (bits >>> 24) & 0xff;
  let diff = 0x0000ffff / (bits & 0x00ffffff);
  while (shift < 29) {
    diff *= 256.0;
    shift++;
  }
  while (shift > 29) {
    diff /= 256.0;
    shift--;
  }
  return diff;
}

/** A 256-bit number as the 64-hex-digit string Core prints for chainwork. */
export function uint256Hex(value: bigint): string {
  return value.toString(16).padStart(64, '0');
}

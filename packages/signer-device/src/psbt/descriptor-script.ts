/**
 * Script templates of the wallet: the sorted multisig witness script (BIP67 order, BIP383
 * sortedmulti) and its P2WSH scriptPubKey. Pure.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { descriptorError as bad, DESCRIPTOR_REASONS } from './descriptor-checksum.js';

/** `OP_m <pk>... OP_n OP_CHECKMULTISIG` with the keys sorted lexicographically (BIP67/383). */
export function sortedMultisigWitnessScript(
  threshold: number,
  pubkeys: readonly Uint8Array[],
): Uint8Array {
  const n = pubkeys.length;
  if (!Number.isInteger(threshold) || n < 1 || n > 16 || threshold < 1 || threshold > n) {
    throw bad(
      `script: expected 1 <= threshold <= keys <= 16, got ${threshold} of ${n}`,
      DESCRIPTOR_REASONS.THRESHOLD,
    );
  }
  for (const [i, pk] of pubkeys.entries()) {
    if (!(pk instanceof Uint8Array) || pk.length !== 33 || (pk[0] !== 2 && pk[0] !== 3)) {
      throw bad(
        `script: key ${i}: expected a 33-byte compressed public key`,
        DESCRIPTOR_REASONS.KEY_FORMAT,
      );
    }
  }
  const sorted = [...pubkeys].sort(compareBytes);
  const out = new Uint8Array(3 + 34 * n);
  out[0] = 0x50 + threshold;
  sorted.forEach((pk, i) => {
    out[1 + 34 * i] = 33;
    out.set(pk, 2 + 34 * i);
  });
  out[1 + 34 * n] = 0x50 + n;
  out[2 + 34 * n] = 0xae;
  return out;
}

/** `OP_0 <sha256(witnessScript)>`. */
export function p2wshScriptPubKey(witnessScript: Uint8Array): Uint8Array {
  const out = new Uint8Array(34);
  out[1] = 0x20;
  out.set(sha256(witnessScript), 2);
  return out;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

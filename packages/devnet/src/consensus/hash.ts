/**
 * Hash helpers over @noble/hashes, and Bitcoin's display order: txids and block hashes are
 * shown byte-reversed (as Core prints them), while serializations carry the internal order.
 */
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

/** SHA256(SHA256(x)), the hash of transactions, blocks and merkle nodes. */
export function sha256d(data: Uint8Array): Uint8Array {
  return sha256(sha256(data));
}

/** RIPEMD160(SHA256(x)), the hash of P2PKH and P2WPKH keys and P2SH scripts. */
export function hash160(data: Uint8Array): Uint8Array {
  return ripemd160(sha256(data));
}

/** Internal-order 32 bytes → the reversed lowercase hex Core displays. */
export function toDisplayHex(hash: Uint8Array): string {
  return bytesToHex(Uint8Array.from(hash).reverse());
}

/** Display hex (64 characters) → internal-order bytes. The caller has checked the format. */
export function fromDisplayHex(hex: string): Uint8Array {
  return hexToBytes(hex).reverse();
}

const HASH_RE = /^[0-9a-fA-F]{64}$/;

export function isHash256Hex(value: string): boolean {
  return HASH_RE.test(value);
}

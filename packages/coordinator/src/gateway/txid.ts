/**
 * The txid of raw transaction bytes: double SHA-256 of the serialization without witness, in
 * display (reversed) order. Decoding and encoding are @scure/btc-signer's `RawTx`; the bytes must
 * be exactly one canonical transaction (no trailing bytes, re-encoding gives the same bytes).
 */

import { equalBytes } from '@noble/curves/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { RawTx } from '@scure/btc-signer';
import { CoordinatorError } from '../errors.js';
import { describe } from '../storage/validate.js';

/** Largest transaction accepted (the block weight limit bounds any transaction to < 4 MB). */
export const MAX_RAW_TX_BYTES = 4_000_000;

export function txidOfRaw(raw: Uint8Array): string {
  const place = 'gateway/txid';
  if (!(raw instanceof Uint8Array) || raw.length === 0 || raw.length > MAX_RAW_TX_BYTES) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected raw transaction bytes (1..${MAX_RAW_TX_BYTES}), got ${describe(raw)}`,
    );
  }
  let tx: ReturnType<typeof RawTx.decode>;
  try {
    tx = RawTx.decode(raw);
  } catch (e) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected one serialized transaction, got bytes that do not decode (${(e as Error).message})`,
    );
  }
  if (!equalBytes(RawTx.encode(tx), raw)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected a canonical serialization, got bytes that re-encode differently`,
    );
  }
  const stripped = RawTx.encode({ ...tx, segwitFlag: false, witnesses: undefined });
  return bytesToHex(sha256(sha256(stripped)).reverse());
}

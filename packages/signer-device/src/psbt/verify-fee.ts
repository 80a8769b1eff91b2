/**
 * Step 8 of verify-psbt: fee, virtual size and feerate, all computed by the device.
 * vsize is that of the FINAL transaction (every input a 2-of-3 P2WSH spend), worst case:
 *   weight = 4 × base + witness,  vsize = ceil(weight / 4)
 *   base    = 4 version + cs(nIn) + nIn × 41 + cs(nOut) + Σ (8 + cs(len) + len) + 4 locktime
 *   witness = 2 (marker, flag) + Σ per input: 1 (4 items) + 1 (empty dummy) + 2 × (1 + 72)
 *             + cs(len(witnessScript)) + len(witnessScript)
 * feerate in milli-satoshi per vbyte, rounded up.
 */
import type { RawTx } from './parse-psbt.js';

/** Largest DER ECDSA signature with its sighash byte (low-S signatures are at most 72). */
export const MAX_SIGNATURE_BYTES = 72;

export function compactSizeLength(n: number): number {
  if (n < 0xfd) return 1;
  if (n <= 0xffff) return 3;
  if (n <= 0xffffffff) return 5;
  return 9;
}

export function baseSize(tx: RawTx): number {
  let size = 4 + compactSizeLength(tx.inputs.length) + tx.inputs.length * 41;
  size += compactSizeLength(tx.outputs.length);
  for (const o of tx.outputs) size += 8 + compactSizeLength(o.script.length) + o.script.length;
  return size + 4;
}

export function witnessSize(witnessScriptLengths: readonly number[]): number {
  let size = 2;
  for (const len of witnessScriptLengths) {
    size += 1 + 1 + 2 * (1 + MAX_SIGNATURE_BYTES) + compactSizeLength(len) + len;
  }
  return size;
}

export interface FeeFacts {
  readonly fee: bigint;
  readonly vsize: number;
  readonly feerateMsatPerVb: bigint;
}

export function computeFee(
  tx: RawTx,
  witnessScriptLengths: readonly number[],
  totalIn: bigint,
  totalOut: bigint,
): FeeFacts {
  const fee = totalIn - totalOut;
  const weight = 4 * baseSize(tx) + witnessSize(witnessScriptLengths);
  const vsize = Math.ceil(weight / 4);
  const v = BigInt(vsize);
  const feerateMsatPerVb = (fee * 1000n + v - 1n) / v;
  return Object.freeze({ fee, vsize, feerateMsatPerVb });
}

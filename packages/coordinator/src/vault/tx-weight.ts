/**
 * Exact weight of a vault transaction once both signatures are in, from its shape alone (BIP141:
 * weight = 4 × non-witness bytes + witness bytes, vsize = ceil(weight / 4)). Every input is a
 * 2-of-3 P2WSH spend of the 105-byte sorted-multisig witness script, counted with two
 * worst-case 73-byte signatures (DER with a 33-byte R and 33-byte S, plus the sighash byte), so
 * the figure is an upper bound of the signed transaction whatever signatures come back. Pure.
 * docs/vault.md §3.
 */

/** Largest DER ECDSA signature with its sighash byte (low-S ones are at most 72). */
export const MAX_SIGNATURE_BYTES = 73;
/** OP_2 <33> <33> <33> OP_3 OP_CHECKMULTISIG. */
export const WITNESS_SCRIPT_BYTES = 105;
/** OP_0 <32-byte hash>: our receive and change outputs. */
export const P2WSH_SCRIPT_BYTES = 34;

export function compactSizeLength(n: number): number {
  if (n < 0xfd) return 1;
  if (n <= 0xffff) return 3;
  if (n <= 0xffffffff) return 5;
  return 9;
}

/** Non-witness bytes of one input: txid 32 + vout 4 + empty scriptSig 1 + sequence 4. */
export const INPUT_BASE_BYTES = 41;
/** Witness bytes of one input: item count, empty dummy, two signatures, the witness script. */
export const INPUT_WITNESS_BYTES =
  1 +
  1 +
  2 * (1 + MAX_SIGNATURE_BYTES) +
  compactSizeLength(WITNESS_SCRIPT_BYTES) +
  WITNESS_SCRIPT_BYTES;
/** 4 × 41 + 256 = 420 weight units (105 vB) per input. */
export const INPUT_WEIGHT = 4 * INPUT_BASE_BYTES + INPUT_WITNESS_BYTES;

/** Weight of one output: amount 8 + script length + script, all non-witness. */
export function outputWeight(scriptLength: number): number {
  return 4 * (8 + compactSizeLength(scriptLength) + scriptLength);
}

/** Weight of a change (P2WSH) output: 4 × 43 = 172. */
export const CHANGE_OUTPUT_WEIGHT = outputWeight(P2WSH_SCRIPT_BYTES);

/**
 * Weight of the signed transaction with `inputs` vault inputs and outputs whose weights sum to
 * `outputsWeight` (`outputs` of them): version 4 + locktime 4 + the two counts, × 4; the segwit
 * marker and flag (2 witness bytes); the inputs; the outputs.
 */
export function txWeight(inputs: number, outputs: number, outputsWeight: number): number {
  const base = 4 + compactSizeLength(inputs) + compactSizeLength(outputs) + 4;
  return 4 * base + 2 + inputs * INPUT_WEIGHT + outputsWeight;
}

export function vsizeOf(weight: number): number {
  return Math.ceil(weight / 4);
}

/** Fee for `vsize` vbytes at `satPerKvB` (sat per 1000 vB), rounded up. */
export function feeFor(vsize: number, satPerKvB: bigint): bigint {
  return (BigInt(vsize) * satPerKvB + 999n) / 1000n;
}

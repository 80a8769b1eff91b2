/**
 * Transactions: decoding with @scure/btc-signer's RawTx coder (as Core's DecodeHexTx does with
 * witness serialization allowed), the ids, sizes and weight Core computes, and re-encoding.
 * A transaction is decoded once into a frozen `Tx`; every other module reads that.
 */

import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { RawTx } from '@scure/btc-signer';
import { DevnetError } from '../errors.js';
import { fromDisplayHex, sha256d, toDisplayHex } from './hash.js';
import { CONSENSUS } from './params.js';

export interface TxIn {
  /** Previous transaction id, display order (as Core prints it). */
  readonly prevTxid: string;
  readonly vout: number;
  readonly scriptSig: Uint8Array;
  readonly sequence: number;
  readonly witness: readonly Uint8Array[];
}

export interface TxOut {
  /** Satoshis as the int64 Core reads (a value with the top bit set is negative). */
  readonly value: bigint;
  readonly script: Uint8Array;
}

export interface Tx {
  /** nVersion as the uint32 Core v28 stores (a serialized -1 reads as 4294967295). */
  readonly version: number;
  readonly inputs: readonly TxIn[];
  readonly outputs: readonly TxOut[];
  readonly lockTime: number;
  /** Serialization with witness when there is one (what the node relays and stores). */
  readonly raw: Uint8Array;
  readonly txid: string;
  readonly wtxid: string;
  /** Total serialized size in bytes (with witness). */
  readonly size: number;
  /** Size without witness data. */
  readonly strippedSize: number;
  readonly weight: number;
  /** ceil(weight / 4), as TxToUniv prints `vsize`. */
  readonly vsize: number;
  readonly hasWitness: boolean;
  readonly isCoinbase: boolean;
}

const TWO_64 = 1n << 64n;
const TWO_63 = 1n << 63n;
const NULL_TXID = '0'.repeat(64);

type RawTxValue = Parameters<typeof RawTx.encode>[0];

function toSigned(value: bigint): bigint {
  return value >= TWO_63 ? value - TWO_64 : value;
}

function toUnsigned(value: bigint): bigint {
  return value < 0n ? value + TWO_64 : value;
}

function rawValue(
  tx: {
    version: number;
    inputs: readonly TxIn[];
    outputs: readonly TxOut[];
    lockTime: number;
  },
  withWitness: boolean,
): RawTxValue {
  const hasWitness = withWitness && tx.inputs.some((i) => i.witness.length > 0);
  return {
    version: tx.version | 0,
    segwitFlag: hasWitness,
    inputs: tx.inputs.map((i) => ({
      txid: hexToBytes(i.prevTxid),
      index: i.vout,
      finalScriptSig: i.scriptSig,
      sequence: i.sequence,
    })),
    outputs: tx.outputs.map((o) => ({ amount: toUnsigned(o.value), script: o.script })),
    witnesses: hasWitness ? tx.inputs.map((i) => [...i.witness]) : undefined,
    lockTime: tx.lockTime,
  };
}

/** Builds the frozen `Tx` from its parts (ids and sizes computed here). */
export function makeTx(parts: {
  version: number;
  inputs: readonly TxIn[];
  outputs: readonly TxOut[];
  lockTime: number;
}): Tx {
  const raw = RawTx.encode(rawValue(parts, true));
  const stripped = RawTx.encode(rawValue(parts, false));
  const hasWitness = parts.inputs.some((i) => i.witness.length > 0);
  const weight = stripped.length * (CONSENSUS.witnessScaleFactor - 1) + raw.length;
  const first = parts.inputs[0];
  return Object.freeze({
    version: parts.version >>> 0,
    inputs: Object.freeze(parts.inputs.map((i) => Object.freeze({ ...i }))),
    outputs: Object.freeze(parts.outputs.map((o) => Object.freeze({ ...o }))),
    lockTime: parts.lockTime,
    raw,
    txid: toDisplayHex(sha256d(stripped)),
    wtxid: toDisplayHex(sha256d(raw)),
    size: raw.length,
    strippedSize: stripped.length,
    weight,
    vsize: Math.ceil(weight / CONSENSUS.witnessScaleFactor),
    hasWitness,
    isCoinbase:
      parts.inputs.length === 1 &&
      first !== undefined &&
      first.prevTxid === NULL_TXID &&
      first.vout === 0xffffffff,
  });
}

/**
 * Decodes one transaction (witness serialization allowed, as sendrawtransaction does). The bytes
 * must be exactly one canonical serialization: trailing bytes, non-canonical sizes, an unknown
 * flag or a witness flag with only empty witnesses are refused (Core: "TX decode failed").
 */
export function decodeTx(bytes: Uint8Array): Tx {
  let decoded: ReturnType<typeof RawTx.decode>;
  try {
    decoded = RawTx.decode(bytes);
  } catch (err) {
    throw new DevnetError(
      'BAD_TX',
      `tx/decode: expected one serialized transaction, got ${(err as Error).message}`,
    );
  }
  const tx = makeTx({
    version: decoded.version,
    inputs: decoded.inputs.map((input, i) => ({
      prevTxid: bytesToHex(input.txid),
      vout: input.index,
      scriptSig: input.finalScriptSig,
      sequence: input.sequence,
      witness: decoded.witnesses?.[i] ?? [],
    })),
    outputs: decoded.outputs.map((o) => ({ value: toSigned(o.amount), script: o.script })),
    lockTime: decoded.lockTime,
  });
  if (tx.raw.length !== bytes.length || bytesToHex(tx.raw) !== bytesToHex(bytes)) {
    throw new DevnetError(
      'BAD_TX',
      'tx/decode: expected a canonical serialization, got one that does not re-encode to the same bytes',
    );
  }
  return tx;
}

/** Decodes a hex string (Core's DecodeHexTx); non-hex is a decode failure too. */
export function decodeTxHex(hex: string): Tx {
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) {
    throw new DevnetError('BAD_TX', 'tx/decode: expected an even-length hex string');
  }
  return decodeTx(hexToBytes(hex));
}

/** The previous output an input spends, as `txid:vout` (the key of the coin maps). */
export function outpointKey(txid: string, vout: number): string {
  return `${txid}:${vout}`;
}

export function internalTxid(txid: string): Uint8Array {
  return fromDisplayHex(txid);
}

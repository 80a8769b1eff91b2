/**
 * Raw transaction bytes → ChainTransaction, with @scure/btc-signer's parser. Amounts and
 * scripts come from the bytes only, never from a node's decoded JSON. The parser is run in its
 * most permissive mode (any version, any script): a chain backend reports what is on the chain,
 * it does not judge it. What it does refuse is what no valid chain can hold: trailing bytes, an
 * output above MAX_MONEY (btc-signer would decode a negative int64 as 2^64 − x), a txid that
 * does not match the one asked for.
 */
import { equalBytes } from '@noble/curves/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { RawTx, Transaction } from '@scure/btc-signer';
import { CoordinatorError } from '../errors.js';
import { MAX_MONEY_SATS } from './amount.js';
import type { ChainTransaction, ChainTxInput, ChainTxOutput } from './interface.js';

/** btc-signer options for reading chain data: accept every version and script. */
const READ_OPTS = Object.freeze({
  allowUnknownOutputs: true,
  allowUnknownInputs: true,
  disableScriptCheck: true,
  allowUnknownVersion: true,
});

const NULL_TXID = '0'.repeat(64);
const COINBASE_INDEX = 0xffff_ffff;

/** SHA256(SHA256(x)). */
export function dsha256(bytes: Uint8Array): Uint8Array {
  return sha256(sha256(bytes));
}

/** A 32-byte hash in Core's display order (byte-reversed), as lowercase hex. */
export function hashToDisplayHex(hash: Uint8Array): string {
  return bytesToHex(Uint8Array.from(hash).reverse());
}

/**
 * The txid of undecodable bytes, for reporting only: dsha256 of the bytes as given, which is the
 * txid whenever the bytes are a non-witness serialization.
 */
export function txidOfBytes(raw: Uint8Array): string {
  return hashToDisplayHex(dsha256(raw));
}

function parse(raw: Uint8Array, where: string): Transaction {
  try {
    return Transaction.fromRaw(raw, READ_OPTS);
  } catch (e) {
    throw new CoordinatorError(
      'CHAIN_BAD_RESPONSE',
      `${where}: expected a serialized transaction, got ${raw.length} bytes that do not parse (${(e as Error).message})`,
      {},
      { cause: e },
    );
  }
}

/** The txid of a serialized transaction (its non-witness serialization, double SHA-256). */
export function txidOf(raw: Uint8Array, where: string): string {
  return parse(raw, where).id;
}

/** Whether `raw` parses as a transaction at all (for choosing an error, not for trust). */
export function tryTxidOf(raw: Uint8Array): string | null {
  try {
    return Transaction.fromRaw(raw, READ_OPTS).id;
  } catch {
    return null;
  }
}

/**
 * Decode `raw`; when `expectedTxid` is given the decoded txid must equal it (a node or an
 * indexer that serves other bytes than the txid it was asked for is a bad response).
 */
export function decodeTransaction(
  raw: Uint8Array,
  where: string,
  expectedTxid?: string,
): ChainTransaction {
  const tx = parse(raw, where);
  const txid = tx.id;
  if (expectedTxid !== undefined && txid !== expectedTxid) {
    throw new CoordinatorError(
      'CHAIN_BAD_RESPONSE',
      `${where}: expected the bytes of transaction ${expectedTxid}, got bytes of ${txid}`,
      { expectedTxid, txid },
    );
  }
  const inputs: ChainTxInput[] = [];
  for (let i = 0; i < tx.inputsLength; i++) {
    const input = tx.getInput(i);
    const prevTxid = bytesToHex(input.txid ?? new Uint8Array(32));
    const vout = input.index ?? 0;
    inputs.push(
      Object.freeze({
        txid: prevTxid,
        vout,
        sequence: input.sequence ?? 0xffff_ffff,
        coinbase: tx.inputsLength === 1 && prevTxid === NULL_TXID && vout === COINBASE_INDEX,
      }),
    );
  }
  const outputs: ChainTxOutput[] = [];
  for (let i = 0; i < tx.outputsLength; i++) {
    const output = tx.getOutput(i);
    const value = output.amount ?? 0n;
    if (value < 0n || value > MAX_MONEY_SATS) {
      throw new CoordinatorError(
        'CHAIN_BAD_RESPONSE',
        `${where}: expected output ${i} of ${txid} to hold 0..21e14 sat, got ${value}`,
        { txid, vout: i },
      );
    }
    outputs.push(
      Object.freeze({ value, scriptPubKey: Uint8Array.from(output.script ?? new Uint8Array()) }),
    );
  }
  return Object.freeze({
    txid,
    inputs: Object.freeze(inputs),
    outputs: Object.freeze(outputs),
    raw: Uint8Array.from(raw),
  });
}

/**
 * Cut the next serialized transaction off `bytes` at `offset`: its length, found by decoding
 * with btc-signer's RawTx coder and checking that re-encoding gives the same bytes.
 */
export function nextTransactionLength(bytes: Uint8Array, offset: number, where: string): number {
  const rest = bytes.subarray(offset);
  let encoded: Uint8Array;
  try {
    encoded = RawTx.encode(RawTx.decode(rest, { allowUnreadBytes: true }));
  } catch (e) {
    throw new CoordinatorError(
      'CHAIN_BAD_RESPONSE',
      `${where}: expected a serialized transaction at byte ${offset}, got bytes that do not parse (${(e as Error).message})`,
      { offset },
      { cause: e },
    );
  }
  if (!equalBytes(encoded, rest.subarray(0, encoded.length))) {
    throw new CoordinatorError(
      'CHAIN_BAD_RESPONSE',
      `${where}: expected a canonical serialized transaction at byte ${offset}, got one that re-encodes differently`,
      { offset },
    );
  }
  return encoded.length;
}

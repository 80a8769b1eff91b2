/**
 * Block-level checks shared by both backends: the 80-byte header (serialize / parse / hash),
 * the transaction merkle root, and splitting a raw block into its transactions. The bitcoind
 * backend rebuilds the header from getblock's fields and checks it hashes to the block hash and
 * that the merkle root of the decoded txids matches; the Esplora backend does the same from the
 * raw block bytes. A backend therefore cannot hand over transactions that are not the block's.
 */

import { concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import { CompactSize } from '@scure/btc-signer';
import { CoordinatorError } from '../errors.js';
import { dsha256, hashToDisplayHex, nextTransactionLength } from './tx-decode.js';

export const HEADER_BYTES = 80;
/** version 4 + 1 input (32 + 4 + 1 + 4) + 1 output (8 + 1) + counts 2 + locktime 4. */
const MIN_TX_BYTES = 60;

export interface BlockHeader {
  readonly hash: string;
  readonly version: number;
  /** Display order; 64 zeros for the genesis block. */
  readonly previousHash: string;
  readonly merkleRoot: string;
  readonly time: number;
  /** The compact target as Core prints it (8 hex digits). */
  readonly bits: string;
  readonly nonce: number;
}

function displayHexToInternal(h: string): Uint8Array {
  return hexToBytes(h).reverse();
}

/** Header fields → the 80 serialized bytes (all integers little-endian). */
export function serializeHeader(h: Omit<BlockHeader, 'hash'>): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const view = new DataView(out.buffer);
  view.setInt32(0, h.version | 0, true);
  out.set(displayHexToInternal(h.previousHash), 4);
  out.set(displayHexToInternal(h.merkleRoot), 36);
  view.setUint32(68, h.time, true);
  view.setUint32(72, Number.parseInt(h.bits, 16), true);
  view.setUint32(76, h.nonce, true);
  return out;
}

export function parseHeader(bytes: Uint8Array): BlockHeader {
  if (bytes.length !== HEADER_BYTES) {
    throw new RangeError(`block/header: expected ${HEADER_BYTES} bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Object.freeze({
    hash: hashToDisplayHex(dsha256(bytes)),
    version: view.getInt32(0, true),
    previousHash: hashToDisplayHex(bytes.subarray(4, 36)),
    merkleRoot: hashToDisplayHex(bytes.subarray(36, 68)),
    time: view.getUint32(68, true),
    bits: view.getUint32(72, true).toString(16).padStart(8, '0'),
    nonce: view.getUint32(76, true),
  });
}

/** The merkle root (display order) of txids given in display order; Bitcoin's odd-leaf rule. */
export function merkleRoot(txids: readonly string[]): string {
  if (txids.length === 0) throw new RangeError('block/merkle: expected at least one txid, got 0');
  let level = txids.map(displayHexToInternal);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Uint8Array;
      const right = level[i + 1] ?? left;
      next.push(dsha256(concatBytes(left, right)));
    }
    level = next;
  }
  return hashToDisplayHex(level[0] as Uint8Array);
}

/** A raw block → header bytes + each transaction's bytes; every byte must be accounted for. */
export function splitBlock(
  raw: Uint8Array,
  where: string,
): { header: Uint8Array; txs: Uint8Array[] } {
  if (raw.length < HEADER_BYTES + 1) {
    throw new CoordinatorError(
      'CHAIN_BAD_RESPONSE',
      `${where}: expected a raw block of at least ${HEADER_BYTES + 1} bytes, got ${raw.length}`,
    );
  }
  const header = raw.subarray(0, HEADER_BYTES);
  const rest = raw.subarray(HEADER_BYTES);
  let count: bigint;
  try {
    count = CompactSize.decode(rest, { allowUnreadBytes: true });
  } catch (e) {
    throw new CoordinatorError(
      'CHAIN_BAD_RESPONSE',
      `${where}: expected a transaction count after the header, got bytes that do not parse`,
      {},
      { cause: e },
    );
  }
  let offset = HEADER_BYTES + CompactSize.encode(count).length;
  // A transaction is at least 60 bytes, which bounds a sane count by the bytes present.
  const most = Math.floor((raw.length - offset) / MIN_TX_BYTES);
  if (count < 1n || count > BigInt(most)) {
    throw new CoordinatorError(
      'CHAIN_BAD_RESPONSE',
      `${where}: expected 1..${most} transactions in ${raw.length} bytes, got a count of ${count}`,
    );
  }
  const txs: Uint8Array[] = [];
  for (let i = 0n; i < count; i++) {
    const len = nextTransactionLength(raw, offset, where);
    txs.push(raw.subarray(offset, offset + len));
    offset += len;
  }
  if (offset !== raw.length) {
    throw new CoordinatorError(
      'CHAIN_BAD_RESPONSE',
      `${where}: expected the block to end after ${count} transactions, got ${raw.length - offset} more bytes`,
    );
  }
  return { header, txs };
}

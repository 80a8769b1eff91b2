/**
 * Blocks: the 80-byte header (src/primitives/block.h), the block serialization, its hash,
 * sizes and weight. Headers are encoded field by field; transactions come from tx.ts.
 */

import { concatBytes } from '@noble/hashes/utils.js';
import { CompactSize } from '@scure/btc-signer';
import { DevnetError } from '../errors.js';
import { sha256d, toDisplayHex } from './hash.js';
import { CONSENSUS } from './params.js';
import type { Tx } from './tx.js';

export interface BlockHeader {
  readonly version: number;
  /** Parent hash, internal byte order (all zeros for genesis). */
  readonly prevHash: Uint8Array;
  /** Merkle root, internal byte order. */
  readonly merkleRoot: Uint8Array;
  /** Seconds since the UNIX epoch. */
  readonly time: number;
  readonly bits: number;
  readonly nonce: number;
}

export interface Block {
  readonly header: BlockHeader;
  readonly txs: readonly Tx[];
  /** Display-order hash. */
  readonly hash: string;
  readonly size: number;
  readonly strippedSize: number;
  readonly weight: number;
}

export const HEADER_SIZE = 80;

export function encodeHeader(h: BlockHeader): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  const view = new DataView(out.buffer);
  view.setInt32(0, h.version, true);
  out.set(h.prevHash, 4);
  out.set(h.merkleRoot, 36);
  view.setUint32(68, h.time, true);
  view.setUint32(72, h.bits, true);
  view.setUint32(76, h.nonce, true);
  return out;
}

export function decodeHeader(bytes: Uint8Array): BlockHeader {
  if (bytes.length !== HEADER_SIZE) {
    throw new DevnetError(
      'BAD_BLOCK',
      `block/header: expected ${HEADER_SIZE} bytes, got ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Object.freeze({
    version: view.getInt32(0, true),
    prevHash: bytes.slice(4, 36),
    merkleRoot: bytes.slice(36, 68),
    time: view.getUint32(68, true),
    bits: view.getUint32(72, true),
    nonce: view.getUint32(76, true),
  });
}

/** Internal-order hash of a header (SHA256d of its 80 bytes). */
export function headerHashInternal(h: BlockHeader): Uint8Array {
  return sha256d(encodeHeader(h));
}

export function headerHash(h: BlockHeader): string {
  return toDisplayHex(headerHashInternal(h));
}

export function makeBlock(header: BlockHeader, txs: readonly Tx[]): Block {
  const count = CompactSize.encode(BigInt(txs.length)).length;
  const size = HEADER_SIZE + count + txs.reduce((n, tx) => n + tx.size, 0);
  const strippedSize = HEADER_SIZE + count + txs.reduce((n, tx) => n + tx.strippedSize, 0);
  return Object.freeze({
    header,
    txs: Object.freeze([...txs]),
    hash: headerHash(header),
    size,
    strippedSize,
    weight: strippedSize * (CONSENSUS.witnessScaleFactor - 1) + size,
  });
}

/** The block as Core serializes it with witness data (getblock verbosity 0). */
export function encodeBlock(block: Block): Uint8Array {
  return concatBytes(
    encodeHeader(block.header),
    CompactSize.encode(BigInt(block.txs.length)),
    ...block.txs.map((tx) => tx.raw),
  );
}

/**
 * Blocks and headers as Core v28 writes them (src/rpc/blockchain.cpp blockheaderToJSON,
 * blockToJSON): confirmations -1 off the active chain, nextblockhash only on it, versionHex,
 * bits, difficulty, chainwork, nTx; then sizes and the transactions at the chosen verbosity.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { BlockEntry, Chainstate } from '../chain/chainstate.js';
import { encodeHeader } from '../consensus/block.js';
import { toDisplayHex } from '../consensus/hash.js';
import { difficulty, uint256Hex } from '../consensus/pow.js';
import { txToJson } from './format-tx.js';
import { JsonFloat, type JsonValue } from './json.js';

export function headerToJson(chain: Chainstate, entry: BlockEntry): Record<string, JsonValue> {
  const active = chain.isActive(entry);
  const h = entry.block.header;
  const json: Record<string, JsonValue> = {
    hash: entry.hash,
    confirmations: active ? chain.height - entry.height + 1 : -1,
    height: entry.height,
    version: h.version,
    versionHex: (h.version >>> 0).toString(16).padStart(8, '0'),
    merkleroot: toDisplayHex(h.merkleRoot),
    time: h.time,
    mediantime: entry.mtp,
    nonce: h.nonce,
    bits: h.bits.toString(16).padStart(8, '0'),
    difficulty: new JsonFloat(difficulty(h.bits)),
    chainwork: uint256Hex(entry.chainWork),
    nTx: entry.block.txs.length,
  };
  if (entry.prev !== null) json.previousblockhash = entry.prev.hash;
  const next = active ? chain.atHeight(entry.height + 1) : undefined;
  if (next !== undefined) json.nextblockhash = next.hash;
  return json;
}

/** getblock verbosity 1 (txids), 2 (decoded, with fee) or 3 (decoded, with prevouts). */
export function blockToJson(
  chain: Chainstate,
  entry: BlockEntry,
  verbosity: 1 | 2 | 3,
): Record<string, JsonValue> {
  const json = headerToJson(chain, entry);
  json.strippedsize = entry.block.strippedSize;
  json.size = entry.block.size;
  json.weight = entry.block.weight;
  json.tx =
    verbosity === 1
      ? entry.block.txs.map((tx) => tx.txid)
      : entry.block.txs.map((tx, i) =>
          txToJson(
            tx,
            i > 0 && entry.undo !== null ? (entry.undo[i - 1] ?? null) : null,
            verbosity === 3,
          ),
        );
  return json;
}

export function headerHex(entry: BlockEntry): string {
  return bytesToHex(encodeHeader(entry.block.header));
}

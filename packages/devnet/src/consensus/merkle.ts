/**
 * Merkle roots (src/consensus/merkle.cpp): the transaction root and the BIP141 witness root, and
 * the witness commitment a coinbase carries (OP_RETURN 0xaa21a9ed || SHA256d(root || nonce)).
 */
import { concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import { sha256d } from './hash.js';
import { internalTxid, type Tx } from './tx.js';

/** ComputeMerkleRoot: pairs hashed with SHA256d, an odd last node paired with itself. */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return new Uint8Array(32);
  let level = [...leaves];
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Uint8Array;
      const right = level[i + 1] ?? left;
      next.push(sha256d(concatBytes(left, right)));
    }
    level = next;
  }
  return level[0] as Uint8Array;
}

/** BlockMerkleRoot: the root of the txids (internal order). */
export function blockMerkleRoot(txs: readonly Tx[]): Uint8Array {
  return merkleRoot(txs.map((tx) => internalTxid(tx.txid)));
}

/** BlockWitnessMerkleRoot: the root of the wtxids with the coinbase's replaced by zeros. */
export function blockWitnessMerkleRoot(txs: readonly Tx[]): Uint8Array {
  return merkleRoot(txs.map((tx, i) => (i === 0 ? new Uint8Array(32) : internalTxid(tx.wtxid))));
}

export const WITNESS_COMMITMENT_HEADER = hexToBytes('aa21a9ed');

/** The 38-byte output script committing to the witness root with the given nonce. */
export function witnessCommitmentScript(witnessRoot: Uint8Array, nonce: Uint8Array): Uint8Array {
  const commitment = sha256d(concatBytes(witnessRoot, nonce));
  return concatBytes(Uint8Array.of(0x6a, 0x24), WITNESS_COMMITMENT_HEADER, commitment);
}

/** GetWitnessCommitmentIndex: the last coinbase output that looks like a commitment, or -1. */
export function witnessCommitmentIndex(coinbase: Tx): number {
  let found = -1;
  coinbase.outputs.forEach((out, i) => {
    const s = out.script;
    if (
      s.length >= 38 &&
      s[0] === 0x6a &&
      s[1] === 0x24 &&
      s[2] === 0xaa &&
      s[3] === 0x21 &&
      s[4] === 0xa9 &&
      s[5] === 0xed
    ) {
      found = i;
    }
  });
  return found;
}

/**
 * Block rules that need no UTXO set (src/validation.cpp CheckBlock, ContextualCheckBlockHeader,
 * ContextualCheckBlock): size and weight, merkle root, one coinbase first, every transaction well
 * formed, legacy sigops, proof of work, regtest's fixed nBits, time above the median time past,
 * BIP34 height in the coinbase, finality, and the BIP141 witness commitment.
 */
import { equalBytes } from '@scure/btc-signer/utils.js';
import { pushInt } from '../script/opcodes.js';
import { legacySigOpCount } from '../script/sigops.js';
import { type Block, type BlockHeader, headerHashInternal } from './block.js';
import { checkTransaction, isFinalTx } from './check-tx.js';
import {
  blockMerkleRoot,
  blockWitnessMerkleRoot,
  witnessCommitmentIndex,
  witnessCommitmentScript,
} from './merkle.js';
import { CONSENSUS } from './params.js';
import { checkProofOfWork } from './pow.js';

export interface BlockFailure {
  readonly reason: string;
  readonly debug?: string;
}

const failure = (reason: string, debug?: string): BlockFailure =>
  Object.freeze(debug === undefined ? { reason } : { reason, debug });

/** GetBlockSubsidy on regtest: 50 BTC halved every 150 blocks, zero after 64 halvings. */
export function blockSubsidy(height: number): bigint {
  const halvings = Math.floor(height / CONSENSUS.subsidyHalvingInterval);
  if (halvings >= 64) return 0n;
  return CONSENSUS.initialSubsidy >> BigInt(halvings);
}

/** The scriptSig prefix BIP34 requires: `CScript() << height`. */
export function bip34Prefix(height: number): Uint8Array {
  return pushInt(height);
}

export function checkBlockHeader(header: BlockHeader): BlockFailure | null {
  if (!checkProofOfWork(headerHashInternal(header), header.bits, CONSENSUS.powLimitBits)) {
    return failure('high-hash', 'proof of work failed');
  }
  return null;
}

export function checkBlock(block: Block): BlockFailure | null {
  const headerFailure = checkBlockHeader(block.header);
  if (headerFailure !== null) return headerFailure;
  if (!equalBytes(blockMerkleRoot(block.txs), block.header.merkleRoot)) {
    return failure('bad-txnmrklroot', 'hashMerkleRoot mismatch');
  }
  const txids = new Set(block.txs.map((tx) => tx.txid));
  if (txids.size !== block.txs.length)
    return failure('bad-txns-duplicate', 'duplicate transaction');
  const w = CONSENSUS.witnessScaleFactor;
  if (
    block.txs.length === 0 ||
    block.txs.length * w > CONSENSUS.maxBlockWeight ||
    block.strippedSize * w > CONSENSUS.maxBlockWeight
  ) {
    return failure('bad-blk-length', 'size limits failed');
  }
  if (!block.txs[0]?.isCoinbase) return failure('bad-cb-missing', 'first tx is not coinbase');
  for (let i = 1; i < block.txs.length; i++) {
    if (block.txs[i]?.isCoinbase) return failure('bad-cb-multiple', 'more than one coinbase');
  }
  let sigops = 0;
  for (const tx of block.txs) {
    const bad = checkTransaction(tx);
    if (bad !== null) {
      return failure(
        bad.reason,
        `Transaction check failed (tx hash ${tx.txid}) ${bad.debug ?? ''}`,
      );
    }
    sigops += legacySigOpCount(tx);
  }
  if (sigops * w > CONSENSUS.maxBlockSigopsCost)
    return failure('bad-blk-sigops', 'out-of-bounds SigOpCount');
  return null;
}

/** ContextualCheckBlockHeader: regtest's fixed difficulty, time after the MTP, version >= 4. */
export function contextualCheckBlockHeader(
  header: BlockHeader,
  prevMtp: number,
  height: number,
): BlockFailure | null {
  if (header.bits !== CONSENSUS.powLimitBits)
    return failure('bad-diffbits', 'incorrect proof of work');
  if (header.time <= prevMtp) return failure('time-too-old', "block's timestamp is too early");
  if (height >= CONSENSUS.bip34Height && header.version < 4) {
    return failure(
      `bad-version(0x${(header.version >>> 0).toString(16).padStart(8, '0')})`,
      'rejected nVersion block',
    );
  }
  return null;
}

/** ContextualCheckBlock: finality, BIP34 height, witness commitment, weight. */
export function contextualCheckBlock(
  block: Block,
  height: number,
  prevMtp: number,
): BlockFailure | null {
  for (const tx of block.txs) {
    if (!isFinalTx(tx, height, prevMtp))
      return failure('bad-txns-nonfinal', 'non-final transaction');
  }
  const coinbase = block.txs[0];
  if (coinbase === undefined) return failure('bad-cb-missing', 'first tx is not coinbase');
  if (height >= CONSENSUS.bip34Height) {
    const expect = bip34Prefix(height);
    const sig = coinbase.inputs[0]?.scriptSig ?? new Uint8Array(0);
    if (sig.length < expect.length || !equalBytes(sig.subarray(0, expect.length), expect)) {
      return failure('bad-cb-height', 'block height mismatch in coinbase');
    }
  }
  const index = witnessCommitmentIndex(coinbase);
  if (index !== -1) {
    const witness = coinbase.inputs[0]?.witness ?? [];
    const nonce = witness[0];
    if (witness.length !== 1 || nonce === undefined || nonce.length !== 32) {
      return failure(
        'bad-witness-nonce-size',
        'ContextualCheckBlock : invalid witness reserved value size',
      );
    }
    const expected = witnessCommitmentScript(blockWitnessMerkleRoot(block.txs), nonce);
    const actual = coinbase.outputs[index]?.script.subarray(0, 38);
    if (actual === undefined || !equalBytes(actual, expected)) {
      return failure(
        'bad-witness-merkle-match',
        'ContextualCheckBlock : witness merkle commitment mismatch',
      );
    }
  } else if (block.txs.some((tx) => tx.hasWitness)) {
    return failure('unexpected-witness', 'ContextualCheckBlock : unexpected witness data found');
  }
  if (block.weight > CONSENSUS.maxBlockWeight)
    return failure('bad-blk-weight', 'ContextualCheckBlock : weight limit failed');
  return null;
}

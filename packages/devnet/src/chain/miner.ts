/**
 * Block assembly (src/node/miner.cpp BlockAssembler, v28): mempool transactions chosen by
 * ancestor-package fee rate, parents always before children, within the block weight and sigop
 * budgets; the coinbase with the BIP34 height, the subsidy plus fees and the BIP141 witness
 * commitment; then a nonce search until the header meets regtest's target.
 */

import { concatBytes } from '@noble/hashes/utils.js';
import { type Block, type BlockHeader, headerHashInternal, makeBlock } from '../consensus/block.js';
import { bip34Prefix, blockSubsidy } from '../consensus/check-block.js';
import { isFinalTx } from '../consensus/check-tx.js';
import { fromDisplayHex } from '../consensus/hash.js';
import {
  blockMerkleRoot,
  blockWitnessMerkleRoot,
  witnessCommitmentScript,
} from '../consensus/merkle.js';
import { BLOCK_VERSION, CONSENSUS, POLICY, SEQUENCE } from '../consensus/params.js';
import { checkProofOfWork } from '../consensus/pow.js';
import { makeTx, type Tx } from '../consensus/tx.js';
import { feeForSize } from '../policy/feerate.js';
import type { Chainstate } from './chainstate.js';
import type { Mempool, MempoolEntry } from './mempool.js';

/** Weight and sigops Core reserves for the coinbase before adding transactions. */
const COINBASE_RESERVED_WEIGHT = 4000;
const COINBASE_RESERVED_SIGOPS = 400;

/** Picks mempool transactions: best ancestor-package fee rate first, topologically ordered. */
export function selectTransactions(
  mempool: Mempool,
  height: number,
  prevMtp: number,
  blockMinFeeSatPerKvB: bigint,
): MempoolEntry[] {
  const pool = mempool.entries().filter((e) => isFinalTx(e.tx, height, prevMtp));
  const byTxid = new Map(pool.map((e) => [e.tx.txid, e]));
  const included = new Set<string>();
  const failed = new Set<string>();
  const selected: MempoolEntry[] = [];
  let weight = COINBASE_RESERVED_WEIGHT;
  let sigops = COINBASE_RESERVED_SIGOPS;
  for (;;) {
    let best: { pkg: MempoolEntry[]; fee: bigint; vsize: number } | null = null;
    for (const e of pool) {
      if (included.has(e.tx.txid) || failed.has(e.tx.txid)) continue;
      const ancestors = [...mempool.ancestors(e.tx.txid)].filter((t) => !included.has(t));
      if (ancestors.some((t) => !byTxid.has(t) || failed.has(t))) continue;
      const pkg = [...ancestors.map((t) => byTxid.get(t) as MempoolEntry), e].sort(
        (a, b) => a.order - b.order,
      );
      const fee = pkg.reduce((n, p) => n + p.fee, 0n);
      const vsize = pkg.reduce((n, p) => n + p.vsize, 0);
      if (best === null || fee * BigInt(best.vsize) > best.fee * BigInt(vsize))
        best = { pkg, fee, vsize };
    }
    if (best === null) break;
    if (best.fee < feeForSize(blockMinFeeSatPerKvB, best.vsize)) break;
    const pkgWeight = best.pkg.reduce((n, p) => n + p.tx.weight, 0);
    const pkgSigops = best.pkg.reduce((n, p) => n + p.sigOpCost, 0);
    if (
      weight + pkgWeight > POLICY.blockMaxWeight ||
      sigops + pkgSigops > CONSENSUS.maxBlockSigopsCost
    ) {
      for (const p of best.pkg) if (!included.has(p.tx.txid)) failed.add(p.tx.txid);
      continue;
    }
    for (const p of best.pkg) {
      included.add(p.tx.txid);
      selected.push(p);
    }
    weight += pkgWeight;
    sigops += pkgSigops;
  }
  return selected;
}

/** The coinbase: BIP34 height + OP_0, the reserved value in its witness, reward and commitment. */
export function makeCoinbase(
  height: number,
  payoutScript: Uint8Array,
  reward: bigint,
  txs: readonly Tx[],
): Tx {
  const nonce = new Uint8Array(32);
  const draft = (outputs: { value: bigint; script: Uint8Array }[]): Tx =>
    makeTx({
      version: 2,
      inputs: [
        {
          prevTxid: '0'.repeat(64),
          vout: 0xffffffff,
          scriptSig: concatBytes(bip34Prefix(height), Uint8Array.of(0x00)),
          sequence: SEQUENCE.final,
          witness: [nonce],
        },
      ],
      outputs,
      lockTime: 0,
    });
  const placeholder = draft([{ value: reward, script: payoutScript }]);
  const commitment = witnessCommitmentScript(blockWitnessMerkleRoot([placeholder, ...txs]), nonce);
  return draft([
    { value: reward, script: payoutScript },
    { value: 0n, script: commitment },
  ]);
}

export interface MineRequest {
  readonly payoutScript: Uint8Array;
  /** Block time in seconds (the caller keeps it above the parent's). */
  readonly time: number;
  readonly blockMinFeeSatPerKvB: bigint;
  readonly maxTries: number;
}

/** Assembles and solves one block on the active tip; null when `maxTries` nonces all fail. */
export function assembleBlock(chain: Chainstate, mempool: Mempool, req: MineRequest): Block | null {
  const tip = chain.tip;
  const height = tip.height + 1;
  const selected = selectTransactions(mempool, height, tip.mtp, req.blockMinFeeSatPerKvB);
  const fees = selected.reduce((n, e) => n + e.fee, 0n);
  const txs = selected.map((e) => e.tx);
  const coinbase = makeCoinbase(height, req.payoutScript, blockSubsidy(height) + fees, txs);
  const all = [coinbase, ...txs];
  const base: Omit<BlockHeader, 'nonce'> = {
    version: BLOCK_VERSION,
    prevHash: fromDisplayHex(tip.hash),
    merkleRoot: blockMerkleRoot(all),
    time: req.time,
    bits: CONSENSUS.powLimitBits,
  };
  for (let nonce = 0; nonce < req.maxTries && nonce <= 0xffffffff; nonce++) {
    const header: BlockHeader = Object.freeze({ ...base, nonce });
    if (checkProofOfWork(headerHashInternal(header), header.bits, CONSENSUS.powLimitBits))
      return makeBlock(header, all);
  }
  return null;
}

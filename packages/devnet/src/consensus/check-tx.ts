/**
 * Context-free and chain-context transaction rules: CheckTransaction
 * (src/consensus/tx_check.cpp), IsFinalTx and BIP68 sequence locks (src/consensus/tx_verify.cpp).
 */
import { moneyRange } from './amount.js';
import { CONSENSUS, MAX_MONEY, SEQUENCE } from './params.js';
import type { Tx } from './tx.js';
import { invalid, type TxValidationState } from './validation-state.js';

/** CheckTransaction: null when the transaction is well formed, else the consensus failure. */
export function checkTransaction(tx: Tx): TxValidationState | null {
  if (tx.inputs.length === 0) return invalid('consensus', 'bad-txns-vin-empty');
  if (tx.outputs.length === 0) return invalid('consensus', 'bad-txns-vout-empty');
  if (tx.strippedSize * CONSENSUS.witnessScaleFactor > CONSENSUS.maxBlockWeight) {
    return invalid('consensus', 'bad-txns-oversize');
  }
  let total = 0n;
  for (const out of tx.outputs) {
    if (out.value < 0n) return invalid('consensus', 'bad-txns-vout-negative');
    if (out.value > MAX_MONEY) return invalid('consensus', 'bad-txns-vout-toolarge');
    total += out.value;
    if (!moneyRange(total)) return invalid('consensus', 'bad-txns-txouttotal-toolarge');
  }
  const seen = new Set<string>();
  for (const input of tx.inputs) {
    const key = `${input.prevTxid}:${input.vout}`;
    if (seen.has(key)) return invalid('consensus', 'bad-txns-inputs-duplicate');
    seen.add(key);
  }
  if (tx.isCoinbase) {
    const len = tx.inputs[0]?.scriptSig.length ?? 0;
    if (len < 2 || len > 100) return invalid('consensus', 'bad-cb-length');
  } else {
    for (const input of tx.inputs) {
      if (input.prevTxid === '0'.repeat(64) && input.vout === 0xffffffff) {
        return invalid('consensus', 'bad-txns-prevout-null');
      }
    }
  }
  return null;
}

/** IsFinalTx at a block of `height` whose lock-time cutoff is `cutoffTime` (the previous MTP). */
export function isFinalTx(tx: Tx, height: number, cutoffTime: number): boolean {
  if (tx.lockTime === 0) return true;
  const limit = tx.lockTime < CONSENSUS.locktimeThreshold ? height : cutoffTime;
  if (tx.lockTime < limit) return true;
  return tx.inputs.every((i) => i.sequence === SEQUENCE.final);
}

export interface SequenceLockInput {
  /** Height of the block holding the spent coin (the next block's height for a mempool coin). */
  readonly coinHeight: number;
  /** Median time past of the block before the coin's block. */
  readonly coinPrevMtp: number;
}

/**
 * CalculateSequenceLocks + EvaluateSequenceLocks: true when every BIP68 relative lock of a
 * version >= 2 transaction is met in a block at `height` whose previous MTP is `prevMtp`.
 */
export function checkSequenceLocks(
  tx: Tx,
  coins: readonly SequenceLockInput[],
  height: number,
  prevMtp: number,
): boolean {
  if (tx.version < 2) return true;
  let minHeight = -1;
  let minTime = -1;
  tx.inputs.forEach((input, i) => {
    if ((input.sequence & SEQUENCE.disableFlag) !== 0) return;
    const coin = coins[i];
    if (coin === undefined) return;
    const value = input.sequence & SEQUENCE.mask;
    if ((input.sequence & SEQUENCE.typeFlag) !== 0) {
      minTime = Math.max(minTime, coin.coinPrevMtp + (value << SEQUENCE.granularity) - 1);
    } else {
      minHeight = Math.max(minHeight, coin.coinHeight + value - 1);
    }
  });
  return !(minHeight >= height || minTime >= prevMtp);
}

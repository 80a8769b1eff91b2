/**
 * What one block does to us (pure; docs/gateway.md §3): outputs paying a watched script, spends
 * of our outpoints (including outputs received earlier in the same block) and our tracked
 * broadcast transactions that it confirms. The indexes are read, never changed: the follower
 * applies the effects to them only after the consumer has committed the block.
 */
import type { ChainBlock } from '../chain/interface.js';
import {
  type OutpointIndex,
  type OwnedOutput,
  outpointKey,
  type ScriptIndex,
} from './watch-index.js';

/** A spend of one of our outputs by a transaction of the block. */
export interface SpentOutput {
  /** The output that was spent, as we held it. */
  readonly output: OwnedOutput;
  readonly spendingTxid: string;
  readonly inputIndex: number;
}

/** The effects of one block on our wallet, in block order. */
export interface BlockEffects {
  readonly received: readonly OwnedOutput[];
  readonly spent: readonly SpentOutput[];
  /** Txids of tracked (our broadcast) transactions that the block contains. */
  readonly confirmedTracked: readonly string[];
}

export interface ScanIndexes {
  readonly scripts: ScriptIndex;
  readonly outpoints: OutpointIndex;
  /** Our broadcast transactions (e.g. a Broadcaster); none when absent. */
  readonly tracked?: { has(txid: string): boolean };
}

export const NO_EFFECTS: BlockEffects = Object.freeze({
  received: Object.freeze([]),
  spent: Object.freeze([]),
  confirmedTracked: Object.freeze([]),
});

export function isEmptyEffects(e: BlockEffects): boolean {
  return e.received.length === 0 && e.spent.length === 0 && e.confirmedTracked.length === 0;
}

/** Scan `block` against the indexes; the result is frozen. */
export function scanBlock(block: ChainBlock, indexes: ScanIndexes): BlockEffects {
  const { scripts, outpoints, tracked } = indexes;
  const received: OwnedOutput[] = [];
  const spent: SpentOutput[] = [];
  const confirmedTracked: string[] = [];
  // Outputs received in this block, by outpoint, until a later transaction spends them.
  const fresh = new Map<string, OwnedOutput>();
  // Our outpoints already spent in this block (a valid block never spends one twice).
  const used = new Set<string>();

  for (const tx of block.transactions) {
    if (tracked?.has(tx.txid)) confirmedTracked.push(tx.txid);
    for (let i = 0; i < tx.inputs.length; i++) {
      const input = tx.inputs[i];
      if (input === undefined || input.coinbase) continue;
      const key = outpointKey(input.txid, input.vout);
      if (used.has(key)) continue;
      const output = fresh.get(key) ?? outpoints.get(input.txid, input.vout);
      if (output === undefined) continue;
      used.add(key);
      fresh.delete(key);
      spent.push(Object.freeze({ output, spendingTxid: tx.txid, inputIndex: i }));
    }
    const coinbase = tx.inputs[0]?.coinbase === true;
    for (let vout = 0; vout < tx.outputs.length; vout++) {
      const out = tx.outputs[vout];
      if (out === undefined) continue;
      const owner = scripts.lookup(out.scriptPubKey);
      if (owner === undefined) continue;
      const output: OwnedOutput = Object.freeze({
        txid: tx.txid,
        vout,
        value: out.value,
        // A copy: a view would keep the backend's whole block buffer alive.
        scriptPubKey: out.scriptPubKey.slice(),
        owner,
        coinbase,
      });
      received.push(output);
      fresh.set(outpointKey(tx.txid, vout), output);
    }
  }
  if (received.length === 0 && spent.length === 0 && confirmedTracked.length === 0) {
    return NO_EFFECTS;
  }
  return Object.freeze({
    received: Object.freeze(received),
    spent: Object.freeze(spent),
    confirmedTracked: Object.freeze(confirmedTracked),
  });
}

/** Bring the outpoint index from before the block to after it (call after the commit). */
export function applyEffects(outpoints: OutpointIndex, effects: BlockEffects): void {
  for (const o of effects.received) outpoints.add(o);
  for (const s of effects.spent) outpoints.remove(s.output.txid, s.output.vout);
}

/**
 * Undo `applyEffects`: spent outputs come back first, then what the block created goes, so an
 * output created and spent inside the block ends absent, as it was before the block.
 */
export function revertEffects(outpoints: OutpointIndex, effects: BlockEffects): void {
  for (const s of effects.spent) outpoints.add(s.output);
  for (const o of effects.received) outpoints.remove(o.txid, o.vout);
}

/** Confirmations of a block at `height` with the chain tip at `tipHeight` (0 above the tip). */
export function confirmations(height: number, tipHeight: number): number {
  return height > tipHeight ? 0 : tipHeight - height + 1;
}

/**
 * ConnectBlock's UTXO work (src/validation.cpp): every input exists and is unspent (earlier
 * transactions of the same block included), coinbase maturity and amounts, BIP68 sequence locks,
 * the block sigop budget, every input's scripts under the consensus flags, and the coinbase
 * paying at most subsidy + fees. Pure: returns the coins spent and created and the undo data.
 */

import { formatMoney } from '../consensus/amount.js';
import type { Block } from '../consensus/block.js';
import { type BlockFailure, blockSubsidy } from '../consensus/check-block.js';
import { checkSequenceLocks } from '../consensus/check-tx.js';
import { CONSENSUS } from '../consensus/params.js';
import { outpointKey } from '../consensus/tx.js';
import { MANDATORY_FLAGS } from '../script/flags.js';
import { transactionSigOpCost } from '../script/sigops.js';
import { isUnspendable } from '../script/solver.js';
import type { Coin } from './coins.js';
import { checkInputScripts, checkTxInputs, type ScriptCache } from './input-checks.js';

export interface ConnectContext {
  getCoin(txid: string, vout: number): Coin | undefined;
  /** MTP of the active-chain block at a height below the block being connected. */
  mtpAtHeight(height: number): number;
  /** MTP of the block's parent (the lock-time cutoff). */
  readonly prevMtp: number;
  readonly scriptCache: ScriptCache;
}

export interface ConnectResult {
  readonly spent: readonly string[];
  readonly created: ReadonlyMap<string, Coin>;
  readonly undo: Coin[][];
  readonly fees: bigint;
}

export function connectBlockInputs(
  block: Block,
  height: number,
  ctx: ConnectContext,
): ConnectResult | BlockFailure {
  const created = new Map<string, Coin>();
  const spentKeys = new Set<string>();
  const undo: Coin[][] = [];
  let fees = 0n;
  let sigops = 0;
  const view = (txid: string, vout: number): Coin | undefined => {
    const key = outpointKey(txid, vout);
    if (created.has(key)) return created.get(key);
    if (spentKeys.has(key)) return undefined;
    return ctx.getCoin(txid, vout);
  };

  for (const [t, tx] of block.txs.entries()) {
    const coins: Coin[] = [];
    if (!tx.isCoinbase) {
      for (const input of tx.inputs) {
        const coin = view(input.prevTxid, input.vout);
        if (coin === undefined) {
          return {
            reason: 'bad-txns-inputs-missingorspent',
            debug: `CheckTxInputs: inputs missing/spent in transaction ${tx.txid}`,
          };
        }
        coins.push(coin);
      }
      const amounts = checkTxInputs(tx, coins, height);
      if ('reason' in amounts) {
        return {
          reason: amounts.reason,
          debug: `${amounts.debug ?? ''} in transaction ${tx.txid}`.trim(),
        };
      }
      fees += amounts.fee;
      const lockInputs = coins.map((c) => ({
        coinHeight: c.height,
        coinPrevMtp: ctx.mtpAtHeight(Math.max(c.height - 1, 0)),
      }));
      if (!checkSequenceLocks(tx, lockInputs, height, ctx.prevMtp)) {
        return { reason: 'bad-txns-nonfinal', debug: 'contains a non-BIP68-final transaction' };
      }
    }
    sigops += transactionSigOpCost(
      tx,
      coins.map((c) => c.script),
    );
    if (sigops > CONSENSUS.maxBlockSigopsCost)
      return { reason: 'bad-blk-sigops', debug: 'too many sigops' };
    if (!tx.isCoinbase) {
      const scripts = checkInputScripts(tx, coins, MANDATORY_FLAGS, ctx.scriptCache);
      if (scripts !== null) {
        return {
          reason: scripts.reason,
          debug: `in transaction ${tx.txid}${scripts.debug ? ` (${scripts.debug})` : ''}`,
        };
      }
      undo.push(coins);
      for (const input of tx.inputs) {
        const key = outpointKey(input.prevTxid, input.vout);
        if (created.has(key)) created.delete(key);
        else spentKeys.add(key);
      }
    }
    tx.outputs.forEach((out, vout) => {
      if (isUnspendable(out.script)) return;
      created.set(outpointKey(tx.txid, vout), {
        value: out.value,
        script: out.script,
        height,
        coinbase: t === 0,
      });
    });
  }

  const coinbase = block.txs[0];
  const paid = coinbase?.outputs.reduce((n, o) => n + o.value, 0n) ?? 0n;
  const limit = fees + blockSubsidy(height);
  if (paid > limit) {
    return {
      reason: 'bad-cb-amount',
      debug: `coinbase pays too much (actual=${formatMoney(paid)} vs limit=${formatMoney(limit)})`,
    };
  }
  return { spent: [...spentKeys], created, undo, fees };
}

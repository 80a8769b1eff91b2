/**
 * The block tree, the active chain and the UTXO set (Core's BlockManager + Chainstate):
 * accepting blocks, connecting and disconnecting them with undo data, choosing the best valid
 * chain (most work, then first seen), and invalidateblock / reconsiderblock.
 */

import type { Block } from '../consensus/block.js';
import {
  checkBlock,
  contextualCheckBlock,
  contextualCheckBlockHeader,
} from '../consensus/check-block.js';
import { toDisplayHex } from '../consensus/hash.js';
import { CONSENSUS } from '../consensus/params.js';
import { blockWork } from '../consensus/pow.js';
import { outpointKey } from '../consensus/tx.js';
import { DevnetError } from '../errors.js';
import type { Coin } from './coins.js';
import { connectBlockInputs } from './connect-block.js';
import type { ScriptCache } from './input-checks.js';

export type BlockFailureFlag = 'none' | 'failed' | 'failed-child';

export interface BlockEntry {
  readonly block: Block;
  readonly hash: string;
  readonly height: number;
  readonly prev: BlockEntry | null;
  readonly chainWork: bigint;
  /** Order in which the node received the block (lower wins among equal work). */
  readonly seq: number;
  /** Median time past at this block (this block and the ten before it). */
  readonly mtp: number;
  failure: BlockFailureFlag;
  /** Spent coins per non-coinbase transaction, kept once the block has been connected. */
  undo: Coin[][] | null;
}

export interface ReorgResult {
  /** Blocks taken off the active chain, tip first. */
  readonly disconnected: readonly BlockEntry[];
  /** Blocks added to the active chain, oldest first. */
  readonly connected: readonly BlockEntry[];
}

function medianTimePast(block: Block, prev: BlockEntry | null): number {
  const times = [block.header.time];
  let p = prev;
  while (p !== null && times.length < CONSENSUS.medianTimeSpan) {
    times.push(p.block.header.time);
    p = p.prev;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

export class Chainstate {
  readonly #blocks = new Map<string, BlockEntry>();
  readonly #children = new Map<string, BlockEntry[]>();
  readonly #active: BlockEntry[] = [];
  readonly #utxo = new Map<string, Coin>();
  readonly #txIndex = new Map<string, { entry: BlockEntry; index: number }>();
  readonly #scriptCache: ScriptCache;
  #seq = 0;

  constructor(genesis: Block, scriptCache: ScriptCache) {
    this.#scriptCache = scriptCache;
    const entry: BlockEntry = {
      block: genesis,
      hash: genesis.hash,
      height: 0,
      prev: null,
      chainWork: blockWork(genesis.header.bits),
      seq: this.#seq++,
      mtp: genesis.header.time,
      failure: 'none',
      undo: [],
    };
    this.#blocks.set(entry.hash, entry);
    this.#active.push(entry);
    // The genesis coinbase is not spendable: its output is never added to the UTXO set.
    this.#txIndex.set(genesis.txs[0]?.txid ?? '', { entry, index: 0 });
  }

  get tip(): BlockEntry {
    return this.#active[this.#active.length - 1] as BlockEntry;
  }

  get height(): number {
    return this.#active.length - 1;
  }

  atHeight(height: number): BlockEntry | undefined {
    return this.#active[height];
  }

  get(hash: string): BlockEntry | undefined {
    return this.#blocks.get(hash);
  }

  isActive(entry: BlockEntry): boolean {
    return this.#active[entry.height] === entry;
  }

  /** Every known block in the order received. */
  allBlocks(): BlockEntry[] {
    return [...this.#blocks.values()].sort((a, b) => a.seq - b.seq);
  }

  getCoin(txid: string, vout: number): Coin | undefined {
    return this.#utxo.get(outpointKey(txid, vout));
  }

  utxoCount(): number {
    return this.#utxo.size;
  }

  *utxos(): IterableIterator<[string, Coin]> {
    yield* this.#utxo.entries();
  }

  /** Where a transaction sits on the active chain (txindex), if it does. */
  txLocation(txid: string): { entry: BlockEntry; index: number } | undefined {
    return this.#txIndex.get(txid);
  }

  /** MTP of the active-chain block at `height` (clamped to genesis). */
  activeMtp(height: number): number {
    return (this.#active[Math.max(0, Math.min(height, this.height))] as BlockEntry).mtp;
  }

  /**
   * Adds a block to the tree after the checks that need no UTXO set. Throws BAD_BLOCK on a
   * failure; a block that is already known is returned as it is.
   */
  addBlock(block: Block): BlockEntry {
    const known = this.#blocks.get(block.hash);
    if (known !== undefined) return known;
    const prevHash = toDisplayHex(block.header.prevHash);
    const prev = this.#blocks.get(prevHash);
    if (prev === undefined) {
      throw new DevnetError(
        'BAD_BLOCK',
        `chainstate/add: expected a known parent, got ${prevHash}`,
        { reason: 'prev-blk-not-found' },
      );
    }
    const height = prev.height + 1;
    const bad =
      checkBlock(block) ??
      contextualCheckBlockHeader(block.header, prev.mtp, height) ??
      contextualCheckBlock(block, height, prev.mtp);
    if (bad !== null) {
      throw new DevnetError(
        'BAD_BLOCK',
        `chainstate/add: block ${block.hash} is invalid: ${bad.reason}${bad.debug ? `, ${bad.debug}` : ''}`,
        { ...bad },
      );
    }
    const entry: BlockEntry = {
      block,
      hash: block.hash,
      height,
      prev,
      chainWork: prev.chainWork + blockWork(block.header.bits),
      seq: this.#seq++,
      mtp: medianTimePast(block, prev),
      failure: prev.failure === 'none' ? 'none' : 'failed-child',
      undo: null,
    };
    this.#blocks.set(entry.hash, entry);
    const siblings = this.#children.get(prevHash) ?? [];
    siblings.push(entry);
    this.#children.set(prevHash, siblings);
    return entry;
  }

  #descendants(entry: BlockEntry): BlockEntry[] {
    const out: BlockEntry[] = [];
    const queue = [...(this.#children.get(entry.hash) ?? [])];
    while (queue.length > 0) {
      const e = queue.shift() as BlockEntry;
      out.push(e);
      queue.push(...(this.#children.get(e.hash) ?? []));
    }
    return out;
  }

  #bestCandidate(): BlockEntry {
    let best = this.#active[0] as BlockEntry;
    for (const e of this.#blocks.values()) {
      if (e.failure !== 'none') continue;
      if (e.chainWork > best.chainWork || (e.chainWork === best.chainWork && e.seq < best.seq))
        best = e;
    }
    return best;
  }

  #connectTip(entry: BlockEntry): void {
    const result = connectBlockInputs(entry.block, entry.height, {
      getCoin: (txid, vout) => this.getCoin(txid, vout),
      mtpAtHeight: (h) => this.activeMtp(h),
      prevMtp: entry.prev?.mtp ?? 0,
      scriptCache: this.#scriptCache,
    });
    if ('reason' in result) {
      throw new DevnetError(
        'BAD_BLOCK',
        `chainstate/connect: block ${entry.hash} is invalid: ${result.reason}${result.debug ? `, ${result.debug}` : ''}`,
        { ...result },
      );
    }
    for (const key of result.spent) this.#utxo.delete(key);
    for (const [key, coin] of result.created) this.#utxo.set(key, coin);
    entry.undo = result.undo;
    this.#active.push(entry);
    for (const [index, tx] of entry.block.txs.entries())
      this.#txIndex.set(tx.txid, { entry, index });
  }

  #disconnectTip(): BlockEntry {
    const entry = this.tip;
    if (entry.height === 0)
      throw new DevnetError(
        'INVALID_REQUEST',
        'chainstate/disconnect: expected a block above genesis',
      );
    const undo = entry.undo;
    if (undo === null)
      throw new DevnetError('INTERNAL', `chainstate/disconnect: no undo data for ${entry.hash}`);
    const txs = entry.block.txs;
    for (let t = txs.length - 1; t >= 0; t--) {
      const tx = txs[t] as (typeof txs)[number];
      for (let vout = 0; vout < tx.outputs.length; vout++)
        this.#utxo.delete(outpointKey(tx.txid, vout));
      if (t > 0) {
        const spent = undo[t - 1] ?? [];
        tx.inputs.forEach((input, i) => {
          const coin = spent[i];
          if (coin !== undefined) this.#utxo.set(outpointKey(input.prevTxid, input.vout), coin);
        });
      }
      if (this.#txIndex.get(tx.txid)?.entry === entry) this.#txIndex.delete(tx.txid);
    }
    this.#active.pop();
    return entry;
  }

  #markFailed(entry: BlockEntry): void {
    entry.failure = 'failed';
    for (const d of this.#descendants(entry)) d.failure = 'failed-child';
  }

  /** Moves the active chain to the best valid block, disconnecting and connecting as needed. */
  activateBestChain(): ReorgResult {
    const disconnected: BlockEntry[] = [];
    const connected: BlockEntry[] = [];
    for (;;) {
      const best = this.#bestCandidate();
      if (best === this.tip) break;
      const path: BlockEntry[] = [];
      let fork: BlockEntry | null = best;
      while (fork !== null && !this.isActive(fork)) {
        path.unshift(fork);
        fork = fork.prev;
      }
      if (fork === null)
        throw new DevnetError(
          'INTERNAL',
          'chainstate/activate: no fork point with the active chain',
        );
      while (this.tip !== fork) {
        const d = this.#disconnectTip();
        disconnected.push(d);
        const at = connected.indexOf(d);
        if (at !== -1) connected.splice(at, 1);
      }
      let failed = false;
      for (const entry of path) {
        try {
          this.#connectTip(entry);
          connected.push(entry);
        } catch (err) {
          if (!(err instanceof DevnetError) || err.code !== 'BAD_BLOCK') throw err;
          this.#markFailed(entry);
          failed = true;
          break;
        }
      }
      if (!failed) break;
    }
    return { disconnected, connected };
  }

  /** invalidateblock: marks the block and its descendants invalid and re-activates. */
  invalidate(hash: string): ReorgResult {
    const entry = this.#blocks.get(hash);
    if (entry === undefined)
      throw new DevnetError('NOT_FOUND', `chainstate/invalidate: no block ${hash}`);
    if (entry.height === 0)
      throw new DevnetError(
        'INVALID_REQUEST',
        'chainstate/invalidate: expected a block above genesis, got the genesis block',
      );
    const disconnected: BlockEntry[] = [];
    if (this.isActive(entry)) {
      while (this.tip.height >= entry.height) disconnected.push(this.#disconnectTip());
    }
    this.#markFailed(entry);
    const after = this.activateBestChain();
    return { disconnected: [...disconnected, ...after.disconnected], connected: after.connected };
  }

  /** reconsiderblock: clears the failure of the block, its ancestors and descendants; re-activates. */
  reconsider(hash: string): ReorgResult {
    const entry = this.#blocks.get(hash);
    if (entry === undefined)
      throw new DevnetError('NOT_FOUND', `chainstate/reconsider: no block ${hash}`);
    entry.failure = 'none';
    for (const d of this.#descendants(entry)) if (d.failure !== 'none') d.failure = 'none';
    for (let a = entry.prev; a !== null; a = a.prev) a.failure = 'none';
    // A descendant of another still-failed block stays failed.
    for (const e of this.allBlocks()) {
      if (e.failure === 'none' && e.prev !== null && e.prev.failure !== 'none')
        e.failure = 'failed-child';
    }
    return this.activateBestChain();
  }

  /** Hashes of blocks marked invalid by invalidateblock (not their descendants). */
  explicitlyInvalid(): string[] {
    return this.allBlocks()
      .filter((e) => e.failure === 'failed')
      .map((e) => e.hash);
  }

  /** Marks a block invalid without touching the chain (used when loading a data file). */
  markInvalid(hash: string): void {
    const entry = this.#blocks.get(hash);
    if (entry !== undefined && entry.height > 0) this.#markFailed(entry);
  }
}

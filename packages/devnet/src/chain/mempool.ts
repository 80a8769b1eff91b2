/**
 * The transaction memory pool (src/txmempool.cpp): entries with their fee and size, the spent
 * outpoint index used for conflicts, parent/child links, ancestor and descendant sets, and the
 * removals Core performs (recursive removal, removal for a connected block).
 */
import { outpointKey, type Tx } from '../consensus/tx.js';
import { type Coin, MEMPOOL_HEIGHT } from './coins.js';

export interface MempoolEntry {
  readonly tx: Tx;
  readonly fee: bigint;
  /** Virtual size with the sigop adjustment (what fee rates are computed on). */
  readonly vsize: number;
  readonly sigOpCost: number;
  /** Seconds since the UNIX epoch when the entry was added. */
  readonly time: number;
  /** Chain height when the entry was added. */
  readonly height: number;
  readonly spendsCoinbase: boolean;
  /** Submitted through the RPC and never announced to a peer (there are none). */
  readonly unbroadcast: boolean;
  /** Insertion order: parents always come before their children. */
  readonly order: number;
}

export class Mempool {
  readonly #entries = new Map<string, MempoolEntry>();
  readonly #byWtxid = new Map<string, string>();
  readonly #spentBy = new Map<string, string>();
  #order = 0;
  /** Incremented on every addition and removal (getrawmempool's mempool_sequence). */
  sequence = 1;

  get size(): number {
    return this.#entries.size;
  }

  has(txid: string): boolean {
    return this.#entries.has(txid);
  }

  hasWtxid(wtxid: string): boolean {
    return this.#byWtxid.has(wtxid);
  }

  get(txid: string): MempoolEntry | undefined {
    return this.#entries.get(txid);
  }

  nextOrder(): number {
    return this.#order++;
  }

  /** The mempool transaction spending an outpoint, if any. */
  spender(txid: string, vout: number): string | undefined {
    return this.#spentBy.get(outpointKey(txid, vout));
  }

  /** An output of a mempool transaction as a coin (CCoinsViewMemPool), spent or not. */
  getCoin(txid: string, vout: number): Coin | undefined {
    const out = this.#entries.get(txid)?.tx.outputs[vout];
    return out === undefined
      ? undefined
      : { value: out.value, script: out.script, height: MEMPOOL_HEIGHT, coinbase: false };
  }

  /** Entries in insertion order (a valid topological order). */
  entries(): MempoolEntry[] {
    return [...this.#entries.values()].sort((a, b) => a.order - b.order);
  }

  parents(txid: string): Set<string> {
    const out = new Set<string>();
    for (const input of this.#entries.get(txid)?.tx.inputs ?? []) {
      if (this.#entries.has(input.prevTxid)) out.add(input.prevTxid);
    }
    return out;
  }

  children(txid: string): Set<string> {
    const out = new Set<string>();
    const entry = this.#entries.get(txid);
    if (entry === undefined) return out;
    entry.tx.outputs.forEach((_, vout) => {
      const child = this.#spentBy.get(outpointKey(txid, vout));
      if (child !== undefined) out.add(child);
    });
    return out;
  }

  /** In-mempool ancestors of a transaction given by its inputs (it need not be in the pool). */
  ancestorsOfInputs(tx: Tx): Set<string> {
    const out = new Set<string>();
    const queue = tx.inputs.map((i) => i.prevTxid).filter((t) => this.#entries.has(t));
    while (queue.length > 0) {
      const t = queue.pop() as string;
      if (out.has(t)) continue;
      out.add(t);
      queue.push(...this.parents(t));
    }
    return out;
  }

  ancestors(txid: string): Set<string> {
    const entry = this.#entries.get(txid);
    return entry === undefined ? new Set() : this.ancestorsOfInputs(entry.tx);
  }

  descendants(txid: string): Set<string> {
    const out = new Set<string>();
    const queue = [...this.children(txid)];
    while (queue.length > 0) {
      const t = queue.pop() as string;
      if (out.has(t)) continue;
      out.add(t);
      queue.push(...this.children(t));
    }
    return out;
  }

  add(entry: MempoolEntry): void {
    const txid = entry.tx.txid;
    this.#entries.set(txid, entry);
    this.#byWtxid.set(entry.tx.wtxid, txid);
    for (const input of entry.tx.inputs)
      this.#spentBy.set(outpointKey(input.prevTxid, input.vout), txid);
    this.sequence++;
  }

  #removeOne(txid: string): MempoolEntry | undefined {
    const entry = this.#entries.get(txid);
    if (entry === undefined) return undefined;
    this.#entries.delete(txid);
    this.#byWtxid.delete(entry.tx.wtxid);
    for (const input of entry.tx.inputs) {
      const key = outpointKey(input.prevTxid, input.vout);
      if (this.#spentBy.get(key) === txid) this.#spentBy.delete(key);
    }
    this.sequence++;
    return entry;
  }

  /** removeRecursive: the transaction and every descendant. Returns the removed txids. */
  removeRecursive(txid: string): string[] {
    if (!this.#entries.has(txid)) return [];
    const all = [txid, ...this.descendants(txid)];
    for (const t of all) this.#removeOne(t);
    return all;
  }

  /** removeForBlock: drops the block's transactions and, recursively, what conflicts with them. */
  removeForBlock(txs: readonly Tx[]): { confirmed: string[]; conflicts: string[] } {
    const confirmed: string[] = [];
    const conflicts: string[] = [];
    for (const tx of txs) {
      if (this.#removeOne(tx.txid) !== undefined) confirmed.push(tx.txid);
      for (const input of tx.inputs) {
        const spender = this.#spentBy.get(outpointKey(input.prevTxid, input.vout));
        if (spender !== undefined && spender !== tx.txid)
          conflicts.push(...this.removeRecursive(spender));
      }
    }
    return { confirmed, conflicts };
  }

  /** A copy of every entry and the counters, to undo a trial (package test-accept). */
  snapshot(): { entries: MempoolEntry[]; sequence: number; order: number } {
    return { entries: this.entries(), sequence: this.sequence, order: this.#order };
  }

  restore(snap: { entries: MempoolEntry[]; sequence: number; order: number }): void {
    this.clear();
    for (const e of snap.entries) this.add(e);
    this.sequence = snap.sequence;
    this.#order = snap.order;
  }

  clear(): MempoolEntry[] {
    const all = this.entries();
    for (const e of all) this.#removeOne(e.tx.txid);
    return all;
  }

  totalVsize(): number {
    let n = 0;
    for (const e of this.#entries.values()) n += e.vsize;
    return n;
  }

  totalFee(): bigint {
    let n = 0n;
    for (const e of this.#entries.values()) n += e.fee;
    return n;
  }
}

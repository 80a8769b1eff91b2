/**
 * An in-memory ChainBackend over hand-built blocks, for the gateway tests: extend the chain,
 * replace its top (reorg), keep a mempool, and fail on demand. Transactions are real: built
 * with @scure/btc-signer, so raw bytes and txids are genuine (witness transactions included).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { hex } from '@scure/base';
import { Transaction } from '@scure/btc-signer';
import type {
  ChainBackend,
  ChainBlock,
  ChainNetwork,
  ChainTip,
  ChainTransaction,
  ChainTxStatus,
  FeeEstimate,
  MempoolAcceptResult,
} from '../../src/chain/interface.js';
import { CoordinatorError, type CoordinatorErrorCode } from '../../src/errors.js';

const OPTS = Object.freeze({
  allowUnknownInputs: true,
  allowUnknownOutputs: true,
  disableScriptCheck: true,
});
const ZERO = '0'.repeat(64);

export interface TxSpec {
  readonly inputs: readonly { readonly txid: string; readonly vout: number }[];
  readonly outputs: readonly { readonly script: Uint8Array; readonly value: bigint }[];
  /** Give each input a witness (a segwit serialization: txid ≠ hash of the raw bytes). */
  readonly witness?: boolean;
  /** Makes otherwise equal transactions differ (nLockTime). */
  readonly lockTime?: number;
}

/** A real transaction with its decoded view. */
export function makeTx(spec: TxSpec): ChainTransaction {
  const t = new Transaction({ ...OPTS, lockTime: spec.lockTime ?? 0 });
  for (const o of spec.outputs) t.addOutput({ script: o.script, amount: o.value });
  for (const i of spec.inputs) t.addInput({ txid: i.txid, index: i.vout, sequence: 0xfffffffd });
  if (spec.witness === true) {
    // After all inputs: btc-signer refuses new inputs once one is final.
    spec.inputs.forEach((i, k) => {
      t.updateInput(k, { finalScriptWitness: [new Uint8Array([i.vout & 0xff, 1, 2])] }, true);
    });
  }
  return {
    txid: t.id,
    inputs: spec.inputs.map((i) => ({ ...i, sequence: 0xfffffffd, coinbase: false })),
    outputs: spec.outputs.map((o) => ({ value: o.value, scriptPubKey: o.script })),
    raw: t.toBytes(true, true),
  };
}

/** A coinbase paying `outputs` (default: one anyone-can-spend output), unique per `tag`. */
export function makeCoinbase(
  tag: string,
  outputs: TxSpec['outputs'] = [{ script: new Uint8Array([0x51]), value: 50n }],
): ChainTransaction {
  const t = new Transaction(OPTS);
  for (const o of outputs) t.addOutput({ script: o.script, amount: o.value });
  t.addInput({ txid: ZERO, index: 0xffffffff, finalScriptSig: utf8ToBytes(tag), sequence: 0 });
  return {
    txid: t.id,
    inputs: [{ txid: ZERO, vout: 0xffffffff, sequence: 0, coinbase: true }],
    outputs: outputs.map((o) => ({ value: o.value, scriptPubKey: o.script })),
    raw: t.toBytes(true, true),
  };
}

/** A P2WSH-shaped script (OP_0 <32 bytes>) derived from a label. */
export function wsh(label: string): Uint8Array {
  const s = new Uint8Array(34);
  s[1] = 32;
  s.set(sha256(utf8ToBytes(label)), 2);
  return s;
}

function unavailable(method: string, code: CoordinatorErrorCode): CoordinatorError {
  return new CoordinatorError(code, `fake-chain/${method}: injected failure`);
}

export class FakeChain implements ChainBackend {
  readonly kind = 'bitcoind' as const;
  net: ChainNetwork = 'regtest';
  /** Every block ever made, stale ones too. */
  readonly blocks = new Map<string, ChainBlock>();
  /** Active chain: hashes by height. */
  active: string[] = [];
  readonly mempool = new Map<string, Uint8Array>();
  /** Raw bytes passed to broadcast(), in order. */
  readonly broadcasts: Uint8Array[] = [];
  /** Reasons the next broadcasts are rejected with (CHAIN_REJECTED), one per call. */
  readonly rejectQueue: string[] = [];
  fee: FeeEstimate | null = { satPerKvB: 2_000n, blocks: 2 };
  /** Fail this many coming calls (any method). */
  failCalls = 0;
  failCode: CoordinatorErrorCode = 'CHAIN_UNAVAILABLE';
  /** Fail every call while true. */
  down = false;
  readonly calls: string[] = [];
  #salt = 0;

  constructor() {
    this.#append(ZERO, [makeCoinbase('genesis')]);
  }

  #gate(method: string): void {
    this.calls.push(method);
    if (this.down) throw unavailable(method, this.failCode);
    if (this.failCalls > 0) {
      this.failCalls -= 1;
      throw unavailable(method, this.failCode);
    }
  }

  #append(previousHash: string, transactions: ChainTransaction[]): ChainBlock {
    const height = this.active.length;
    this.#salt += 1;
    const hash = bytesToHex(
      sha256(
        utf8ToBytes(
          `${previousHash}|${height}|${this.#salt}|${transactions.map((t) => t.txid).join(',')}`,
        ),
      ),
    );
    const block: ChainBlock = {
      hash,
      height,
      previousHash,
      time: 1_700_000_000 + height,
      transactions,
    };
    this.blocks.set(hash, block);
    this.active.push(hash);
    for (const t of transactions) this.mempool.delete(t.txid);
    return block;
  }

  get height(): number {
    return this.active.length - 1;
  }

  blockAt(height: number): ChainBlock {
    const b = this.blocks.get(this.active[height] ?? '');
    if (b === undefined) throw new Error(`fake-chain: no block at ${height}`);
    return b;
  }

  /** Mine one block on the tip with `txs` after a coinbase. */
  mine(txs: readonly ChainTransaction[] = [], coinbase?: ChainTransaction): ChainBlock {
    const cb = coinbase ?? makeCoinbase(`cb-${this.active.length}-${this.#salt}`);
    return this.#append(this.active[this.height] ?? ZERO, [cb, ...txs]);
  }

  mineEmpty(n: number): void {
    for (let i = 0; i < n; i++) this.mine();
  }

  /**
   * Replace the top `depth` blocks with `branch.length` new blocks (each a list of transactions).
   * Transactions of the removed blocks that the branch does not contain go back to the mempool.
   */
  reorg(depth: number, branch: readonly (readonly ChainTransaction[])[]): ChainBlock[] {
    const removed = this.active.splice(this.active.length - depth, depth);
    const inBranch = new Set(branch.flat().map((t) => t.txid));
    const made = branch.map((txs) => this.mine(txs));
    for (const h of removed) {
      for (const t of this.blocks.get(h)?.transactions.slice(1) ?? []) {
        if (!inBranch.has(t.txid)) this.mempool.set(t.txid, t.raw);
      }
    }
    return made;
  }

  #locate(txid: string): number | null {
    for (let h = this.height; h >= 0; h--) {
      if (this.blockAt(h).transactions.some((t) => t.txid === txid)) return h;
    }
    return null;
  }

  /** Outpoints spent by the active chain and the mempool (txid:vout → spender txid). */
  #spent(): Map<string, string> {
    const spent = new Map<string, string>();
    for (const h of this.active) {
      for (const t of this.blocks.get(h)?.transactions ?? []) {
        for (const i of t.inputs) if (!i.coinbase) spent.set(`${i.txid}:${i.vout}`, t.txid);
      }
    }
    for (const [txid, raw] of this.mempool) {
      const t = Transaction.fromRaw(raw, OPTS);
      for (let k = 0; k < t.inputsLength; k++) {
        const i = t.getInput(k);
        spent.set(`${hex.encode(i.txid as Uint8Array)}:${i.index}`, txid);
      }
    }
    return spent;
  }

  /** Why the node would refuse `raw`, or null (already known counts as fine). */
  #check(raw: Uint8Array): { txid: string; reject: string | null } {
    const t = Transaction.fromRaw(raw, OPTS);
    const txid = t.id;
    if (this.mempool.has(txid) || this.#locate(txid) !== null) return { txid, reject: null };
    const queued = this.rejectQueue.shift();
    if (queued !== undefined) return { txid, reject: queued };
    const spent = this.#spent();
    for (let k = 0; k < t.inputsLength; k++) {
      const i = t.getInput(k);
      const by = spent.get(`${hex.encode(i.txid as Uint8Array)}:${i.index}`);
      if (by !== undefined) {
        return {
          txid,
          reject: this.mempool.has(by) ? 'txn-mempool-conflict' : 'bad-txns-inputs-missingorspent',
        };
      }
    }
    return { txid, reject: null };
  }

  async network(): Promise<ChainNetwork> {
    this.#gate('network');
    return this.net;
  }

  async tip(): Promise<ChainTip> {
    this.#gate('tip');
    return { height: this.height, hash: this.active[this.height] as string };
  }

  async blockHash(height: number): Promise<string | null> {
    this.#gate('blockHash');
    return this.active[height] ?? null;
  }

  async block(hash: string): Promise<ChainBlock> {
    this.#gate('block');
    const b = this.blocks.get(hash);
    if (b === undefined) throw new CoordinatorError('NOT_FOUND', `fake-chain/block: ${hash}`);
    return b;
  }

  async transaction(txid: string): Promise<Uint8Array | null> {
    this.#gate('transaction');
    const m = this.mempool.get(txid);
    if (m !== undefined) return m;
    const h = this.#locate(txid);
    return h === null
      ? null
      : (this.blockAt(h).transactions.find((t) => t.txid === txid)?.raw ?? null);
  }

  async transactionStatus(txid: string): Promise<ChainTxStatus> {
    this.#gate('transactionStatus');
    const h = this.#locate(txid);
    if (h !== null) {
      return {
        inMempool: false,
        confirmations: this.height - h + 1,
        blockHash: this.active[h] ?? null,
      };
    }
    return { inMempool: this.mempool.has(txid), confirmations: 0, blockHash: null };
  }

  async mempoolTxids(): Promise<readonly string[]> {
    this.#gate('mempoolTxids');
    return [...this.mempool.keys()];
  }

  async testAccept(raw: Uint8Array): Promise<MempoolAcceptResult> {
    this.#gate('testAccept');
    const { txid, reject } = this.#check(raw);
    return { txid, allowed: reject === null, rejectReason: reject };
  }

  async broadcast(raw: Uint8Array): Promise<string> {
    this.#gate('broadcast');
    this.broadcasts.push(raw.slice());
    const { txid, reject } = this.#check(raw);
    if (reject !== null) {
      throw new CoordinatorError('CHAIN_REJECTED', `fake-chain/broadcast: ${reject}`, {
        rejectReason: reject,
      });
    }
    if (this.#locate(txid) === null) this.mempool.set(txid, raw.slice());
    return txid;
  }

  async estimateFee(_targetBlocks: number): Promise<FeeEstimate | null> {
    this.#gate('estimateFee');
    return this.fee;
  }
}

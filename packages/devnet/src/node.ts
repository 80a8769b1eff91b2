/**
 * DevnetNode: the in-process regtest node — chain, mempool, miner and mining wallet wired
 * together, with the operations the RPC serves and tests call directly. All state changes go
 * through here; listeners (persistence) hear about each one.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { type BlockEntry, Chainstate, type ReorgResult } from './chain/chainstate.js';
import { ScriptCache } from './chain/input-checks.js';
import { Mempool, type MempoolEntry } from './chain/mempool.js';
import { type AcceptResult, acceptToMempool } from './chain/mempool-accept.js';
import { assembleBlock } from './chain/miner.js';
import { type TestAcceptOutcome, testAcceptPackage } from './chain/package-accept.js';
import type { Block } from './consensus/block.js';
import { regtestGenesis } from './consensus/genesis.js';
import { POLICY } from './consensus/params.js';
import { decodeTx, decodeTxHex, type Tx } from './consensus/tx.js';
import { stateToString, type TxValidationState } from './consensus/validation-state.js';
import { DevnetError } from './errors.js';
import { feeForSize } from './policy/feerate.js';
import { hasValidOps } from './script/opcodes.js';
import { isUnspendable } from './script/solver.js';
import { addressToScript } from './wallet/address.js';
import { MiningWallet, type WalletState } from './wallet/wallet.js';

export interface DevnetNodeOptions {
  /** Minimum relay fee rate, sat/kvB (Core -minrelaytxfee); default 1000. */
  readonly minRelayFeeSatPerKvB?: bigint;
  /** The rate estimatesmartfee answers and the faucet pays, sat/kvB; default 2000. */
  readonly feeRateSatPerKvB?: bigint;
  /** Millisecond clock for block and mempool times; default Date.now. */
  readonly now?: () => number;
  /** Replace without BIP125 signalling (Core v28's -mempoolfullrbf default is true); default false. */
  readonly fullRbf?: boolean;
  readonly wallet?: WalletState;
}

export interface TipInfo {
  readonly height: number;
  readonly hash: string;
  readonly time: number;
  readonly medianTime: number;
}

export interface UtxoInfo {
  readonly txid: string;
  readonly vout: number;
  readonly value: bigint;
  readonly scriptPubKey: Uint8Array;
  /** Height of the confirming block; null for an output of a mempool transaction. */
  readonly height: number | null;
  readonly coinbase: boolean;
  readonly confirmations: number;
}

export interface TxLookup {
  readonly tx: Tx;
  readonly inMempool: boolean;
  readonly blockHash: string | null;
  readonly blockHeight: number | null;
  readonly confirmations: number;
}

export type { TestAcceptOutcome } from './chain/package-accept.js';

export type ChangeListener = () => void;

/** Rejection → DevnetError with Core's reason and RPC code (-25 for missing inputs, else -26). */
export function rejection(place: string, txid: string, state: TxValidationState): DevnetError {
  const reason = stateToString(state);
  return new DevnetError('TX_REJECTED', `${place}: transaction ${txid} rejected: ${reason}`, {
    txid,
    rejectReason: reason,
    reason: state.reason,
    result: state.result,
    rpcCode: state.result === 'missing-inputs' ? -25 : -26,
  });
}

export class DevnetNode {
  readonly #chain: Chainstate;
  readonly #mempool = new Mempool();
  readonly #scriptCache = new ScriptCache();
  readonly #wallet: MiningWallet;
  readonly #now: () => number;
  readonly #listeners = new Set<ChangeListener>();
  readonly minRelayFeeSatPerKvB: bigint;
  readonly feeRateSatPerKvB: bigint;
  readonly fullRbf: boolean;
  #ibdDone = false;

  constructor(options: DevnetNodeOptions = {}) {
    this.#chain = new Chainstate(regtestGenesis(), this.#scriptCache);
    this.#wallet = new MiningWallet(options.wallet);
    this.#now = options.now ?? Date.now;
    this.minRelayFeeSatPerKvB = options.minRelayFeeSatPerKvB ?? 1000n;
    this.feeRateSatPerKvB = options.feeRateSatPerKvB ?? 2000n;
    this.fullRbf = options.fullRbf ?? false;
  }

  readonly network = 'regtest' as const;

  /** Internal views for the RPC layer and persistence (read them, do not mutate them). */
  get chainstate(): Chainstate {
    return this.#chain;
  }

  get mempool(): Mempool {
    return this.#mempool;
  }

  get wallet(): MiningWallet {
    return this.#wallet;
  }

  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }

  nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  // ---- queries -------------------------------------------------------------------------------

  tip(): TipInfo {
    const t = this.#chain.tip;
    return { height: t.height, hash: t.hash, time: t.block.header.time, medianTime: t.mtp };
  }

  blockHash(height: number): string | null {
    return this.#chain.atHeight(height)?.hash ?? null;
  }

  getBlock(hash: string): BlockEntry | undefined {
    return this.#chain.get(hash);
  }

  /** IsInitialBlockDownload, latching to false once the tip is less than a day old. */
  isInitialBlockDownload(): boolean {
    if (this.#ibdDone) return false;
    if (this.#chain.tip.block.header.time < this.nowSeconds() - 24 * 60 * 60) return true;
    this.#ibdDone = true;
    return false;
  }

  getTransaction(txid: string): TxLookup | null {
    const entry = this.#mempool.get(txid);
    if (entry !== undefined) {
      return {
        tx: entry.tx,
        inMempool: true,
        blockHash: null,
        blockHeight: null,
        confirmations: 0,
      };
    }
    const loc = this.#chain.txLocation(txid);
    if (loc === undefined) return null;
    const tx = loc.entry.block.txs[loc.index] as Tx;
    return {
      tx,
      inMempool: false,
      blockHash: loc.entry.hash,
      blockHeight: loc.entry.height,
      confirmations: this.#chain.height - loc.entry.height + 1,
    };
  }

  /** An unspent output on the active chain (or, with `includeMempool`, of a mempool transaction and not spent there). */
  getUtxo(txid: string, vout: number, includeMempool = false): UtxoInfo | null {
    if (includeMempool && this.#mempool.spender(txid, vout) !== undefined) return null;
    const coin = this.#chain.getCoin(txid, vout);
    if (coin !== undefined) {
      return {
        txid,
        vout,
        value: coin.value,
        scriptPubKey: coin.script,
        height: coin.height,
        coinbase: coin.coinbase,
        confirmations: this.#chain.height - coin.height + 1,
      };
    }
    if (!includeMempool) return null;
    const out = this.#mempool.getCoin(txid, vout);
    if (out === undefined) return null;
    return {
      txid,
      vout,
      value: out.value,
      scriptPubKey: out.script,
      height: null,
      coinbase: false,
      confirmations: 0,
    };
  }

  mempoolTxids(): string[] {
    return this.#mempool.entries().map((e) => e.tx.txid);
  }

  mempoolEntry(txid: string): MempoolEntry | undefined {
    return this.#mempool.get(txid);
  }

  get miningAddress(): string {
    return this.#wallet.miningKey.address;
  }

  walletBalance(): bigint {
    return this.#wallet.balance(this.#chain, this.#mempool);
  }

  /** estimatesmartfee: the configured rate (at least the min relay fee), target at least 2. */
  estimateFee(targetBlocks: number): { satPerKvB: bigint; blocks: number } {
    const rate =
      // biome-ignore lint/complexity/useMathMinMax: bigint values; Math.max does not take bigint.
      this.feeRateSatPerKvB > this.minRelayFeeSatPerKvB
        ? this.feeRateSatPerKvB
        : this.minRelayFeeSatPerKvB;
    return {
      satPerKvB: rate,
      blocks: Math.max(2, Math.min(targetBlocks, POLICY.maxConfirmTarget)),
    };
  }

  // ---- transactions --------------------------------------------------------------------------

  #accept(
    tx: Tx,
    testAccept: boolean,
    bypassLimits = false,
    time = this.nowSeconds(),
    unbroadcast = true,
  ): AcceptResult {
    return acceptToMempool(
      {
        chain: this.#chain,
        mempool: this.#mempool,
        scriptCache: this.#scriptCache,
        minRelayFeeSatPerKvB: this.minRelayFeeSatPerKvB,
        fullRbf: this.fullRbf,
      },
      tx,
      { testAccept, bypassLimits, time, unbroadcast },
    );
  }

  /**
   * sendrawtransaction: validate and add to the mempool; returns the txid. Bytes whose txid is
   * already in the mempool return the txid; a transaction whose outputs are in the UTXO set is
   * ALREADY_IN_CHAIN. Throws TX_REJECTED (Core reason in detail.rejectReason), MAX_FEE_EXCEEDED,
   * MAX_BURN_EXCEEDED or BAD_TX.
   */
  submit(
    raw: Uint8Array | string,
    opts: { maxFeeRateSatPerKvB?: bigint; maxBurnAmount?: bigint } = {},
  ): string {
    const tx = typeof raw === 'string' ? decodeTxHex(raw) : decodeTx(raw);
    const maxBurn = opts.maxBurnAmount ?? 0n;
    for (const out of tx.outputs) {
      if ((isUnspendable(out.script) || !hasValidOps(out.script)) && out.value > maxBurn) {
        throw new DevnetError(
          'MAX_BURN_EXCEEDED',
          `node/submit: an unspendable output carries ${out.value} sat, above ${maxBurn}`,
          {
            rpcCode: -25,
            rpcMessage: 'Unspendable output exceeds maximum configured by user (maxburnamount)',
          },
        );
      }
    }
    if (tx.outputs.some((_, vout) => this.#chain.getCoin(tx.txid, vout) !== undefined)) {
      throw new DevnetError(
        'ALREADY_IN_CHAIN',
        `node/submit: transaction ${tx.txid} is already confirmed`,
        {
          txid: tx.txid,
          rpcCode: -27,
          rpcMessage: 'Transaction outputs already in utxo set',
        },
      );
    }
    if (this.#mempool.has(tx.txid)) return tx.txid;
    const maxRate = opts.maxFeeRateSatPerKvB ?? POLICY.defaultMaxRawTxFeeRateSatPerKvB;
    const maxFee = feeForSize(maxRate, tx.vsize);
    if (maxFee > 0n) {
      const trial = this.#accept(tx, true);
      if (!trial.ok) throw rejection('node/submit', tx.txid, trial.state);
      if (trial.fee > maxFee) {
        throw new DevnetError(
          'MAX_FEE_EXCEEDED',
          `node/submit: fee ${trial.fee} sat is above the maximum ${maxFee} sat`,
          {
            rpcCode: -25,
            rpcMessage: 'Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)',
          },
        );
      }
    }
    const result = this.#accept(tx, false);
    if (!result.ok) throw rejection('node/submit', tx.txid, result.state);
    this.#changed();
    return tx.txid;
  }

  /**
   * testmempoolaccept for one transaction or a package (validated in order as if each earlier
   * one were in the mempool; nothing is kept). Mirrors Core's per-transaction result fields.
   */
  testAccept(
    raws: readonly (Uint8Array | string)[],
    maxFeeRateSatPerKvB: bigint = POLICY.defaultMaxRawTxFeeRateSatPerKvB,
  ): TestAcceptOutcome[] {
    const txs = raws.map((r) => (typeof r === 'string' ? decodeTxHex(r) : decodeTx(r)));
    return testAcceptPackage(
      txs,
      this.#mempool,
      (tx, testOnly) => this.#accept(tx, testOnly),
      maxFeeRateSatPerKvB,
    );
  }

  // ---- mining and chain ----------------------------------------------------------------------

  /** generatetoaddress: mines `count` blocks paying `address` (default: the mining wallet). */
  mine(count = 1, address?: string, maxTries = 1_000_000): string[] {
    const script = address === undefined ? this.#wallet.miningKey.script : addressToScript(address);
    if (script === null) {
      throw new DevnetError(
        'BAD_ADDRESS',
        `node/mine: expected a regtest address, got '${address}'`,
        {
          rpcCode: -5,
          rpcMessage: 'Error: Invalid address',
        },
      );
    }
    const hashes: string[] = [];
    for (let i = 0; i < count; i++) {
      const tip = this.#chain.tip;
      let time = Math.max(tip.block.header.time + 1, tip.mtp + 1, this.nowSeconds());
      let block = assembleBlock(this.#chain, this.#mempool, {
        payoutScript: script,
        time,
        blockMinFeeSatPerKvB: this.minRelayFeeSatPerKvB,
        maxTries,
      });
      // After invalidateblock, the same parent, transactions, payout and second give the very
      // block that was invalidated (its hash is known and failed): move the time on, as a miner
      // rolling nTime would, until the block is new.
      for (
        let bump = 0;
        block !== null && this.#chain.get(block.hash) !== undefined && bump < 600;
        bump++
      ) {
        time += 1;
        block = assembleBlock(this.#chain, this.#mempool, {
          payoutScript: script,
          time,
          blockMinFeeSatPerKvB: this.minRelayFeeSatPerKvB,
          maxTries,
        });
      }
      if (block === null) break;
      const entry = this.#chain.addBlock(block);
      this.#afterReorg(this.#chain.activateBestChain());
      if (!this.#chain.isActive(entry)) {
        throw new DevnetError(
          'INTERNAL',
          `node/mine: the mined block ${entry.hash} did not become the tip`,
        );
      }
      hashes.push(entry.hash);
    }
    if (hashes.length > 0) this.#changed();
    return hashes;
  }

  invalidateBlock(hash: string): void {
    this.#afterReorg(this.#chain.invalidate(hash));
    this.#changed();
  }

  reconsiderBlock(hash: string): void {
    this.#afterReorg(this.#chain.reconsider(hash));
    this.#changed();
  }

  /**
   * Brings the mempool in line with a new active chain. Blocks only added: their transactions and
   * what conflicts with them leave the mempool. Blocks taken off: their transactions return and
   * the whole mempool is re-validated against the new tip (what is now invalid — spends of
   * disconnected coinbases, immature or non-final spends, conflicts — is dropped), like Core's
   * MaybeUpdateMempoolForReorg.
   */
  #afterReorg(result: ReorgResult): void {
    if (result.disconnected.length === 0) {
      for (const entry of result.connected) this.#mempool.removeForBlock(entry.block.txs);
      return;
    }
    const returning: { tx: Tx; time: number; unbroadcast: boolean }[] = [];
    for (const entry of [...result.disconnected].reverse()) {
      for (const tx of entry.block.txs.slice(1))
        returning.push({ tx, time: this.nowSeconds(), unbroadcast: false });
    }
    for (const e of this.#mempool.clear())
      returning.push({ tx: e.tx, time: e.time, unbroadcast: e.unbroadcast });
    for (const r of returning) {
      if (this.#chain.txLocation(r.tx.txid) !== undefined) continue;
      this.#accept(r.tx, false, true, r.time, r.unbroadcast);
    }
  }

  // ---- wallet --------------------------------------------------------------------------------

  newAddress(): string {
    const key = this.#wallet.newKey();
    this.#changed();
    return key.address;
  }

  /** The faucet (sendtoaddress): pays `amount` sat from the mining wallet; returns the txid. */
  send(
    address: string,
    amount: bigint,
    opts: { subtractFee?: boolean; feeRateSatPerKvB?: bigint } = {},
  ): string {
    const script = addressToScript(address);
    if (script === null) {
      throw new DevnetError(
        'BAD_ADDRESS',
        `node/send: expected a regtest address, got '${address}'`,
        {
          rpcCode: -5,
          rpcMessage: 'Invalid address',
        },
      );
    }
    const rate = opts.feeRateSatPerKvB ?? this.estimateFee(6).satPerKvB;
    const tx = this.#wallet.createPayment(
      this.#chain,
      this.#mempool,
      script,
      amount,
      rate,
      opts.subtractFee ?? false,
    );
    const result = this.#accept(tx, false);
    if (!result.ok) {
      this.#wallet.forget(tx.txid);
      throw rejection('node/send', tx.txid, result.state);
    }
    this.#changed();
    return tx.txid;
  }

  // ---- persistence support -------------------------------------------------------------------

  /** Re-adds a block read from a data file (full validation when it joins the active chain). */
  loadBlock(block: Block): void {
    this.#chain.addBlock(block);
  }

  /** After loading blocks: apply the invalidations, activate the best chain, refill the mempool. */
  finishLoad(
    invalid: readonly string[],
    mempool: readonly { raw: string; time: number }[],
  ): { dropped: string[] } {
    for (const h of invalid) this.#chain.markInvalid(h);
    this.#afterReorg(this.#chain.activateBestChain());
    const dropped: string[] = [];
    for (const m of mempool) {
      const tx = decodeTx(hexToBytes(m.raw));
      const r = this.#accept(tx, false, false, m.time, true);
      if (!r.ok) dropped.push(tx.txid);
    }
    return { dropped };
  }
}

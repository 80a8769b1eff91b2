/**
 * ChainBackend over Bitcoin Core's JSON-RPC (also serves the embedded devnet, which speaks the
 * same subset). docs/chain.md §3. Every amount and script comes from raw transaction bytes
 * (`hex`), decoded here; Core's decoded JSON (BTC floats) is never used for money.
 *
 * Confirmed-transaction lookups (`transaction`, `transactionStatus` of a mined tx) need Core's
 * `txindex=1`: without it getrawtransaction only finds mempool transactions and those of the
 * wallet, and a confirmed one reads as unknown (null / `{inMempool: false, confirmations: 0}`).
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { CoordinatorError, isCoordinatorError } from '../errors.js';
import { checkFeeTarget, checkHash, checkHeight, checkRaw } from './args.js';
import { parseBitcoindConfig } from './bitcoind-config.js';
import { merkleRoot, serializeHeader } from './block-decode.js';
import type {
  ChainBackend,
  ChainBlock,
  ChainNetwork,
  ChainTip,
  ChainTxStatus,
  FeeEstimate,
  MempoolAcceptResult,
} from './interface.js';
import type { RetryDeps } from './retry.js';
import { CoreRpcClient } from './rpc-client.js';
import { badResponse } from './rpc-envelope.js';
import {
  REJECT_ALREADY_KNOWN,
  REJECT_INPUTS_GONE,
  RPC_DESERIALIZATION_ERROR,
  RPC_INVALID_PARAMETER,
} from './rpc-errors.js';
import { CORE_CALLS } from './rpc-schemas.js';
import {
  decodeTransaction,
  dsha256,
  hashToDisplayHex,
  tryTxidOf,
  txidOfBytes,
} from './tx-decode.js';

/** getblockchaininfo `chain` → Keyline's network (chainparams names upstream). */
export const CORE_CHAINS: Readonly<Record<string, ChainNetwork>> = Object.freeze({
  main: 'mainnet',
  test: 'testnet',
  testnet4: 'testnet',
  signet: 'signet',
  regtest: 'regtest',
});

const GENESIS_PARENT = '0'.repeat(64);

export interface BitcoindBackendOptions {
  /** sendrawtransaction/testmempoolaccept `maxfeerate` in sat/kvB (0 = no limit). */
  readonly maxFeeRateSatPerKvB: bigint;
}

export class BitcoindBackend implements ChainBackend {
  readonly kind = 'bitcoind' as const;
  readonly rpc: CoreRpcClient;
  readonly #maxFeeRate: bigint;
  #network: ChainNetwork | null = null;

  constructor(rpc: CoreRpcClient, options: BitcoindBackendOptions) {
    this.rpc = rpc;
    this.#maxFeeRate = options.maxFeeRateSatPerKvB;
  }

  /** Validate `input` with bitcoindConfigSchema (BAD_CONFIG) and build the backend. */
  static fromConfig(input: unknown, retryDeps?: RetryDeps): BitcoindBackend {
    const c = parseBitcoindConfig(input);
    const rpc = new CoreRpcClient({
      url: c.url,
      auth: c.auth,
      timeoutMs: c.timeoutMs,
      retry: c.retry,
      maxResponseBytes: c.maxResponseBytes,
      retryDeps,
    });
    return new BitcoindBackend(rpc, { maxFeeRateSatPerKvB: c.maxFeeRateSatPerKvB });
  }

  async network(): Promise<ChainNetwork> {
    if (this.#network !== null) return this.#network;
    const info = await this.rpc.getblockchaininfo();
    const network = CORE_CHAINS[info.chain];
    if (network === undefined) {
      throw badResponse(
        'bitcoind/network',
        `chain main|test|testnet4|signet|regtest`,
        JSON.stringify(info.chain),
      );
    }
    this.#network = network;
    return network;
  }

  async tip(): Promise<ChainTip> {
    // One call, so height and hash describe the same tip.
    const info = await this.rpc.getblockchaininfo();
    return Object.freeze({ height: info.blocks, hash: info.bestblockhash });
  }

  async blockHash(height: number): Promise<string | null> {
    checkHeight(height, 'bitcoind/blockHash');
    try {
      return await this.rpc.getblockhash(height);
    } catch (e) {
      // Core: -8 "Block height out of range" (above the tip).
      if (isCoordinatorError(e, 'CHAIN_RPC') && e.detail.rpcCode === RPC_INVALID_PARAMETER) {
        return null;
      }
      throw e;
    }
  }

  async block(hash: string): Promise<ChainBlock> {
    const where = `bitcoind/block ${hash}`;
    checkHash(hash, 'a block hash', 'bitcoind/block');
    let b: Awaited<ReturnType<CoreRpcClient['getblock']>>;
    try {
      b = await this.rpc.getblock(hash);
    } catch (e) {
      if (isCoordinatorError(e, 'NOT_FOUND')) {
        throw new CoordinatorError('NOT_FOUND', `${where}: expected a known block, got none`, {
          ...e.detail,
          hash,
        });
      }
      throw e;
    }
    if (b.hash !== hash) throw badResponse(where, `block ${hash}`, `block ${b.hash}`);
    const transactions = b.tx.map((t, i) =>
      decodeTransaction(hexToBytes(t.hex), `${where} tx ${i}`, t.txid),
    );
    const root = merkleRoot(transactions.map((t) => t.txid));
    if (root !== b.merkleroot) {
      throw badResponse(where, `transactions with merkle root ${b.merkleroot}`, `root ${root}`);
    }
    const previousHash = b.previousblockhash ?? GENESIS_PARENT;
    const header = serializeHeader({
      version: b.version,
      previousHash,
      merkleRoot: b.merkleroot,
      time: b.time,
      bits: b.bits,
      nonce: b.nonce,
    });
    const headerHash = hashToDisplayHex(dsha256(header));
    if (headerHash !== hash) {
      throw badResponse(
        where,
        `header fields hashing to ${hash}`,
        `fields hashing to ${headerHash}`,
      );
    }
    return Object.freeze({
      hash,
      height: b.height,
      previousHash,
      time: b.time,
      transactions: Object.freeze(transactions),
    });
  }

  async transaction(txid: string): Promise<Uint8Array | null> {
    checkHash(txid, 'a txid', 'bitcoind/transaction');
    let hex: string;
    try {
      hex = await this.rpc.getrawtransaction(txid);
    } catch (e) {
      if (isCoordinatorError(e, 'NOT_FOUND')) return null;
      throw e;
    }
    return decodeTransaction(hexToBytes(hex), `bitcoind/transaction ${txid}`, txid).raw;
  }

  async transactionStatus(txid: string): Promise<ChainTxStatus> {
    checkHash(txid, 'a txid', 'bitcoind/transactionStatus');
    const [entry, verbose] = await this.rpc.batch([
      CORE_CALLS.getmempoolentry(txid),
      CORE_CALLS.getrawtransactionVerbose(txid),
    ] as const);
    const inMempool = Object.freeze({ inMempool: true, confirmations: 0, blockHash: null });
    const unknown = Object.freeze({ inMempool: false, confirmations: 0, blockHash: null });
    if (entry.ok) return inMempool;
    if (!isCoordinatorError(entry.error, 'NOT_FOUND')) throw entry.error;
    if (!verbose.ok) {
      if (isCoordinatorError(verbose.error, 'NOT_FOUND')) return unknown;
      throw verbose.error;
    }
    const tx = verbose.value;
    if (tx.txid !== txid) {
      throw badResponse(`bitcoind/transactionStatus ${txid}`, `transaction ${txid}`, tx.txid);
    }
    if (tx.blockhash === undefined) return inMempool; // entered the mempool between the calls
    const confirmations = tx.confirmations ?? 0;
    // confirmations 0 with a blockhash: the block is no longer on the active chain.
    if (confirmations < 1) return unknown;
    return Object.freeze({ inMempool: false, confirmations, blockHash: tx.blockhash });
  }

  async mempoolTxids(): Promise<readonly string[]> {
    return Object.freeze(await this.rpc.getrawmempool());
  }

  async testAccept(raw: Uint8Array): Promise<MempoolAcceptResult> {
    checkRaw(raw, 'bitcoind/testAccept');
    try {
      const [r] = await this.rpc.testmempoolaccept([bytesToHex(raw)], this.#maxFeeRate);
      if (r === undefined) throw badResponse('bitcoind/testAccept', 'one result', 'none');
      const allowed = r.allowed === true;
      const reason = allowed ? null : (r['reject-reason'] ?? r['package-error'] ?? 'rejected');
      return Object.freeze({ txid: r.txid, allowed, rejectReason: reason });
    } catch (e) {
      // -22: the bytes are not a transaction. Not allowed, with Core's reason.
      if (isCoordinatorError(e, 'CHAIN_RPC') && e.detail.rpcCode === RPC_DESERIALIZATION_ERROR) {
        return Object.freeze({
          txid: tryTxidOf(raw) ?? txidOfBytes(raw),
          allowed: false,
          rejectReason: String(e.detail.rpcMessage),
        });
      }
      throw e;
    }
  }

  async broadcast(raw: Uint8Array): Promise<string> {
    const where = 'bitcoind/broadcast';
    checkRaw(raw, where);
    const localTxid = tryTxidOf(raw);
    try {
      const txid = await this.rpc.sendrawtransaction(bytesToHex(raw), this.#maxFeeRate);
      if (localTxid !== null && txid !== localTxid) {
        throw badResponse(where, `txid ${localTxid}`, txid);
      }
      return txid;
    } catch (e) {
      if (!(e instanceof CoordinatorError)) throw e;
      if (e.code === 'CHAIN_RPC' && e.detail.rpcCode === RPC_DESERIALIZATION_ERROR) {
        throw new CoordinatorError(
          'CHAIN_REJECTED',
          `${where}: expected a transaction the node can decode, got ${raw.length} bytes it cannot: ${String(e.detail.rpcMessage)}`,
          { ...e.detail, rejectReason: e.detail.rpcMessage },
          { cause: e },
        );
      }
      if (e.code !== 'CHAIN_REJECTED' || localTxid === null) throw e;
      // Re-broadcast of bytes the node already has: success, the same txid.
      if (e.detail.alreadyInChain === true) return localTxid;
      const reason = String(e.detail.rejectReason ?? '');
      if (REJECT_ALREADY_KNOWN.test(reason)) return localTxid;
      if (REJECT_INPUTS_GONE.test(reason)) {
        const status = await this.transactionStatus(localTxid);
        if (status.inMempool || status.confirmations > 0) return localTxid;
      }
      throw e;
    }
  }

  async estimateFee(targetBlocks: number): Promise<FeeEstimate | null> {
    checkFeeTarget(targetBlocks, 'bitcoind/estimateFee');
    const r = await this.rpc.estimatesmartfee(targetBlocks);
    if ((r.errors !== undefined && r.errors.length > 0) || r.feerate === undefined) return null;
    // feerate is BTC/kvB, converted exactly: satoshis per kvB.
    return Object.freeze({ satPerKvB: r.feerate, blocks: r.blocks });
  }
}

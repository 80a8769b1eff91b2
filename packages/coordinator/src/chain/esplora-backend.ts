/**
 * ChainBackend over the Esplora REST API (Blockstream/esplora, mempool.space). docs/chain.md §4.
 *
 * Esplora is trusted less than one's own node, so the backend checks what it can: the network
 * (the genesis hash at /block-height/0, once, before any other answer is used), every block's
 * header hash and merkle root against the raw block bytes it decodes itself, and every raw
 * transaction's txid. It has no mempool-acceptance test: `testAccept` throws CHAIN_RPC with
 * `detail.unsupported`.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { CoordinatorError, isCoordinatorError } from '../errors.js';
import { checkFeeTarget, checkHash, checkHeight, checkRaw, describeIssues } from './args.js';
import { merkleRoot, parseHeader, splitBlock } from './block-decode.js';
import { badEsplora, EsploraClient } from './esplora-client.js';
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
import { REJECT_ALREADY_KNOWN, REJECT_INPUTS_GONE } from './rpc-errors.js';
import { hex64 } from './rpc-schemas.js';
import { decodeTransaction, tryTxidOf } from './tx-decode.js';

/** Genesis block hashes (chainparams.cpp upstream). All signets share the same genesis. */
export const GENESIS_HASHES: Readonly<Record<ChainNetwork, readonly string[]>> = Object.freeze({
  mainnet: Object.freeze(['000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f']),
  testnet: Object.freeze([
    '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943', // testnet3
    '00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043', // testnet4
  ]),
  signet: Object.freeze(['00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6']),
  regtest: Object.freeze(['0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206']),
});

export const esploraConfigSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  network: z.enum(['mainnet', 'testnet', 'signet', 'regtest']),
  timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  retries: z.number().int().min(0).max(20).default(3),
  retryBaseDelayMs: z.number().int().min(0).max(60_000).default(250),
  retryMaxDelayMs: z.number().int().min(0).max(600_000).default(5_000),
  /** A raw block is ≤ 4 MB; /mempool/txids of a full mempool is tens of MB. */
  maxResponseBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 ** 3)
    .default(64 * 1024 ** 2),
});
export type EsploraConfigInput = z.input<typeof esploraConfigSchema>;

const heightText = z.string().regex(/^\d{1,10}$/, 'expected a decimal height');
/** GET /block/:hash (electrs BlockValue). Only the fields used are required. */
const blockMetaSchema = z.object({
  id: hex64,
  height: z.number().int().min(0),
  tx_count: z.number().int().min(1),
  merkle_root: hex64.optional(),
  previousblockhash: hex64.nullable().optional(),
});
/** GET /tx/:txid/status (electrs TransactionStatus). */
const txStatusSchema = z.object({
  confirmed: z.boolean(),
  block_height: z.number().int().min(0).nullable().optional(),
  block_hash: hex64.nullable().optional(),
});
/** GET /fee-estimates: target (blocks) → sat/vB. */
const feeEstimatesSchema = z.record(
  z.string().regex(/^\d{1,4}$/),
  z.number().finite().nonnegative(),
);

export class EsploraBackend implements ChainBackend {
  readonly kind = 'esplora' as const;
  readonly #http: EsploraClient;
  readonly #network: ChainNetwork;
  #checked: Promise<void> | null = null;

  constructor(http: EsploraClient, network: ChainNetwork) {
    this.#http = http;
    this.#network = network;
  }

  static fromConfig(input: unknown, retryDeps?: RetryDeps): EsploraBackend {
    const parsed = esploraConfigSchema.safeParse(input);
    if (!parsed.success) {
      throw new CoordinatorError(
        'BAD_CONFIG',
        `chain/esplora config: expected a valid esplora backend config, got ${describeIssues(parsed.error)}`,
      );
    }
    const c = parsed.data;
    const http = new EsploraClient({
      url: c.url,
      timeoutMs: c.timeoutMs,
      retry: { retries: c.retries, baseDelayMs: c.retryBaseDelayMs, maxDelayMs: c.retryMaxDelayMs },
      maxResponseBytes: c.maxResponseBytes,
      retryDeps,
    });
    return new EsploraBackend(http, c.network);
  }

  /** The server's genesis block must be the configured network's, before anything is used. */
  #ready(): Promise<void> {
    if (this.#checked === null) {
      this.#checked = this.#checkNetwork().catch((e: unknown) => {
        // A server that was down or refused us may be fixed: check again next time. A server
        // of another network stays refused.
        if (!(isCoordinatorError(e, 'BAD_CONFIG') && 'genesis' in e.detail)) this.#checked = null;
        throw e;
      });
    }
    return this.#checked;
  }

  async #checkNetwork(): Promise<void> {
    const where = 'esplora/network';
    const genesis = await this.#http.getText('/block-height/0', where);
    if (genesis === null || !hex64.safeParse(genesis).success) {
      throw badEsplora(where, 'the genesis block hash at /block-height/0', String(genesis));
    }
    if (!GENESIS_HASHES[this.#network].includes(genesis)) {
      const actual = (Object.keys(GENESIS_HASHES) as ChainNetwork[]).find((n) =>
        GENESIS_HASHES[n].includes(genesis),
      );
      throw new CoordinatorError(
        'BAD_CONFIG',
        `${where}: expected a ${this.#network} server (genesis ${GENESIS_HASHES[this.#network].join(' or ')}), got genesis ${genesis}${actual === undefined ? '' : ` (${actual})`}`,
        { configured: this.#network, genesis, actual: actual ?? null },
      );
    }
  }

  async network(): Promise<ChainNetwork> {
    await this.#ready();
    return this.#network;
  }

  async tip(): Promise<ChainTip> {
    await this.#ready();
    const where = 'esplora/tip';
    // Hash first, then that block's height: both describe the same block.
    const hash = await this.#http.getText('/blocks/tip/hash', where);
    if (hash === null || !hex64.safeParse(hash).success) {
      throw badEsplora(where, 'a block hash from /blocks/tip/hash', String(hash));
    }
    const meta = await this.#http.getJson(`/block/${hash}`, blockMetaSchema, where);
    if (meta === null || meta.id !== hash) {
      throw badEsplora(where, `block ${hash} at /block/${hash}`, meta === null ? '404' : meta.id);
    }
    return Object.freeze({ height: meta.height, hash });
  }

  async blockHash(height: number): Promise<string | null> {
    checkHeight(height, 'esplora/blockHash');
    await this.#ready();
    const where = 'esplora/blockHash';
    const hash = await this.#http.getText(`/block-height/${height}`, where);
    if (hash === null) return null; // 404 "Block not found": above the tip
    if (!hex64.safeParse(hash).success) throw badEsplora(where, 'a block hash', hash.slice(0, 80));
    return hash;
  }

  async block(hash: string): Promise<ChainBlock> {
    checkHash(hash, 'a block hash', 'esplora/block');
    await this.#ready();
    const where = `esplora/block ${hash}`;
    const meta = await this.#http.getJson(`/block/${hash}`, blockMetaSchema, where);
    const raw = meta === null ? null : await this.#http.getBytes(`/block/${hash}/raw`, where);
    if (meta === null || raw === null) {
      throw new CoordinatorError('NOT_FOUND', `${where}: expected a known block, got 404`, {
        hash,
      });
    }
    const { header: headerBytes, txs } = splitBlock(raw, where);
    const header = parseHeader(headerBytes);
    if (header.hash !== hash || meta.id !== hash) {
      throw badEsplora(where, `block ${hash}`, `header hashing to ${header.hash}`);
    }
    if (txs.length !== meta.tx_count) {
      throw badEsplora(where, `${meta.tx_count} transactions`, `${txs.length}`);
    }
    const transactions = txs.map((t, i) => decodeTransaction(t, `${where} tx ${i}`));
    const root = merkleRoot(transactions.map((t) => t.txid));
    if (root !== header.merkleRoot) {
      throw badEsplora(where, `transactions with merkle root ${header.merkleRoot}`, root);
    }
    return Object.freeze({
      hash,
      height: meta.height,
      previousHash: header.previousHash,
      time: header.time,
      transactions: Object.freeze(transactions),
    });
  }

  async transaction(txid: string): Promise<Uint8Array | null> {
    checkHash(txid, 'a txid', 'esplora/transaction');
    await this.#ready();
    const where = `esplora/transaction ${txid}`;
    const raw = await this.#http.getBytes(`/tx/${txid}/raw`, where);
    if (raw === null) return null;
    return decodeTransaction(raw, where, txid).raw;
  }

  async transactionStatus(txid: string): Promise<ChainTxStatus> {
    checkHash(txid, 'a txid', 'esplora/transactionStatus');
    await this.#ready();
    const where = `esplora/transactionStatus ${txid}`;
    const unknown = Object.freeze({ inMempool: false, confirmations: 0, blockHash: null });
    const s = await this.#http.getJson(`/tx/${txid}/status`, txStatusSchema, where);
    if (s === null) return unknown;
    if (s.confirmed) {
      if (s.block_height == null || s.block_hash == null) {
        throw badEsplora(where, 'block_height and block_hash of a confirmed tx', 'none');
      }
      const tipText = await this.#http.getText('/blocks/tip/height', where);
      const tip = heightText.safeParse(tipText);
      if (!tip.success) throw badEsplora(where, 'a tip height', String(tipText));
      // The tip is read after the status: it is at least the block's height unless a reorg
      // happened in between, in which case the next poll corrects it.
      const confirmations = Math.max(1, Number(tip.data) - s.block_height + 1);
      return Object.freeze({ inMempool: false, confirmations, blockHash: s.block_hash });
    }
    // electrs answers {confirmed: false} for unknown txids too: ask for the bytes.
    const raw = await this.#http.getBytes(`/tx/${txid}/raw`, where);
    if (raw === null) return unknown;
    return Object.freeze({ inMempool: true, confirmations: 0, blockHash: null });
  }

  async mempoolTxids(): Promise<readonly string[]> {
    await this.#ready();
    const ids = await this.#http.getJson('/mempool/txids', z.array(hex64), 'esplora/mempoolTxids');
    if (ids === null) throw badEsplora('esplora/mempoolTxids', 'a txid list', '404');
    return Object.freeze(ids);
  }

  async testAccept(_raw: Uint8Array): Promise<MempoolAcceptResult> {
    throw new CoordinatorError(
      'CHAIN_RPC',
      'esplora/testAccept: expected a backend with a mempool-acceptance test, got Esplora, which has none (use the bitcoind backend)',
      { unsupported: true },
    );
  }

  async broadcast(raw: Uint8Array): Promise<string> {
    const where = 'esplora/broadcast';
    checkRaw(raw, where);
    await this.#ready();
    const localTxid = tryTxidOf(raw);
    const res = await this.#http.postText('/tx', bytesToHex(raw), where);
    if (res.status === 200) {
      if (!hex64.safeParse(res.text).success) {
        throw badEsplora(where, 'a txid', JSON.stringify(res.text.slice(0, 80)));
      }
      if (localTxid !== null && res.text !== localTxid) {
        throw badEsplora(where, `txid ${localTxid}`, res.text);
      }
      return res.text;
    }
    const rejection = parseRejection(res.text);
    if (localTxid !== null) {
      if (rejection.rpcCode === -27 || REJECT_ALREADY_KNOWN.test(rejection.reason)) {
        return localTxid;
      }
      if (REJECT_INPUTS_GONE.test(rejection.reason)) {
        const status = await this.transactionStatus(localTxid);
        if (status.inMempool || status.confirmations > 0) return localTxid;
      }
    }
    throw new CoordinatorError(
      'CHAIN_REJECTED',
      `${where}: expected the node to accept the transaction, got: ${rejection.reason}`,
      { rejectReason: rejection.reason, rpcCode: rejection.rpcCode, httpStatus: res.status },
    );
  }

  async estimateFee(targetBlocks: number): Promise<FeeEstimate | null> {
    checkFeeTarget(targetBlocks, 'esplora/estimateFee');
    await this.#ready();
    const map = await this.#http.getJson(
      '/fee-estimates',
      feeEstimatesSchema,
      'esplora/estimateFee',
    );
    if (map === null) return null;
    const targets = Object.keys(map)
      .map(Number)
      .filter((t) => t >= targetBlocks)
      .sort((a, b) => a - b);
    const blocks = targets[0];
    if (blocks === undefined) return null;
    return Object.freeze({ satPerKvB: satPerVbToKvB(map[String(blocks)] as number), blocks });
  }
}

/**
 * sat/vB (a JSON float computed by the indexer from Core's BTC/kvB) → sat/kvB, rounded to the
 * nearest integer through the decimal string `toFixed(3)`, not by multiplying the float.
 */
export function satPerVbToKvB(satPerVb: number): bigint {
  const [whole, frac = ''] = satPerVb.toFixed(3).split('.');
  return BigInt(whole as string) * 1000n + BigInt(frac.padEnd(3, '0'));
}

/**
 * The node's reason out of an Esplora broadcast error body. electrs writes
 * `sendrawtransaction RPC error: {"code":-26,"message":"..."}` (older) or
 * `sendrawtransaction RPC error -26: ...` (newer); anything else is kept as it is.
 */
export function parseRejection(text: string): { reason: string; rpcCode: number | null } {
  const json = /RPC error:\s*(\{.*\})\s*$/s.exec(text);
  if (json !== null) {
    try {
      const o = JSON.parse(json[1] as string) as { code?: unknown; message?: unknown };
      if (typeof o.message === 'string') {
        return { reason: o.message, rpcCode: Number.isInteger(o.code) ? (o.code as number) : null };
      }
    } catch {
      // fall through to the other forms
    }
  }
  const plain = /RPC error (-?\d+):\s*(.*)$/s.exec(text);
  if (plain !== null) return { reason: (plain[2] as string).trim(), rpcCode: Number(plain[1]) };
  return { reason: text.slice(0, 500), rpcCode: null };
}

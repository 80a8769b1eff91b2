/**
 * The chain interface (DESIGN §2): everything the coordinator needs from a blockchain, and
 * nothing Bitcoin-node-specific in its shape beyond what a UTXO chain must expose. Three backends
 * implement it: `bitcoind` (Bitcoin Core's JSON-RPC — also the path used against the embedded
 * devnet node, which serves the same JSON-RPC subset), and `esplora` (the Esplora REST API).
 *
 * Rules every backend follows:
 * - Amounts are exact `bigint` satoshis, taken from the raw transaction bytes, never from a
 *   floating-point BTC figure.
 * - Hashes (txid, block hash) are 64 lowercase hex characters in display order (as Core prints).
 * - A backend that cannot answer (down, timeout, HTTP 5xx, connection refused) throws
 *   CoordinatorError CHAIN_UNAVAILABLE after its bounded retries — it never guesses a value.
 *   A response that does not match the documented shape throws CHAIN_BAD_RESPONSE. A node's
 *   refusal of a transaction throws CHAIN_REJECTED with the node's reason; any other node
 *   error is CHAIN_RPC with the node's numeric code in `detail.rpcCode`.
 */

export type ChainNetwork = 'mainnet' | 'testnet' | 'signet' | 'regtest';

export interface ChainTip {
  readonly height: number;
  readonly hash: string;
}

/** An input's previous output reference; `coinbase` inputs have no real prevout. */
export interface ChainTxInput {
  readonly txid: string;
  readonly vout: number;
  readonly sequence: number;
  readonly coinbase: boolean;
}

export interface ChainTxOutput {
  readonly value: bigint;
  readonly scriptPubKey: Uint8Array;
}

export interface ChainTransaction {
  readonly txid: string;
  readonly inputs: readonly ChainTxInput[];
  readonly outputs: readonly ChainTxOutput[];
  /** The full serialized transaction (with witness), exactly as the node holds it. */
  readonly raw: Uint8Array;
}

export interface ChainBlock {
  readonly hash: string;
  readonly height: number;
  /** Hash of the parent block; 64 zeros for the genesis block. */
  readonly previousHash: string;
  /** Block header time, seconds since the Unix epoch. */
  readonly time: number;
  /** In block order; the first is the coinbase. */
  readonly transactions: readonly ChainTransaction[];
}

export interface ChainTxStatus {
  /** Whether the node has it in its mempool. */
  readonly inMempool: boolean;
  /** Confirmations on the active chain (0 when unconfirmed or unknown). */
  readonly confirmations: number;
  /** The block that confirms it, when confirmed. */
  readonly blockHash: string | null;
}

export interface MempoolAcceptResult {
  readonly txid: string;
  readonly allowed: boolean;
  /** The node's reject reason when not allowed (Core's `reject-reason`). */
  readonly rejectReason: string | null;
}

export interface FeeEstimate {
  /** Satoshis per 1000 virtual bytes (Core's estimatesmartfee unit, converted exactly). */
  readonly satPerKvB: bigint;
  /** The target the node actually answered for (may be larger than asked). */
  readonly blocks: number;
}

export interface ChainBackend {
  readonly kind: 'bitcoind' | 'esplora';
  /** The network the node runs (Core's `chain`: main → mainnet, test/testnet4 → testnet, ...). */
  network(): Promise<ChainNetwork>;
  tip(): Promise<ChainTip>;
  /** Hash of the active-chain block at `height`, or null above the tip. */
  blockHash(height: number): Promise<string | null>;
  /** The block with every transaction decoded; throws NOT_FOUND for an unknown hash. */
  block(hash: string): Promise<ChainBlock>;
  /** A transaction from the mempool or the chain (raw bytes), or null when the node has none. */
  transaction(txid: string): Promise<Uint8Array | null>;
  /** Where a transaction stands; `{ inMempool: false, confirmations: 0, blockHash: null }` if unknown. */
  transactionStatus(txid: string): Promise<ChainTxStatus>;
  mempoolTxids(): Promise<readonly string[]>;
  /** Policy and consensus check without relaying (Core's testmempoolaccept). */
  testAccept(raw: Uint8Array): Promise<MempoolAcceptResult>;
  /**
   * Relay a transaction; returns its txid. Sending bytes the node already has in its mempool or
   * chain is NOT an error (returns the txid): re-broadcasting the same bytes must be idempotent.
   * A rejection throws CHAIN_REJECTED with `detail.rejectReason`.
   */
  broadcast(raw: Uint8Array): Promise<string>;
  /** Fee estimate for confirmation within `targetBlocks`, or null when the node has none. */
  estimateFee(targetBlocks: number): Promise<FeeEstimate | null>;
}

/**
 * The device's durable, non-secret memory as pure data: what it has signed, for velocity limits,
 * withdrawal-id replay protection and change-index tracking. state/ persists it (authenticated,
 * fsync'd before a signature leaves); policy/evaluate.ts reads it and returns what to add.
 * Hex strings are lower-case; times are unix seconds as the device accepted them (see clock.ts).
 */
export interface SpendRecord {
  /** Device time at which it signed. */
  readonly at: number;
  /** txid (hex, display order) of the transaction signed. */
  readonly txid: string;
  /** Total of external outputs (what left the wallet) plus fee. */
  readonly amount: bigint;
  readonly fee: bigint;
  /** Outpoints spent, `txidhex:vout`. */
  readonly outpoints: readonly string[];
  /** Withdrawal ids paid by this transaction. */
  readonly withdrawalIds: readonly string[];
}

export interface WithdrawalRecord {
  readonly withdrawalId: string;
  /** Every transaction signed for it (a replacement adds one). */
  readonly txids: readonly string[];
  /** Union of the outpoints of those transactions: a new one must conflict with all of them. */
  readonly outpoints: readonly string[];
  /** Hex of the external output this withdrawal was paid by: `scriptPubKeyhex:amount`. */
  readonly output: string;
  /** Highest fee paid by any transaction for it, and how many replacements were signed. */
  readonly maxFee: bigint;
  readonly replacements: number;
}

export interface DeviceMemory {
  /** Format version of the persisted document. */
  readonly version: 1;
  readonly network: 'mainnet' | 'testnet' | 'signet' | 'regtest';
  /** Highest accepted policy version and its hash (hex); 0 / '' before the first policy. */
  readonly policyVersion: number;
  readonly policyHash: string;
  /** Spends inside the longest velocity window (older ones may be pruned). */
  readonly spends: readonly SpendRecord[];
  /** Withdrawal ids ever paid, never pruned while the policy could accept a replacement. */
  readonly withdrawals: Readonly<Record<string, WithdrawalRecord>>;
  /** Highest change index seen per wallet id (hex), to keep the change window moving forward. */
  readonly changeIndex: Readonly<Record<string, number>>;
  /** The last time the device accepted (unix seconds) and the block height offered with it. */
  readonly lastTime: number;
  readonly lastHeight: number;
  /** Set when state was found missing/corrupt/rolled back: every window counts as spent until re-activation by two holders. */
  readonly failClosed: boolean;
}

export function emptyMemory(network: DeviceMemory['network']): DeviceMemory {
  return {
    version: 1,
    network,
    policyVersion: 0,
    policyHash: '',
    spends: [],
    withdrawals: {},
    changeIndex: {},
    lastTime: 0,
    lastHeight: 0,
    failClosed: false,
  };
}

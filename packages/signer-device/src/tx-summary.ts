/**
 * What PSBT verification hands to the policy: the facts the device proved about a transaction,
 * computed from one parse. Nothing here is taken on the coordinator's word. Amounts in satoshis
 * as bigint. Pure data: produced by psbt/verify-psbt.ts, consumed by policy/evaluate.ts and the
 * durable state.
 */
export interface OutPoint {
  /** Previous transaction id, 32 bytes in internal byte order (as in the serialized input). */
  readonly txid: Uint8Array;
  readonly vout: number;
}

export interface VerifiedInput {
  readonly index: number;
  readonly outpoint: OutPoint;
  /** Proven by the full previous transaction (non_witness_utxo). */
  readonly amount: bigint;
  /** Derivation under the registered descriptor: 0 = receive, 1 = change. */
  readonly branch: 0 | 1;
  readonly addressIndex: number;
  readonly sequence: number;
}

export type VerifiedOutput =
  | {
      readonly index: number;
      readonly kind: 'change';
      readonly scriptPubKey: Uint8Array;
      readonly amount: bigint;
      /** Change-branch index, proven by recomputing the script from the descriptor. */
      readonly addressIndex: number;
    }
  | {
      readonly index: number;
      readonly kind: 'external';
      readonly scriptPubKey: Uint8Array;
      readonly amount: bigint;
    };

export interface TxSummary {
  /** Registered wallet this transaction spends from. */
  readonly walletId: Uint8Array;
  readonly txid: Uint8Array;
  readonly version: number;
  readonly locktime: number;
  readonly inputs: readonly VerifiedInput[];
  readonly outputs: readonly VerifiedOutput[];
  readonly totalIn: bigint;
  readonly totalOut: bigint;
  /** Sum of external outputs: what leaves the wallet apart from the fee. */
  readonly totalExternal: bigint;
  readonly fee: bigint;
  /** Virtual size of the fully signed transaction as the device computes it (2-of-3 P2WSH). */
  readonly vsize: number;
  /** fee / vsize, in milli-satoshi per vbyte (integer, rounded up) to avoid floats. */
  readonly feerateMsatPerVb: bigint;
}

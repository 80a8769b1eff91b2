/**
 * Tables of the vault: addresses (receive per user, change), the next index per branch, UTXOs
 * and their reservations, and the full previous transactions (for `non_witness_utxo`).
 * Migration 0002 creates them; docs/vault.md §2 documents every column and constraint.
 */
import type { ColumnType } from 'kysely';

/** Bytes as stored: PostgreSQL returns a Buffer (a Uint8Array); we write Uint8Array. */
type Bytes = ColumnType<Uint8Array, Uint8Array, never>;
/** An integer the database generates (identity / rowid) and never changes. */
type Id = ColumnType<bigint, never, never>;
/** A value written once at insert and never updated. */
type Fixed<T> = ColumnType<T, T, never>;

/** UTXO states: spendable, reserved for a transaction being signed, spent by a seen transaction. */
export const UTXO_STATES = Object.freeze(['available', 'reserved', 'spent'] as const);
export type UtxoState = (typeof UTXO_STATES)[number];

export interface VaultAddressesTable {
  id: Id;
  /** The wallet id (sha256 of the descriptor text), 64 lower-case hex characters. */
  wallet_id: Fixed<string>;
  /** 0 receive (deposit), 1 change. */
  branch: Fixed<bigint>;
  /** Child index on the branch, 0..2^31-1. UNIQUE(wallet_id, branch, address_index). */
  address_index: Fixed<bigint>;
  /** scriptPubKey (34 bytes, P2WSH). UNIQUE: an address is never handed out twice. */
  script: Bytes;
  address: Fixed<string>;
  /** The user a receive address was given to; NULL for change. */
  user_id: Fixed<string | null>;
  created_at: Fixed<bigint>;
}

export interface VaultAddressCountersTable {
  wallet_id: Fixed<string>;
  branch: Fixed<bigint>;
  /** The next index to hand out on this branch. Only ever increases. */
  next_index: bigint;
}

export interface VaultUtxosTable {
  /** 64 lower-case hex characters, display order. PRIMARY KEY (txid, vout). */
  txid: Fixed<string>;
  vout: Fixed<bigint>;
  value: Fixed<bigint>;
  script: Bytes;
  address_id: Fixed<bigint>;
  /** Height of the block that confirmed it; NULL while unconfirmed (or after a reorg). */
  height: bigint | null;
  state: UtxoState;
  /** The coordinator transaction (payout) id it is reserved for, NULL when available. */
  reserved_by: bigint | null;
  /** The txid (display hex) of the transaction seen spending it, NULL unless spent. */
  spent_by: string | null;
  created_at: Fixed<bigint>;
  updated_at: bigint;
}

export interface VaultPrevTxsTable {
  /** 64 lower-case hex characters, display order: the double SHA-256 of `raw` without witness. */
  txid: Fixed<string>;
  /** The whole transaction as the node gave it (witness included), at most 400 000 bytes. */
  raw: Bytes;
  created_at: Fixed<bigint>;
}

export interface VaultSchema {
  vault_addresses: VaultAddressesTable;
  vault_address_counters: VaultAddressCountersTable;
  vault_utxos: VaultUtxosTable;
  vault_prev_txs: VaultPrevTxsTable;
}

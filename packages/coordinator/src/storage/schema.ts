/**
 * The coordinator's database schema as Kysely table types, and the frozen value sets the
 * migrations turn into CHECK constraints. Every integer column is BIGINT (PostgreSQL) or
 * INTEGER in a STRICT table (SQLite) and is a `bigint` in TypeScript, on both backends:
 * satoshis are never a `number`. Times are integer milliseconds since the Unix epoch (UTC).
 * Byte strings (scripts) are BYTEA / BLOB and `Uint8Array` here.
 */
import type { ColumnType } from 'kysely';
import type { ApiSchema } from './schema-api.js';
import type { SigningSchema } from './schema-signing.js';
import type { VaultSchema } from './schema-vault.js';

/** Ledger account kinds (DESIGN §5 treasury). Only `user` balances may never go negative. */
export const ACCOUNT_KINDS = Object.freeze([
  'user',
  'hot_wallet',
  'cold_wallet',
  'fees',
  'pending_withdrawals',
  'deposits_in_flight',
  'external',
] as const);
export type AccountKind = (typeof ACCOUNT_KINDS)[number];

/** Online risk outcomes (DESIGN §5 online risk engine). */
export const RISK_OUTCOMES = Object.freeze(['approve', 'hold', 'reject'] as const);
export type RiskOutcome = (typeof RISK_OUTCOMES)[number];

/** Bitcoin's money supply cap in satoshis: no single amount or posting may exceed it. */
export const MAX_MONEY_SATS = 2_100_000_000_000_000n;

/** Bytes as stored: PostgreSQL returns a Buffer (a Uint8Array); we write Uint8Array. */
type Bytes = ColumnType<Uint8Array, Uint8Array, never>;
/** An integer the database generates (identity / rowid) and never changes. */
type Id = ColumnType<bigint, never, never>;
/** A value written once at insert and never updated. */
type Fixed<T> = ColumnType<T, T, never>;

export interface AccountsTable {
  id: Id;
  kind: Fixed<AccountKind>;
  /** The user id for `user` accounts; a wallet or system name otherwise. */
  owner: Fixed<string>;
  asset: Fixed<string>;
  created_at: Fixed<bigint>;
}

export interface JournalEntriesTable {
  id: Id;
  kind: Fixed<string>;
  /** Unique per kind: the business key (e.g. `txid:vout` of a deposit) that stops double entry. */
  reference: Fixed<string>;
  created_at: Fixed<bigint>;
}

export interface PostingsTable {
  entry_id: Fixed<bigint>;
  account_id: Fixed<bigint>;
  asset: Fixed<string>;
  /** Signed satoshis: positive raises the account's balance, negative lowers it. Never zero. */
  amount: Fixed<bigint>;
}

export interface WithdrawalsTable {
  /** Caller-chosen id (1..64 chars), the `withdrawalId` of the signed withdrawal intent. */
  id: Fixed<string>;
  user_id: Fixed<string>;
  idempotency_key: Fixed<string>;
  asset: Fixed<string>;
  destination_script: Bytes;
  amount: Fixed<bigint>;
  state: string;
  /** JSON array of `{ "state": string, "at": number(ms) }`, oldest first. */
  state_history: string;
  risk_outcome: RiskOutcome | null;
  /** JSON array of strings, or null before the risk engine ran. */
  risk_reasons: string | null;
  created_at: Fixed<bigint>;
  updated_at: bigint;
  /** The payout (transaction) currently paying it (migration 0003). */
  payout_id: ColumnType<bigint | null, bigint | null | undefined, bigint | null>;
  /** Fee charged to the user by the exchange (migration 0003). */
  user_fee: ColumnType<bigint, bigint | undefined, never>;
  /** JSON of a device's coded refusal report (migration 0003). */
  device_report: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface DepositsTable {
  /** Transaction id as 64 lowercase hex characters (display order). Public data. */
  txid: Fixed<string>;
  vout: Fixed<bigint>;
  user_id: Fixed<string>;
  asset: Fixed<string>;
  amount: Fixed<bigint>;
  confirmations: bigint;
  state: string;
  created_at: Fixed<bigint>;
  updated_at: bigint;
  /** JSON array of risk reason codes (migration 0003). */
  reasons: ColumnType<string | null, string | null | undefined, string | null>;
  /** Earlier reversals of this outpoint by reorgs (migration 0003). */
  epoch: ColumnType<bigint, bigint | undefined, bigint>;
  height: ColumnType<bigint | null, bigint | null | undefined, bigint | null>;
  block_hash: ColumnType<string | null, string | null | undefined, string | null>;
  /** The deposit address (migration 0003). */
  address: ColumnType<string, string | undefined, never>;
}

export interface EventsTable {
  id: Id;
  kind: Fixed<string>;
  /** JSON text (not jsonb: the bytes written are the bytes read back). */
  payload: Fixed<string>;
  created_at: Fixed<bigint>;
  delivered_at: bigint | null;
}

export interface Schema extends VaultSchema, SigningSchema, ApiSchema {
  accounts: AccountsTable;
  journal_entries: JournalEntriesTable;
  postings: PostingsTable;
  withdrawals: WithdrawalsTable;
  deposits: DepositsTable;
  events: EventsTable;
}

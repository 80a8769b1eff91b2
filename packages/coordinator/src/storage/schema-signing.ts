/** Tables of signing: payouts (one transaction each), devices, refusal reports, settings, gateway cursor. */
import type { ColumnType } from 'kysely';

type Id = ColumnType<bigint, never, never>;
type Fixed<T> = ColumnType<T, T, never>;
type Bytes = ColumnType<Uint8Array, Uint8Array, Uint8Array>;

export interface PayoutsTable {
  id: Id;
  state: string;
  psbt: Bytes;
  intents: Bytes;
  fee: bigint;
  vsize: bigint;
  fee_rate: bigint;
  raw_tx: Uint8Array | null;
  txid: string | null;
  replaces_id: bigint | null;
  block_height: bigint | null;
  signers: string | null;
  attempts: ColumnType<bigint, bigint | undefined, bigint>;
  next_attempt_at: ColumnType<bigint, bigint | undefined, bigint>;
  last_error: string | null;
  state_history: string;
  created_at: Fixed<bigint>;
  updated_at: bigint;
}

export interface PayoutWithdrawalsTable {
  payout_id: Fixed<bigint>;
  withdrawal_id: Fixed<string>;
  output_index: Fixed<bigint>;
}

export interface DevicesTable {
  id: Fixed<string>;
  link_public_key: Bytes;
  serial_path: string;
  baud: bigint;
  fingerprint: Bytes;
  xpub: string;
  state: string;
  last_seen: bigint | null;
  policy_version: bigint | null;
  enrolled_at: Fixed<bigint>;
}

export interface DeviceReportsTable {
  id: Id;
  device_id: Fixed<string>;
  payout_id: Fixed<bigint | null>;
  code: Fixed<bigint>;
  name: Fixed<string>;
  reason: Fixed<string | null>;
  message: Fixed<string>;
  at: Fixed<bigint>;
}

export interface SettingsTable {
  key: Fixed<string>;
  value: string;
  updated_at: bigint;
}

export interface GatewayBlocksTable {
  height: Fixed<bigint>;
  hash: string;
  previous_hash: string;
  effects: string;
  processed_at: bigint;
}

export interface SigningSchema {
  payouts: PayoutsTable;
  payout_withdrawals: PayoutWithdrawalsTable;
  devices: DevicesTable;
  device_reports: DeviceReportsTable;
  settings: SettingsTable;
  gateway_blocks: GatewayBlocksTable;
}

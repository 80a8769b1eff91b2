/** Tables of the HTTP API: API keys (hashed) and their roles. See docs/api.md §Keys. */
import type { ColumnType } from 'kysely';

/**
 * API key roles. `exchange`: the exchange backend (deposit addresses, withdrawals, deposits,
 * balances). `operator`: the review queue, approvals, pause/resume, devices, reconciliation and
 * every read. `admin`: everything, including key management.
 */
export const API_KEY_ROLES = Object.freeze(['exchange', 'operator', 'admin'] as const);
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** Length in bytes of a key's SHA-256 digest as stored. */
export const API_KEY_HASH_BYTES = 32;

export interface ApiKeysTable {
  id: ColumnType<bigint, never, never>;
  /** Who or what holds the key (`exchange-backend-1`, `alice-ops`): 1..64 printable ASCII. */
  name: ColumnType<string, string, never>;
  role: ColumnType<ApiKeyRole, ApiKeyRole, never>;
  /** SHA-256 of the key's 32 random bytes; never the key itself. Unique. */
  key_hash: ColumnType<Uint8Array, Uint8Array, never>;
  created_at: ColumnType<bigint, bigint, never>;
  /** Null while the key is valid; set once, never cleared. */
  revoked_at: bigint | null;
}

export interface ApiSchema {
  api_keys: ApiKeysTable;
}

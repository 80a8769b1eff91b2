/**
 * Migration 0002: the vault's tables — addresses (receive per user, change) with the next index
 * per branch, the full previous transactions (for `non_witness_utxo`), and the UTXO set with its
 * reservations. One DDL for both backends, as in 0001 (BIGINT/BYTEA/identity on PostgreSQL,
 * INTEGER/BLOB/rowid in STRICT tables on SQLite). docs/vault.md §2 documents every constraint.
 */
import { type Kysely, sql } from 'kysely';
import { ddlFor } from './ddl.js';
import { UTXO_STATES } from './schema-vault.js';

/** 21e14: Bitcoin's money supply cap in satoshis (as schema.ts MAX_MONEY_SATS; a shipped migration keeps its own copy). */
const MAX_MONEY = '2100000000000000';
const MAX_INDEX = '2147483647';
/** A counter past the last index (2^31) means the branch is exhausted. */
const COUNTER_MAX = '2147483648';
/** The devices' limit for one previous transaction. */
const MAX_PREV_TX_BYTES = '400000';

export async function up(db: Kysely<unknown>): Promise<void> {
  const { int, bytes, strict, id } = ddlFor(db);
  const states = sql.join(UTXO_STATES.map((s) => sql.lit(s)));

  await db.schema
    .createTable('vault_addresses')
    .addColumn('id', sql`${id}`)
    .addColumn('wallet_id', 'text', (c) => c.notNull())
    .addColumn('branch', int, (c) => c.notNull())
    .addColumn('address_index', int, (c) => c.notNull())
    .addColumn('script', bytes, (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('created_at', int, (c) => c.notNull())
    .addCheckConstraint('vault_addresses_wallet_length', sql`length(wallet_id) = 64`)
    .addCheckConstraint(
      'vault_addresses_index_range',
      sql`address_index between 0 and ${sql.raw(MAX_INDEX)}`,
    )
    .addCheckConstraint('vault_addresses_script_length', sql`length(script) = 34`)
    .addCheckConstraint('vault_addresses_address_length', sql`length(address) between 14 and 90`)
    .addCheckConstraint(
      'vault_addresses_owner',
      sql`(branch = 0 and user_id is not null and length(user_id) between 1 and 128) or (branch = 1 and user_id is null)`,
    )
    .addUniqueConstraint('vault_addresses_position_unique', [
      'wallet_id',
      'branch',
      'address_index',
    ])
    .addUniqueConstraint('vault_addresses_script_unique', ['script'])
    .addUniqueConstraint('vault_addresses_address_unique', ['address'])
    .modifyEnd(strict)
    .execute();
  await db.schema
    .createIndex('vault_addresses_user_idx')
    .on('vault_addresses')
    .columns(['user_id'])
    .execute();

  await db.schema
    .createTable('vault_address_counters')
    .addColumn('wallet_id', 'text', (c) => c.notNull())
    .addColumn('branch', int, (c) => c.notNull())
    .addColumn('next_index', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('vault_address_counters_pk', ['wallet_id', 'branch'])
    .addCheckConstraint('vault_address_counters_branch', sql`branch in (0, 1)`)
    .addCheckConstraint(
      'vault_address_counters_range',
      sql`next_index between 0 and ${sql.raw(COUNTER_MAX)}`,
    )
    .modifyEnd(strict)
    .execute();

  await db.schema
    .createTable('vault_prev_txs')
    .addColumn('txid', 'text', (c) => c.primaryKey())
    .addColumn('raw', bytes, (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addCheckConstraint('vault_prev_txs_txid_length', sql`length(txid) = 64`)
    .addCheckConstraint(
      'vault_prev_txs_raw_length',
      sql`length(raw) between 1 and ${sql.raw(MAX_PREV_TX_BYTES)}`,
    )
    .modifyEnd(strict)
    .execute();

  await db.schema
    .createTable('vault_utxos')
    .addColumn('txid', 'text', (c) => c.notNull().references('vault_prev_txs.txid'))
    .addColumn('vout', int, (c) => c.notNull())
    .addColumn('value', int, (c) => c.notNull())
    .addColumn('script', bytes, (c) => c.notNull())
    .addColumn('address_id', int, (c) => c.notNull().references('vault_addresses.id'))
    .addColumn('height', int)
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('reserved_by', int)
    .addColumn('spent_by', 'text')
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('updated_at', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('vault_utxos_pk', ['txid', 'vout'])
    .addCheckConstraint('vault_utxos_vout_range', sql`vout between 0 and 4294967295`)
    .addCheckConstraint(
      'vault_utxos_value_range',
      sql`value > 0 and value <= ${sql.raw(MAX_MONEY)}`,
    )
    .addCheckConstraint('vault_utxos_height_range', sql`height is null or height >= 0`)
    .addCheckConstraint('vault_utxos_state_known', sql`state in (${states})`)
    .addCheckConstraint(
      'vault_utxos_state_fields',
      sql`(state = 'available' and reserved_by is null and spent_by is null) or (state = 'reserved' and reserved_by is not null and spent_by is null) or (state = 'spent' and spent_by is not null)`,
    )
    .addCheckConstraint(
      'vault_utxos_spent_by_length',
      sql`spent_by is null or length(spent_by) = 64`,
    )
    .modifyEnd(strict)
    .execute();
  await db.schema
    .createIndex('vault_utxos_state_idx')
    .on('vault_utxos')
    .columns(['state'])
    .execute();
  await db.schema
    .createIndex('vault_utxos_reserved_idx')
    .on('vault_utxos')
    .columns(['reserved_by'])
    .execute();
  await db.schema
    .createIndex('vault_utxos_spent_idx')
    .on('vault_utxos')
    .columns(['spent_by'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'vault_utxos',
    'vault_prev_txs',
    'vault_address_counters',
    'vault_addresses',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}

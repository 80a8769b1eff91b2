/**
 * Migration 0001: the tables the coordinator needs first. One DDL for both backends; the only
 * differences are column type names (BIGINT/BYTEA/identity on PostgreSQL, INTEGER/BLOB/rowid in
 * STRICT tables on SQLite), so that an integer column can never hold a float or text on either.
 * docs/storage.md documents every table, column and constraint.
 */
import { type Kysely, sql } from 'kysely';
import { backendOf } from './backend.js';
import { ACCOUNT_KINDS, MAX_MONEY_SATS, RISK_OUTCOMES } from './schema.js';

const inList = (column: string, values: readonly string[]) =>
  sql`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`;

export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = backendOf(db) === 'postgres';
  const int = pg ? 'bigint' : 'integer';
  const bytes = pg ? 'bytea' : 'blob';
  const strict = pg ? sql`` : sql`strict`;
  const max = sql.raw(MAX_MONEY_SATS.toString());
  const id = pg
    ? sql`bigint generated always as identity primary key`
    : sql`integer primary key autoincrement`;

  await db.schema
    .createTable('accounts')
    .addColumn('id', sql`${id}`)
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addCheckConstraint('accounts_kind_known', inList('kind', ACCOUNT_KINDS))
    .addCheckConstraint('accounts_owner_length', sql`length(owner) between 1 and 128`)
    .addCheckConstraint('accounts_asset_length', sql`length(asset) between 2 and 16`)
    .addUniqueConstraint('accounts_kind_owner_asset_unique', ['kind', 'owner', 'asset'])
    .addUniqueConstraint('accounts_id_asset_unique', ['id', 'asset'])
    .modifyEnd(strict)
    .execute();

  await db.schema
    .createTable('journal_entries')
    .addColumn('id', sql`${id}`)
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('reference', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addCheckConstraint('journal_entries_kind_length', sql`length(kind) between 1 and 64`)
    .addCheckConstraint(
      'journal_entries_reference_length',
      sql`length(reference) between 1 and 256`,
    )
    .addUniqueConstraint('journal_entries_kind_reference_unique', ['kind', 'reference'])
    .modifyEnd(strict)
    .execute();

  await db.schema
    .createTable('postings')
    .addColumn('entry_id', int, (c) => c.notNull().references('journal_entries.id'))
    .addColumn('account_id', int, (c) => c.notNull())
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('amount', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('postings_pk', ['entry_id', 'account_id'])
    .addForeignKeyConstraint('postings_account_asset_fk', ['account_id', 'asset'], 'accounts', [
      'id',
      'asset',
    ])
    .addCheckConstraint(
      'postings_amount_range',
      sql`amount <> 0 and amount between -${max} and ${max}`,
    )
    .modifyEnd(strict)
    .execute();
  await db.schema
    .createIndex('postings_account_idx')
    .on('postings')
    .columns(['account_id'])
    .execute();

  await db.schema
    .createTable('withdrawals')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('destination_script', bytes, (c) => c.notNull())
    .addColumn('amount', int, (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('state_history', 'text', (c) => c.notNull())
    .addColumn('risk_outcome', 'text')
    .addColumn('risk_reasons', 'text')
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('updated_at', int, (c) => c.notNull())
    .addCheckConstraint('withdrawals_id_length', sql`length(id) between 1 and 64`)
    .addCheckConstraint('withdrawals_key_length', sql`length(idempotency_key) between 1 and 128`)
    .addCheckConstraint('withdrawals_amount_range', sql`amount > 0 and amount <= ${max}`)
    .addCheckConstraint(
      'withdrawals_script_length',
      sql`length(destination_script) between 1 and 520`,
    )
    .addCheckConstraint(
      'withdrawals_risk_outcome_known',
      sql`risk_outcome is null or ${inList('risk_outcome', RISK_OUTCOMES)}`,
    )
    .addUniqueConstraint('withdrawals_user_key_unique', ['user_id', 'idempotency_key'])
    .modifyEnd(strict)
    .execute();
  await db.schema
    .createIndex('withdrawals_state_idx')
    .on('withdrawals')
    .columns(['state'])
    .execute();

  await db.schema
    .createTable('deposits')
    .addColumn('txid', 'text', (c) => c.notNull())
    .addColumn('vout', int, (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('amount', int, (c) => c.notNull())
    .addColumn('confirmations', int, (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('updated_at', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('deposits_pk', ['txid', 'vout'])
    .addCheckConstraint('deposits_txid_length', sql`length(txid) = 64`)
    .addCheckConstraint('deposits_vout_range', sql`vout between 0 and 4294967295`)
    .addCheckConstraint('deposits_amount_range', sql`amount > 0 and amount <= ${max}`)
    .addCheckConstraint('deposits_confirmations_range', sql`confirmations >= 0`)
    .modifyEnd(strict)
    .execute();
  await db.schema.createIndex('deposits_user_idx').on('deposits').columns(['user_id']).execute();

  await db.schema
    .createTable('events')
    .addColumn('id', sql`${id}`)
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('delivered_at', int)
    .modifyEnd(strict)
    .execute();
  await db.schema
    .createIndex('events_undelivered_idx')
    .on('events')
    .columns(['id'])
    .where(sql.ref('delivered_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['events', 'deposits', 'withdrawals', 'postings', 'journal_entries']) {
    await db.schema.dropTable(table).execute();
  }
  await db.schema.dropTable('accounts').execute();
}

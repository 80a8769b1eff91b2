/**
 * Migration 0003: the tables of signing and broadcasting — payouts (one transaction each, batching
 * withdrawals), the link between payouts and withdrawals, enrolled devices and their refusal
 * reports, the operator settings (the withdrawal pause), the gateway's processed-block cursor —
 * and the columns the withdrawal and deposit state machines need. See docs/storage.md §signing.
 */
import { type Kysely, sql } from 'kysely';
import { PAYOUT_STATES } from '../withdrawal/states.js';
import { ddlFor, inList } from './ddl.js';
import { MAX_MONEY_SATS } from './schema.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const { int, bytes, strict, id } = ddlFor(db);
  const max = sql.raw(MAX_MONEY_SATS.toString());

  await db.schema
    .createTable('payouts')
    .addColumn('id', sql`${id}`)
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('psbt', bytes, (c) => c.notNull())
    /** Canonical CBOR of the signed withdrawal intents sent with the PSBT. */
    .addColumn('intents', bytes, (c) => c.notNull())
    .addColumn('fee', int, (c) => c.notNull())
    .addColumn('vsize', int, (c) => c.notNull())
    .addColumn('fee_rate', int, (c) => c.notNull())
    .addColumn('raw_tx', bytes)
    .addColumn('txid', 'text')
    .addColumn('replaces_id', int)
    /** Height of the block that includes it on the active chain (null while unconfirmed). */
    .addColumn('block_height', int)
    /** JSON array of the device ids whose signatures were combined. */
    .addColumn('signers', 'text')
    .addColumn('attempts', int, (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', int, (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('state_history', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('updated_at', int, (c) => c.notNull())
    .addCheckConstraint('payouts_state_known', inList('state', PAYOUT_STATES))
    .addCheckConstraint('payouts_fee_range', sql`fee >= 0 and fee <= ${max}`)
    .addCheckConstraint('payouts_vsize_positive', sql`vsize > 0`)
    .addCheckConstraint('payouts_txid_hex', sql`txid is null or length(txid) = 64`)
    .addCheckConstraint(
      'payouts_signed_has_tx',
      sql`state in ('signing', 'refused') or (raw_tx is not null and txid is not null)`,
    )
    .addUniqueConstraint('payouts_txid_unique', ['txid'])
    .modifyEnd(strict)
    .execute();
  await db.schema.createIndex('payouts_state_idx').on('payouts').columns(['state']).execute();

  await db.schema
    .createTable('payout_withdrawals')
    .addColumn('payout_id', int, (c) => c.notNull().references('payouts.id'))
    .addColumn('withdrawal_id', 'text', (c) => c.notNull().references('withdrawals.id'))
    .addColumn('output_index', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('payout_withdrawals_pk', ['payout_id', 'withdrawal_id'])
    .addUniqueConstraint('payout_withdrawals_output_unique', ['payout_id', 'output_index'])
    .modifyEnd(strict)
    .execute();
  await db.schema
    .createIndex('payout_withdrawals_withdrawal_idx')
    .on('payout_withdrawals')
    .columns(['withdrawal_id'])
    .execute();

  await db.schema.alterTable('withdrawals').addColumn('payout_id', int).execute();
  await db.schema
    .alterTable('withdrawals')
    .addColumn('user_fee', int, (c) => c.notNull().defaultTo(0))
    .execute();
  // The intake's risk history reads a user's recent withdrawals and every withdrawal in the
  // global outflow window.
  await db.schema
    .createIndex('withdrawals_user_created_idx')
    .on('withdrawals')
    .columns(['user_id', 'created_at'])
    .execute();
  await db.schema
    .createIndex('withdrawals_created_idx')
    .on('withdrawals')
    .columns(['created_at'])
    .execute();
  /** JSON of the device's coded refusal report, when a device refused the payout. */
  await db.schema.alterTable('withdrawals').addColumn('device_report', 'text').execute();

  await db.schema.alterTable('deposits').addColumn('reasons', 'text').execute();
  await db.schema
    .alterTable('deposits')
    .addColumn('epoch', int, (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('deposits').addColumn('height', int).execute();
  await db.schema.alterTable('deposits').addColumn('block_hash', 'text').execute();
  await db.schema
    .alterTable('deposits')
    .addColumn('address', 'text', (c) => c.notNull().defaultTo(''))
    .execute();

  await db.schema
    .createTable('devices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('link_public_key', bytes, (c) => c.notNull())
    .addColumn('serial_path', 'text', (c) => c.notNull())
    .addColumn('baud', int, (c) => c.notNull())
    .addColumn('fingerprint', bytes, (c) => c.notNull())
    .addColumn('xpub', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('last_seen', int)
    .addColumn('policy_version', int)
    .addColumn('enrolled_at', int, (c) => c.notNull())
    .addCheckConstraint('devices_id_length', sql`length(id) between 1 and 64`)
    .addCheckConstraint('devices_link_key_length', sql`length(link_public_key) = 32`)
    .addCheckConstraint('devices_fingerprint_length', sql`length(fingerprint) = 4`)
    .addUniqueConstraint('devices_link_key_unique', ['link_public_key'])
    .modifyEnd(strict)
    .execute();

  await db.schema
    .createTable('device_reports')
    .addColumn('id', sql`${id}`)
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('payout_id', int)
    .addColumn('code', int, (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('at', int, (c) => c.notNull())
    .modifyEnd(strict)
    .execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', int, (c) => c.notNull())
    .modifyEnd(strict)
    .execute();

  await db.schema
    .createTable('gateway_blocks')
    .addColumn('height', int, (c) => c.primaryKey())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('previous_hash', 'text', (c) => c.notNull())
    /** JSON of the block's effects on our wallet (gateway/cursor.ts encodeProcessedBlock), for reversals. */
    .addColumn('effects', 'text', (c) => c.notNull())
    .addColumn('processed_at', int, (c) => c.notNull())
    .addCheckConstraint('gateway_blocks_hash_hex', sql`length(hash) = 64`)
    .modifyEnd(strict)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'gateway_blocks',
    'settings',
    'device_reports',
    'devices',
    'payout_withdrawals',
    'payouts',
  ]) {
    await db.schema.dropTable(t).execute();
  }
  await db.schema.dropIndex('withdrawals_created_idx').execute();
  await db.schema.dropIndex('withdrawals_user_created_idx').execute();
  for (const c of ['device_report', 'user_fee', 'payout_id']) {
    await db.schema.alterTable('withdrawals').dropColumn(c).execute();
  }
  for (const c of ['address', 'block_hash', 'height', 'epoch', 'reasons']) {
    await db.schema.alterTable('deposits').dropColumn(c).execute();
  }
}

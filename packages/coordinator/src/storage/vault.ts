/**
 * Storage of the vault: addresses handed out (receive per user, change), the UTXO set fed by the
 * gateway with its reservations, and the full previous transactions the PSBTs carry as
 * `non_witness_utxo`. Every function takes a Kysely handle: pass the caller's transaction to make
 * it part of a larger unit (e.g. reserve coins and store the PSBT together); given a plain handle,
 * a function that writes more than one statement opens its own transaction.
 *
 * Addresses are never reused: the next index of a (wallet, branch) is taken with one
 * `UPDATE ... SET next_index = next_index + 1 RETURNING` (a row lock on PostgreSQL, the writer lock
 * on SQLite), and (wallet, branch, index), script and address are each UNIQUE. docs/vault.md §2.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import {
  type ExpressionBuilder,
  type Kysely,
  type Selectable,
  sql,
  type Transaction,
} from 'kysely';
import { CoordinatorError } from '../errors.js';
import type { SpendableUtxo } from '../vault/plan.js';
import { displayHex, parseRawTx } from '../vault/raw-tx.js';
import type { Schema } from './schema.js';
import type { UtxoState, VaultAddressesTable, VaultUtxosTable } from './schema-vault.js';
import { withTransaction } from './transaction.js';
import { byteString, dbBigint, describe, positiveSats, rowId, text, timeMs } from './validate.js';

const WALLET_ID = /^[0-9a-f]{64}$/;
const TXID = /^[0-9a-f]{64}$/;
const MAX_INDEX = 0x7fffffff;

export type AddressBranch = 0 | 1;

/** Scripts and address at branch/index, from the descriptor (vault/wallet.ts `deriveAddress`). */
export type AddressDeriver = (
  branch: AddressBranch,
  index: number,
) => { readonly script: Uint8Array; readonly address: string };

export interface VaultAddress {
  readonly id: bigint;
  readonly walletId: string;
  readonly branch: AddressBranch;
  readonly index: number;
  readonly script: Uint8Array;
  readonly address: string;
  readonly userId: string | null;
  readonly createdAt: bigint;
}

export interface Outpoint {
  readonly txid: string;
  readonly vout: number;
}

export interface Utxo extends SpendableUtxo {
  readonly walletId: string;
  readonly addressId: bigint;
  readonly address: string;
  readonly state: UtxoState;
  readonly reservedBy: bigint | null;
  readonly spentBy: string | null;
  readonly createdAt: bigint;
  readonly updatedAt: bigint;
}

export interface AddUtxoInput {
  /** The whole transaction that created the output, as the node gave it. */
  readonly rawTx: Uint8Array;
  readonly vout: number;
  /** Confirming block height, or null while in the mempool. */
  readonly height: number | null;
  readonly at: Date;
}

const bad = (place: string, expected: string, got: unknown) =>
  new CoordinatorError('BAD_REQUEST', `${place}: expected ${expected}, got ${describe(got)}`);

/**
 * Run `fn` in the caller's transaction, or in a new one when given a plain handle. Our own
 * transactions are READ COMMITTED on PostgreSQL: every step here is a single-statement update
 * that locks the rows it changes and re-checks its WHERE clause after waiting for the lock (the
 * counter increment, `state = 'available'`), or an insert guarded by a UNIQUE key — correct at
 * that level, and it never fails with a serialization conflict on the one hot counter row. A
 * caller's SERIALIZABLE transaction is also correct, but may be retried under contention.
 */
function inTransaction<T>(db: Kysely<Schema>, fn: (trx: Kysely<Schema>) => Promise<T>): Promise<T> {
  return db.isTransaction
    ? fn(db)
    : withTransaction(db, (trx: Transaction<Schema>) => fn(trx), { isolation: 'read committed' });
}

function walletId(place: string, x: unknown): string {
  if (typeof x !== 'string' || !WALLET_ID.test(x))
    throw bad(place, 'a wallet id of 64 lower-case hex', x);
  return x;
}

function outpoint(place: string, o: Outpoint): Outpoint {
  if (typeof o !== 'object' || o === null) throw bad(place, 'an outpoint {txid, vout}', o);
  if (typeof o.txid !== 'string' || !TXID.test(o.txid))
    throw bad(`${place}.txid`, 'a txid of 64 lower-case hex', o.txid);
  if (!Number.isInteger(o.vout) || o.vout < 0 || o.vout > 0xffffffff)
    throw bad(`${place}.vout`, 'a vout 0..2^32-1', o.vout);
  return { txid: o.txid, vout: o.vout };
}

function outpoints(place: string, list: readonly Outpoint[]): Outpoint[] {
  if (!Array.isArray(list) || list.length === 0 || list.length > 10_000) {
    throw bad(place, '1..10000 outpoints', list);
  }
  const out = list.map((o, i) => outpoint(`${place}[${i}]`, o));
  if (new Set(out.map((o) => `${o.txid}:${o.vout}`)).size !== out.length) {
    throw bad(place, 'distinct outpoints', 'a duplicate');
  }
  return out;
}

function txidText(place: string, x: unknown): string {
  if (typeof x !== 'string' || !TXID.test(x)) throw bad(place, 'a txid of 64 lower-case hex', x);
  return x;
}

function branchOf(place: string, x: bigint): AddressBranch {
  if (x !== 0n && x !== 1n)
    throw new CoordinatorError('INTERNAL', `${place}: expected a stored branch 0 or 1, got ${x}`);
  return x === 0n ? 0 : 1;
}

function addressFromRow(place: string, r: Selectable<VaultAddressesTable>): VaultAddress {
  return Object.freeze({
    id: dbBigint(place, r.id),
    walletId: r.wallet_id,
    branch: branchOf(place, dbBigint(place, r.branch)),
    index: Number(dbBigint(place, r.address_index)),
    script: new Uint8Array(r.script),
    address: r.address,
    userId: r.user_id,
    createdAt: dbBigint(place, r.created_at),
  });
}

// ---------------------------------------------------------------------------------------------
// Addresses

export interface AllocateAddressInput {
  readonly walletId: string;
  readonly branch: AddressBranch;
  /** The user a receive address is for; must be null for change. */
  readonly userId: string | null;
  readonly at: Date;
}

/**
 * Hand out the next address of (wallet, branch): a fresh index, never given before, derived by
 * `derive` and stored. Safe to race (tested with concurrent calls on both backends).
 */
export async function allocateAddress(
  db: Kysely<Schema>,
  input: AllocateAddressInput,
  derive: AddressDeriver,
): Promise<VaultAddress> {
  const place = 'vault/allocateAddress';
  const wid = walletId(`${place}.walletId`, input?.walletId);
  const branch = input.branch;
  if (branch !== 0 && branch !== 1)
    throw bad(`${place}.branch`, '0 (receive) or 1 (change)', branch);
  const userId = branch === 0 ? text(`${place}.userId`, input.userId, 1, 128) : input.userId;
  if (branch === 1 && userId !== null)
    throw bad(`${place}.userId`, 'null for a change address', userId);
  const at = timeMs(`${place}.at`, input.at);
  return inTransaction(db, async (trx) => {
    await trx
      .insertInto('vault_address_counters')
      .values({ wallet_id: wid, branch: BigInt(branch), next_index: 0n })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const row = await trx
      .updateTable('vault_address_counters')
      .set({ next_index: sql`next_index + 1` })
      .where('wallet_id', '=', wid)
      .where('branch', '=', BigInt(branch))
      .returning('next_index')
      .executeTakeFirst();
    const next = dbBigint(place, row?.next_index);
    const index = Number(next - 1n);
    if (index < 0 || index > MAX_INDEX) {
      throw new CoordinatorError(
        'INVALID_TRANSITION',
        `${place}: expected an index below 2^31 on branch ${branch}, got the branch exhausted`,
      );
    }
    const derived = derive(branch, index);
    const inserted = await trx
      .insertInto('vault_addresses')
      .values({
        wallet_id: wid,
        branch: BigInt(branch),
        address_index: BigInt(index),
        script: byteString(`${place}.script`, derived.script, 34, 34),
        address: text(`${place}.address`, derived.address, 14, 90),
        user_id: userId,
        created_at: at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return addressFromRow(place, inserted);
  });
}

/** The address with this scriptPubKey, or undefined when it is not one of ours. */
export async function getAddressByScript(
  db: Kysely<Schema>,
  script: Uint8Array,
): Promise<VaultAddress | undefined> {
  const place = 'vault/getAddressByScript';
  const s = byteString(`${place}.script`, script, 1, 520);
  const row = await db
    .selectFrom('vault_addresses')
    .selectAll()
    .where('script', '=', s)
    .executeTakeFirst();
  return row === undefined ? undefined : addressFromRow(place, row);
}

/** Addresses of a wallet (optionally one branch or one user), oldest first. */
export async function listAddresses(
  db: Kysely<Schema>,
  filter: { readonly walletId: string; readonly branch?: AddressBranch; readonly userId?: string },
): Promise<VaultAddress[]> {
  const place = 'vault/listAddresses';
  let q = db
    .selectFrom('vault_addresses')
    .selectAll()
    .where('wallet_id', '=', walletId(`${place}.walletId`, filter?.walletId));
  if (filter.branch !== undefined) q = q.where('branch', '=', BigInt(filter.branch));
  if (filter.userId !== undefined)
    q = q.where('user_id', '=', text(`${place}.userId`, filter.userId, 1, 128));
  const rows = await q.orderBy('id').execute();
  return rows.map((r) => addressFromRow(place, r));
}

// ---------------------------------------------------------------------------------------------
// UTXOs

const UTXO_COLUMNS = [
  'u.txid',
  'u.vout',
  'u.value',
  'u.script',
  'u.address_id',
  'u.height',
  'u.state',
  'u.reserved_by',
  'u.spent_by',
  'u.created_at',
  'u.updated_at',
  'a.wallet_id',
  'a.branch',
  'a.address_index',
  'a.address',
] as const;

type UtxoRow = Selectable<VaultUtxosTable> & {
  wallet_id: string;
  branch: bigint;
  address_index: bigint;
  address: string;
};

function utxoFromRow(place: string, r: UtxoRow): Utxo {
  return Object.freeze({
    txid: r.txid,
    vout: Number(dbBigint(place, r.vout)),
    value: dbBigint(place, r.value),
    height: r.height === null ? null : Number(dbBigint(place, r.height)),
    branch: branchOf(place, dbBigint(place, r.branch)),
    index: Number(dbBigint(place, r.address_index)),
    script: new Uint8Array(r.script),
    walletId: r.wallet_id,
    addressId: dbBigint(place, r.address_id),
    address: r.address,
    state: r.state,
    reservedBy: r.reserved_by === null ? null : dbBigint(place, r.reserved_by),
    spentBy: r.spent_by,
    createdAt: dbBigint(place, r.created_at),
    updatedAt: dbBigint(place, r.updated_at),
  });
}

const utxoQuery = (db: Kysely<Schema>) =>
  db
    .selectFrom('vault_utxos as u')
    .innerJoin('vault_addresses as a', 'a.id', 'u.address_id')
    .select(UTXO_COLUMNS);

export async function getUtxo(db: Kysely<Schema>, o: Outpoint): Promise<Utxo | undefined> {
  const place = 'vault/getUtxo';
  const p = outpoint(place, o);
  const row = await utxoQuery(db)
    .where('u.txid', '=', p.txid)
    .where('u.vout', '=', BigInt(p.vout))
    .executeTakeFirst();
  return row === undefined ? undefined : utxoFromRow(place, row);
}

/**
 * Record an output of `rawTx` paying one of our addresses (idempotent per outpoint). The value
 * and script are read from the transaction itself, never taken from the caller; the raw bytes are
 * kept for `non_witness_utxo`. Again for the same outpoint: nothing new, the height is updated
 * (`created: false`). NOT_FOUND when the output does not pay a wallet address.
 */
export async function addUtxo(
  db: Kysely<Schema>,
  input: AddUtxoInput,
): Promise<{ readonly utxo: Utxo; readonly created: boolean }> {
  const place = 'vault/addUtxo';
  const tx = parseRawTx(input?.rawTx, `${place}.rawTx`);
  const txid = displayHex(tx.txid);
  const vout = input.vout;
  const out = Number.isInteger(vout) && vout >= 0 ? tx.outputs[vout] : undefined;
  if (out === undefined)
    throw bad(`${place}.vout`, `an output of ${txid} (0..${tx.outputs.length - 1})`, vout);
  const value = positiveSats(`${place} output ${vout}`, out.amount);
  const height = input.height;
  if (height !== null && !(Number.isSafeInteger(height) && height >= 0))
    throw bad(`${place}.height`, 'a height >= 0 or null', height);
  const at = timeMs(`${place}.at`, input.at);
  return inTransaction(db, async (trx) => {
    const address = await getAddressByScript(trx, out.script);
    if (address === undefined) {
      throw new CoordinatorError(
        'NOT_FOUND',
        `${place}: expected output ${vout} of ${txid} to pay a wallet address, got script ${bytesToHex(out.script).slice(0, 80)}`,
        { txid, vout },
      );
    }
    await trx
      .insertInto('vault_prev_txs')
      .values({ txid, raw: input.rawTx.slice(), created_at: at })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const inserted = await trx
      .insertInto('vault_utxos')
      .values({
        txid,
        vout: BigInt(vout),
        value,
        script: out.script.slice(),
        address_id: address.id,
        height: height === null ? null : BigInt(height),
        state: 'available',
        reserved_by: null,
        spent_by: null,
        created_at: at,
        updated_at: at,
      })
      .onConflict((oc) => oc.doNothing())
      .returning('txid')
      .executeTakeFirst();
    if (inserted === undefined) {
      await trx
        .updateTable('vault_utxos')
        .set({ height: height === null ? null : BigInt(height), updated_at: at })
        .where('txid', '=', txid)
        .where('vout', '=', BigInt(vout))
        .where((eb) =>
          height === null
            ? eb('height', 'is not', null)
            : eb.or([eb('height', 'is', null), eb('height', '!=', BigInt(height))]),
        )
        .execute();
    }
    const utxo = await getUtxo(trx, { txid, vout });
    if (utxo === undefined)
      throw new CoordinatorError('INTERNAL', `${place}: expected the UTXO row, got none`);
    return Object.freeze({ utxo, created: inserted !== undefined });
  });
}

/** `(txid, vout) in ((..), ..)`: row values, supported by PostgreSQL and SQLite >= 3.15. */
const tuples = (list: readonly Outpoint[]) => (eb: ExpressionBuilder<Schema, 'vault_utxos'>) =>
  eb(
    eb.refTuple('txid', 'vout'),
    'in',
    list.map((o) => eb.tuple(o.txid, BigInt(o.vout))),
  );

/**
 * Reserve these UTXOs for transaction `reservedBy` (e.g. a payout id): each must be available or
 * already reserved by the same id (a re-run). All or nothing: INVALID_TRANSITION naming the
 * outpoints that are not. Returns how many rows changed.
 */
export async function reserveUtxos(
  db: Kysely<Schema>,
  list: readonly Outpoint[],
  reservedBy: bigint,
  at: Date,
): Promise<number> {
  const place = 'vault/reserveUtxos';
  const ops = outpoints(`${place}.outpoints`, list);
  const by = rowId(`${place}.reservedBy`, reservedBy);
  const when = timeMs(`${place}.at`, at);
  return inTransaction(db, async (trx) => {
    const changed = await trx
      .updateTable('vault_utxos')
      .set({ state: 'reserved', reserved_by: by, updated_at: when })
      .where('state', '=', 'available')
      .where(tuples(ops))
      .returning(['txid', 'vout'])
      .execute();
    if (changed.length === ops.length) return changed.length;
    const rows = await trx
      .selectFrom('vault_utxos')
      .select(['txid', 'vout', 'state', 'reserved_by'])
      .where(tuples(ops))
      .execute();
    const ok = new Set(
      rows
        .filter((r) => r.state === 'reserved' && r.reserved_by === by)
        .map((r) => `${r.txid}:${r.vout}`),
    );
    const blocked = ops
      .filter((o) => !ok.has(`${o.txid}:${o.vout}`))
      .map((o) => `${o.txid}:${o.vout}`);
    if (blocked.length > 0) {
      throw new CoordinatorError(
        'INVALID_TRANSITION',
        `${place}: expected every UTXO available, got ${blocked.length} reserved elsewhere, spent or unknown (first ${blocked[0]})`,
        { outpoints: blocked.slice(0, 20) },
      );
    }
    return changed.length;
  });
}

/** Make the UTXOs reserved by `reservedBy` available again (a payout that will not be broadcast). */
export async function releaseUtxos(
  db: Kysely<Schema>,
  reservedBy: bigint,
  at: Date,
): Promise<number> {
  const place = 'vault/releaseUtxos';
  const by = rowId(`${place}.reservedBy`, reservedBy);
  const rows = await db
    .updateTable('vault_utxos')
    .set({ state: 'available', reserved_by: null, updated_at: timeMs(`${place}.at`, at) })
    .where('state', '=', 'reserved')
    .where('reserved_by', '=', by)
    .returning('txid')
    .execute();
  return rows.length;
}

/**
 * The transaction `spentBy` (seen in the mempool or a block) spends these outpoints. Outpoints
 * that are not ours are ignored (the gateway may pass every input of a transaction). A UTXO
 * already recorded as spent by another transaction is moved to this one (the latest
 * observation wins: an RBF replacement, or a conflict resolved by a block). Returns rows changed.
 */
export async function markUtxosSpent(
  db: Kysely<Schema>,
  list: readonly Outpoint[],
  spentBy: string,
  at: Date,
): Promise<number> {
  const place = 'vault/markUtxosSpent';
  const ops = outpoints(`${place}.outpoints`, list);
  const by = txidText(`${place}.spentBy`, spentBy);
  const rows = await db
    .updateTable('vault_utxos')
    .set({ state: 'spent', spent_by: by, updated_at: timeMs(`${place}.at`, at) })
    .where(tuples(ops))
    .where((eb) => eb.or([eb('spent_by', 'is', null), eb('spent_by', '!=', by)]))
    .returning('txid')
    .execute();
  return rows.length;
}

/**
 * Undo `markUtxosSpent` for transaction `spentBy` (reorged out, evicted or replaced): each UTXO
 * goes back to reserved when a reservation is still recorded, else to available.
 */
export async function unspendUtxos(db: Kysely<Schema>, spentBy: string, at: Date): Promise<number> {
  const place = 'vault/unspendUtxos';
  const by = txidText(`${place}.spentBy`, spentBy);
  const when = timeMs(`${place}.at`, at);
  return inTransaction(db, async (trx) => {
    const reserved = await trx
      .updateTable('vault_utxos')
      .set({ state: 'reserved', spent_by: null, updated_at: when })
      .where('spent_by', '=', by)
      .where('reserved_by', 'is not', null)
      .returning('txid')
      .execute();
    const available = await trx
      .updateTable('vault_utxos')
      .set({ state: 'available', spent_by: null, updated_at: when })
      .where('spent_by', '=', by)
      .where('reserved_by', 'is', null)
      .returning('txid')
      .execute();
    return reserved.length + available.length;
  });
}

/** Reorg: blocks above `height` were disconnected; UTXOs confirmed there become unconfirmed. */
export async function unconfirmUtxosAbove(
  db: Kysely<Schema>,
  height: number,
  at: Date,
): Promise<number> {
  const place = 'vault/unconfirmUtxosAbove';
  if (!Number.isSafeInteger(height) || height < -1)
    throw bad(`${place}.height`, 'a height >= -1', height);
  const rows = await db
    .updateTable('vault_utxos')
    .set({ height: null, updated_at: timeMs(`${place}.at`, at) })
    .where('height', '>', BigInt(height))
    .returning('txid')
    .execute();
  return rows.length;
}

/**
 * A transaction that paid us vanished (conflicted, or dropped after a reorg): remove its outputs.
 * INVALID_TRANSITION if one of them is reserved or spent (release or unspend it first).
 */
export async function removeUtxosOfTx(db: Kysely<Schema>, txid: string): Promise<number> {
  const place = 'vault/removeUtxosOfTx';
  const id = txidText(`${place}.txid`, txid);
  return inTransaction(db, async (trx) => {
    const busy = await trx
      .selectFrom('vault_utxos')
      .select(['vout', 'state'])
      .where('txid', '=', id)
      .where('state', '!=', 'available')
      .execute();
    if (busy.length > 0) {
      throw new CoordinatorError(
        'INVALID_TRANSITION',
        `${place}: expected every output of ${id} available, got ${busy.length} reserved or spent`,
        { txid: id },
      );
    }
    const rows = await trx
      .deleteFrom('vault_utxos')
      .where('txid', '=', id)
      .returning('vout')
      .execute();
    return rows.length;
  });
}

/** Available UTXOs of a wallet (confirmed or not: coin selection applies the depth rules). */
export async function listSpendableUtxos(db: Kysely<Schema>, wallet: string): Promise<Utxo[]> {
  const place = 'vault/listSpendableUtxos';
  const rows = await utxoQuery(db)
    .where('a.wallet_id', '=', walletId(`${place}.walletId`, wallet))
    .where('u.state', '=', 'available')
    .orderBy('u.txid')
    .orderBy('u.vout')
    .execute();
  return rows.map((r) => utxoFromRow(place, r));
}

/** UTXOs reserved by (or still recording a reservation for) `reservedBy`. */
export async function utxosReservedBy(db: Kysely<Schema>, reservedBy: bigint): Promise<Utxo[]> {
  const place = 'vault/utxosReservedBy';
  const rows = await utxoQuery(db)
    .where('u.reserved_by', '=', rowId(`${place}.reservedBy`, reservedBy))
    .orderBy('u.txid')
    .orderBy('u.vout')
    .execute();
  return rows.map((r) => utxoFromRow(place, r));
}

/** The stored previous transactions of these txids (a missing one is simply absent). */
export async function getPrevTxs(
  db: Kysely<Schema>,
  txids: readonly string[],
): Promise<Map<string, Uint8Array>> {
  const place = 'vault/getPrevTxs';
  const ids = [...new Set(txids.map((t, i) => txidText(`${place}[${i}]`, t)))];
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < ids.length; i += 1000) {
    const rows = await db
      .selectFrom('vault_prev_txs')
      .select(['txid', 'raw'])
      .where('txid', 'in', ids.slice(i, i + 1000))
      .execute();
    for (const r of rows) out.set(r.txid, new Uint8Array(r.raw));
  }
  return out;
}

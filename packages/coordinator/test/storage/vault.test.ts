import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import type { Database } from '../../src/storage/database.js';
import { withTransaction } from '../../src/storage/transaction.js';
import {
  addUtxo,
  allocateAddress,
  getAddressByScript,
  getPrevTxs,
  getUtxo,
  listAddresses,
  listSpendableUtxos,
  markUtxosSpent,
  releaseUtxos,
  removeUtxosOfTx,
  reserveUtxos,
  unconfirmUtxosAbove,
  unspendUtxos,
  utxosReservedBy,
  type VaultAddress,
} from '../../src/storage/vault.js';
import { buildPsbt } from '../../src/vault/build-psbt.js';
import { selectCoins } from '../../src/vault/coin-selection.js';
import { deriveAddress } from '../../src/vault/wallet.js';
import { DEST, fundingTx, payment, txidOf, WALLET } from '../vault/fixtures.js';
import { BACKENDS, type TestBackend, unique } from './backends.js';

const AT = new Date(1_700_000_000_000);
const derive = (branch: 0 | 1, index: number) => deriveAddress(WALLET, branch, index);
const catchErr = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe.each(BACKENDS)('vault storage on $name', ({ make }) => {
  let backend: TestBackend;
  let database: Database;
  beforeAll(async () => {
    backend = await make();
    database = await backend.open();
  });
  afterAll(async () => {
    await database?.close();
    await backend?.cleanup();
  });

  const receive = (userId: string) =>
    allocateAddress(database.db, { walletId: WALLET.idHex, branch: 0, userId, at: AT }, derive);
  const change = () =>
    allocateAddress(
      database.db,
      { walletId: WALLET.idHex, branch: 1, userId: null, at: AT },
      derive,
    );

  /** A funding transaction paying fresh receive addresses of `user` (and one foreign output). */
  async function deposit(user: string, amounts: bigint[], salt = unique('tx')) {
    const addrs: VaultAddress[] = [];
    for (const _ of amounts) addrs.push(await receive(user));
    const raw = fundingTx(
      [
        ...amounts.map((amount, i) => ({ script: addrs[i]?.script ?? new Uint8Array(), amount })),
        { script: DEST.p2wpkh, amount: 5_000n },
      ],
      salt,
    );
    return { raw, txid: txidOf(raw), addrs };
  }

  it('hands out receive and change addresses in order, derived from the descriptor', async () => {
    const before = await listAddresses(database.db, { walletId: WALLET.idHex, branch: 0 });
    const a = await receive('alice');
    const b = await receive('alice');
    const c = await change();
    expect(b.index).toBe(a.index + 1);
    expect(a.index).toBe(before.length);
    expect(a.script).toEqual(derive(0, a.index).script);
    expect(a.address).toBe(derive(0, a.index).address);
    expect(c.branch).toBe(1);
    expect(c.userId).toBeNull();
    expect(c.script).toEqual(derive(1, c.index).script);
    expect((await getAddressByScript(database.db, b.script))?.id).toBe(b.id);
    expect(await getAddressByScript(database.db, DEST.p2wsh)).toBeUndefined();
    const mine = await listAddresses(database.db, { walletId: WALLET.idHex, userId: 'alice' });
    expect(mine.map((x) => x.index)).toEqual(expect.arrayContaining([a.index, b.index]));
  });

  it('never hands out an address twice, even to concurrent callers', async () => {
    const all = await Promise.all([
      ...Array.from({ length: 12 }, (_, i) => receive(`user-${i % 3}`)),
      ...Array.from({ length: 4 }, () =>
        withTransaction(
          database.db,
          (trx) =>
            allocateAddress(
              trx,
              { walletId: WALLET.idHex, branch: 0, userId: 'bob', at: AT },
              derive,
            ),
          { isolation: 'read committed' },
        ),
      ),
      ...Array.from({ length: 6 }, () => change()),
    ]);
    const receives = all.filter((x) => x.branch === 0).map((x) => x.index);
    expect(new Set(receives).size).toBe(16);
    expect(new Set(all.map((x) => x.address)).size).toBe(all.length);
    const stored = await listAddresses(database.db, { walletId: WALLET.idHex });
    expect(new Set(stored.map((x) => `${x.branch}/${x.index}`)).size).toBe(stored.length);
    // Indices are dense: no gap, no repeat.
    const r = stored
      .filter((x) => x.branch === 0)
      .map((x) => x.index)
      .sort((p, q) => p - q);
    expect(r).toEqual(r.map((_, i) => i));
  });

  it('refuses a second row for a script or position at the database level', async () => {
    const a = await receive('carol');
    const err = await catchErr(
      database.db
        .insertInto('vault_addresses')
        .values({
          wallet_id: WALLET.idHex,
          branch: 0n,
          address_index: 999_999n,
          script: a.script,
          address: 'bcrt1qduplicate000',
          user_id: 'x',
          created_at: 1n,
        })
        .execute(),
    );
    expect(err).toBeDefined();
    const bad = await catchErr(
      allocateAddress(
        database.db,
        { walletId: WALLET.idHex, branch: 1, userId: 'x', at: AT },
        derive,
      ),
    );
    expect(isCoordinatorError(bad, 'BAD_REQUEST')).toBe(true);
    const bad2 = await catchErr(
      allocateAddress(database.db, { walletId: 'ab', branch: 0, userId: 'x', at: AT }, derive),
    );
    expect(isCoordinatorError(bad2, 'BAD_REQUEST')).toBe(true);
  });

  it('adds a UTXO from its raw transaction once per outpoint, keeps the raw bytes, updates the height', async () => {
    const d = await deposit('dave', [120_000n, 80_000n]);
    const first = await addUtxo(database.db, { rawTx: d.raw, vout: 0, height: null, at: AT });
    expect(first.created).toBe(true);
    expect(first.utxo).toMatchObject({
      txid: d.txid,
      vout: 0,
      value: 120_000n,
      height: null,
      state: 'available',
      branch: 0,
      index: d.addrs[0]?.index,
    });
    const again = await addUtxo(database.db, { rawTx: d.raw, vout: 0, height: 150, at: AT });
    expect(again.created).toBe(false);
    expect(again.utxo.height).toBe(150);
    expect((await getPrevTxs(database.db, [d.txid])).get(d.txid)).toEqual(d.raw);
    // Not ours, not an output, not a transaction.
    expect(
      isCoordinatorError(
        await catchErr(addUtxo(database.db, { rawTx: d.raw, vout: 2, height: 1, at: AT })),
        'NOT_FOUND',
      ),
    ).toBe(true);
    expect(
      isCoordinatorError(
        await catchErr(addUtxo(database.db, { rawTx: d.raw, vout: 3, height: 1, at: AT })),
        'BAD_REQUEST',
      ),
    ).toBe(true);
    expect(
      isCoordinatorError(
        await catchErr(
          addUtxo(database.db, { rawTx: d.raw.slice(0, 50), vout: 0, height: 1, at: AT }),
        ),
        'BAD_REQUEST',
      ),
    ).toBe(true);
    expect(await getUtxo(database.db, { txid: d.txid, vout: 1 })).toBeUndefined();
  });

  it('reserves all or nothing, idempotently per reserver; two reservers never share a coin', async () => {
    const d = await deposit('erin', [10_000n, 20_000n, 30_000n]);
    for (const vout of [0, 1, 2])
      await addUtxo(database.db, { rawTx: d.raw, vout, height: 10, at: AT });
    const op = (vout: number) => ({ txid: d.txid, vout });
    expect(await reserveUtxos(database.db, [op(0), op(1)], 7n, AT)).toBe(2);
    expect(await reserveUtxos(database.db, [op(0), op(1)], 7n, AT)).toBe(0); // a re-run
    const err = await catchErr(reserveUtxos(database.db, [op(2), op(1)], 8n, AT));
    expect(isCoordinatorError(err, 'INVALID_TRANSITION')).toBe(true);
    expect((await getUtxo(database.db, op(2)))?.state).toBe('available'); // nothing half done
    expect((await utxosReservedBy(database.db, 7n)).map((u) => u.vout)).toEqual([0, 1]);
    expect(await releaseUtxos(database.db, 7n, AT)).toBe(2);
    // Concurrent reservations of overlapping sets: exactly one wins.
    const results = await Promise.allSettled([
      withTransaction(database.db, (trx) => reserveUtxos(trx, [op(0), op(1)], 21n, AT)),
      withTransaction(database.db, (trx) => reserveUtxos(trx, [op(1), op(2)], 22n, AT)),
      reserveUtxos(database.db, [op(2), op(0)], 23n, AT),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected')
        expect(isCoordinatorError(r.reason, 'INVALID_TRANSITION')).toBe(true);
    }
    const states = await Promise.all([0, 1, 2].map((v) => getUtxo(database.db, op(v))));
    const owners = new Set(states.map((u) => u?.reservedBy).filter((x) => x !== null));
    expect(owners.size).toBe(1);
  });

  it('marks spent, reverses a spend (to reserved or available), unconfirms on reorg, drops a vanished deposit', async () => {
    const d = await deposit('frank', [40_000n, 50_000n]);
    for (const vout of [0, 1])
      await addUtxo(database.db, { rawTx: d.raw, vout, height: 300, at: AT });
    const op = (vout: number) => ({ txid: d.txid, vout });
    await reserveUtxos(database.db, [op(0)], 31n, AT);
    const spender = 'ab'.repeat(32);
    const stranger = { txid: 'cd'.repeat(32), vout: 0 };
    expect(await markUtxosSpent(database.db, [op(0), op(1), stranger], spender, AT)).toBe(2);
    expect(await markUtxosSpent(database.db, [op(0), op(1)], spender, AT)).toBe(0);
    expect(await getUtxo(database.db, op(1))).toMatchObject({ state: 'spent', spentBy: spender });
    expect(await unspendUtxos(database.db, spender, AT)).toBe(2);
    expect(await getUtxo(database.db, op(0))).toMatchObject({
      state: 'reserved',
      reservedBy: 31n,
      spentBy: null,
    });
    expect(await getUtxo(database.db, op(1))).toMatchObject({ state: 'available', spentBy: null });
    expect(await unconfirmUtxosAbove(database.db, 299, AT)).toBeGreaterThanOrEqual(2);
    expect((await getUtxo(database.db, op(1)))?.height).toBeNull();
    expect(
      isCoordinatorError(
        await catchErr(removeUtxosOfTx(database.db, d.txid)),
        'INVALID_TRANSITION',
      ),
    ).toBe(true);
    await releaseUtxos(database.db, 31n, AT);
    expect(await removeUtxosOfTx(database.db, d.txid)).toBe(2);
    expect(await getUtxo(database.db, op(0))).toBeUndefined();
  });

  it('keeps state and fields consistent at the database level', async () => {
    const d = await deposit('gina', [60_000n]);
    await addUtxo(database.db, { rawTx: d.raw, vout: 0, height: 5, at: AT });
    const err = await catchErr(
      database.db
        .updateTable('vault_utxos')
        .set({ state: 'reserved' })
        .where('txid', '=', d.txid)
        .execute(),
    );
    expect(err).toBeDefined();
    expect((await getUtxo(database.db, { txid: d.txid, vout: 0 }))?.state).toBe('available');
  });

  it('feeds coin selection and the PSBT builder: listed UTXOs and stored previous transactions', async () => {
    const d = await deposit('hank', [3_000_000n, 2_000_000n]);
    for (const vout of [0, 1])
      await addUtxo(database.db, { rawTx: d.raw, vout, height: 100, at: AT });
    const utxos = (await listSpendableUtxos(database.db, WALLET.idHex)).filter(
      (u) => u.txid === d.txid,
    );
    expect(utxos).toHaveLength(2);
    const plan = selectCoins({
      utxos,
      withdrawals: [payment('w-h', 4_000_000n)],
      feerateSatPerKvB: 2_000n,
      tipHeight: 200,
    });
    const c = await change();
    const prev = await getPrevTxs(
      database.db,
      plan.inputs.map((u) => u.txid),
    );
    const built = buildPsbt({ wallet: WALLET, plan, changeIndex: c.index, prevTxs: prev });
    expect(built.summary.inputs).toHaveLength(2);
    expect(await reserveUtxos(database.db, plan.inputs, 41n, AT)).toBe(2);
    expect(
      (await listSpendableUtxos(database.db, WALLET.idHex)).filter((u) => u.txid === d.txid),
    ).toHaveLength(0);
  });
});

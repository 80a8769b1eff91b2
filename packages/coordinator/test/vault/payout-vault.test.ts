import { SigHash, Transaction } from '@scure/btc-signer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.js';
import { withTransaction } from '../../src/storage/transaction.js';
import { addUtxo, allocateAddress, getUtxo, listAddresses } from '../../src/storage/vault.js';
import type { Withdrawal } from '../../src/storage/withdrawals.js';
import { createPayoutVault } from '../../src/vault/payout-vault.js';
import { deriveAddress } from '../../src/vault/wallet.js';
import { BACKENDS, type TestBackend, unique } from '../storage/backends.js';
import {
  COSIGNERS,
  DEST,
  fundingTx,
  signDigest,
  type TestCosigner,
  thrown,
  txidOf,
  WALLET,
} from './fixtures.js';

const AT = new Date(1_700_000_000_000);
const derive = (branch: 0 | 1, index: number) => deriveAddress(WALLET, branch, index);

function withdrawal(id: string, amount: bigint, script: Uint8Array = DEST.p2wpkh): Withdrawal {
  return {
    id,
    userId: 'u',
    idempotencyKey: id,
    asset: 'BTC',
    destinationScript: script,
    amount,
    state: 'approved',
    stateHistory: [],
    riskOutcome: 'approve',
    riskReasons: [],
    createdAt: 0n,
    updatedAt: 0n,
  };
}

/** Both cosigners' signatures of every input, as two devices would return them. */
function replies(psbt: Uint8Array) {
  const tx = Transaction.fromPSBT(psbt);
  return [0, 2].map((k) => ({
    deviceId: `signer-${k}`,
    signatures: Array.from({ length: tx.inputsLength }, (_, i) => {
      const d = tx.getInput(i).bip32Derivation?.[0]?.[1].path ?? [];
      const [branch, index] = [d[4] ?? 0, d[5] ?? 0];
      const amount = tx.getInput(i).witnessUtxo?.amount ?? 0n;
      const digest = tx.preimageWitnessV0(
        i,
        derive(branch as 0, index).witnessScript,
        SigHash.ALL,
        amount,
      );
      return { input: i, ...signDigest(COSIGNERS[k] as TestCosigner, branch, index, digest) };
    }),
  }));
}

describe.each(BACKENDS)('payout vault adapter on $name', ({ make }) => {
  let backend: TestBackend;
  let database: Database;
  const vault = createPayoutVault({
    wallet: WALLET,
    now: () => AT,
    limits: { minConfirmationsDeposit: 1 },
  });
  beforeAll(async () => {
    backend = await make();
    database = await backend.open();
  });
  afterAll(async () => {
    await database?.close();
    await backend?.cleanup();
  });

  it('plans, reserves, verifies, finalizes and settles a payout; releases another', async () => {
    const receive = [];
    for (let i = 0; i < 2; i++) {
      receive.push(
        await allocateAddress(
          database.db,
          { walletId: WALLET.idHex, branch: 0, userId: 'ann', at: AT },
          derive,
        ),
      );
    }
    const raw = fundingTx(
      receive.map((a) => ({ script: a.script, amount: 800_000n })),
      unique('payout'),
    );
    for (const vout of [0, 1]) await addUtxo(database.db, { rawTx: raw, vout, height: 90, at: AT });

    const none = await withTransaction(database.db, (trx) =>
      vault.plan(trx, [withdrawal('too-big', 5_000_000n)], 2_000n, 100),
    );
    expect(none).toBeNull();

    const planned = await withTransaction(database.db, async (trx) => {
      const p = await vault.plan(
        trx,
        [withdrawal('p-1', 600_000n), withdrawal('p-2', 500_000n, DEST.p2tr)],
        2_000n,
        100,
      );
      if (p === null) throw new Error('expected a plan');
      await p.reserve(trx, 77n);
      return p;
    });
    expect(planned.outputs).toEqual([
      { withdrawalId: 'p-1', outputIndex: 0 },
      { withdrawalId: 'p-2', outputIndex: 1 },
    ]);
    expect(planned.feeRate >= 2_000n).toBe(true);
    const txid = txidOf(raw);
    expect((await getUtxo(database.db, { txid, vout: 0 }))?.state).toBe('reserved');
    expect(
      (await listAddresses(database.db, { walletId: WALLET.idHex, branch: 1 })).length,
    ).toBeGreaterThan(0);

    const [a, c] = replies(planned.psbt);
    if (a === undefined || c === undefined) throw new Error('replies');
    vault.verify(planned.psbt, a.deviceId, a.signatures);
    const bad = {
      ...c,
      signatures: c.signatures.map((s) => ({
        ...s,
        signature: a.signatures[0]?.signature ?? s.signature,
      })),
    };
    expect(thrown(() => vault.verify(planned.psbt, bad.deviceId, bad.signatures)).code).toBe(
      'BAD_REQUEST',
    );
    const { rawTx, txid: spent } = vault.finalize(planned.psbt, [a, c]);
    expect(Transaction.fromRaw(rawTx).id).toBe(spent);

    await withTransaction(database.db, (trx) => vault.settle(trx, 77n, spent));
    expect(await getUtxo(database.db, { txid, vout: 0 })).toMatchObject({
      state: 'spent',
      spentBy: spent,
    });
    expect(await getUtxo(database.db, { txid, vout: 1 })).toMatchObject({
      state: 'spent',
      spentBy: spent,
    });

    // Another funding, planned then released.
    const more = await allocateAddress(
      database.db,
      { walletId: WALLET.idHex, branch: 0, userId: 'ann', at: AT },
      derive,
    );
    const raw2 = fundingTx([{ script: more.script, amount: 400_000n }], unique('payout'));
    await addUtxo(database.db, { rawTx: raw2, vout: 0, height: 95, at: AT });
    await withTransaction(database.db, async (trx) => {
      const p = await vault.plan(trx, [withdrawal('p-3', 100_000n)], 2_000n, 100);
      await p?.reserve(trx, 78n);
    });
    expect((await getUtxo(database.db, { txid: txidOf(raw2), vout: 0 }))?.state).toBe('reserved');
    await withTransaction(database.db, (trx) => vault.release(trx, 78n));
    expect((await getUtxo(database.db, { txid: txidOf(raw2), vout: 0 }))?.state).toBe('available');
  });
});

import { hexToBytes } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import { parseRiskConfig } from '../../src/risk/config.js';
import {
  clearDeposit,
  creditIfDeep,
  type DepositDeps,
  depositDisconnected,
  depositSeenInBlock,
} from '../../src/service/deposits.js';
import type { Database } from '../../src/storage/database.js';
import { balancesByUser } from '../../src/storage/ledger.js';
import { withTransaction } from '../../src/storage/transaction.js';
import { BAD, baseConfig, P2WPKH } from '../risk/fixtures.js';
import { BACKENDS, type TestBackend, unique } from '../storage/backends.js';

const NOW_MS = 1_800_000_000_000;
const HASH = 'ab'.repeat(32);
let n = 0;
const txid = () => (++n).toString(16).padStart(64, '0');

for (const { name, make } of BACKENDS) {
  describe(`deposit state machine on ${name}`, () => {
    let backend: TestBackend;
    let database: Database;
    const deps: DepositDeps = {
      risk: parseRiskConfig(baseConfig),
      confirmations: 2,
      now: () => NOW_MS,
    };
    beforeAll(async () => {
      backend = await make();
      database = await backend.open();
    });
    afterAll(async () => {
      await database.close();
      await backend.cleanup();
    });
    const available = async (userId: string) =>
      (await balancesByUser(database.db, userId))[0]?.balance ?? 0n;
    const state = async (t: string) =>
      (
        await database.db
          .selectFrom('deposits')
          .select('state')
          .where('txid', '=', t)
          .executeTakeFirst()
      )?.state;
    const see = (
      user: string,
      t: string,
      value: bigint,
      height: number,
      tip: number,
      sources = [P2WPKH],
    ) =>
      withTransaction(database.db, (trx) =>
        depositSeenInBlock(
          trx,
          deps,
          {
            txid: t,
            vout: 0,
            value,
            userId: user,
            address: 'bcrt1q',
            sourceScripts: sources.map(hexToBytes),
          },
          height,
          HASH,
          tip,
        ),
      );

    it('credits a clean deposit only at the configured depth, once', async () => {
      const user = unique('u');
      const t = txid();
      await see(user, t, 50_000n, 100, 100);
      expect(await state(t)).toBe('pending');
      expect(await available(user)).toBe(0n);
      await see(user, t, 50_000n, 100, 100); // the same block again: nothing more
      await withTransaction(database.db, (trx) => creditIfDeep(trx, deps, 101));
      expect(await state(t)).toBe('credited');
      expect(await available(user)).toBe(50_000n);
      await withTransaction(database.db, (trx) => creditIfDeep(trx, deps, 102));
      expect(await available(user)).toBe(50_000n);
    });

    it('delays a deposit from a deny-listed source until an operator clears it', async () => {
      const user = unique('u');
      const t = txid();
      await see(user, t, 70_000n, 100, 100, [BAD]);
      expect(await state(t)).toBe('delayed');
      await withTransaction(database.db, (trx) => creditIfDeep(trx, deps, 110));
      expect(await available(user)).toBe(0n);
      const row = await clearDeposit(database.db, deps, t, 0, 'op', 'source checked');
      expect(row.state).toBe('credited');
      expect(await available(user)).toBe(70_000n);
      const again = await clearDeposit(database.db, deps, t, 0, 'op', 'x').catch((e: unknown) => e);
      expect(isCoordinatorError(again, 'INVALID_TRANSITION')).toBe(true);
    });

    it('reverses a credited deposit on a reorg, and books it again as a new epoch', async () => {
      const user = unique('u');
      const t = txid();
      await see(user, t, 30_000n, 100, 101);
      expect(await available(user)).toBe(30_000n);
      await withTransaction(database.db, (trx) => depositDisconnected(trx, deps, t, 0));
      expect(await state(t)).toBe('reversed');
      expect(await available(user)).toBe(0n);
      await withTransaction(database.db, (trx) => depositDisconnected(trx, deps, t, 0));
      expect(await available(user)).toBe(0n);
      await see(user, t, 30_000n, 101, 102);
      expect(await state(t)).toBe('credited');
      expect(await available(user)).toBe(30_000n);
    });

    it('refuses to reverse a credited deposit the user already withdrew (INSUFFICIENT_FUNDS)', async () => {
      const user = unique('u');
      const t = txid();
      await see(user, t, 30_000n, 100, 101);
      // The user's balance is moved away (as a withdrawal reserve would).
      const { withdrawalAccepted } = await import('../../src/ledger/withdrawal-entries.js');
      const { postEntry } = await import('../../src/service/post-entry.js');
      await withTransaction(database.db, (trx) =>
        postEntry(
          trx,
          withdrawalAccepted({
            withdrawalId: unique('w'),
            userId: user,
            amount: 30_000n,
            userFee: 0n,
          }),
          new Date(NOW_MS),
        ),
      );
      const err = await withTransaction(database.db, (trx) =>
        depositDisconnected(trx, deps, t, 0),
      ).catch((e: unknown) => e);
      expect(isCoordinatorError(err, 'INSUFFICIENT_FUNDS')).toBe(true);
      expect(await state(t)).toBe('credited');
    });
  });
}

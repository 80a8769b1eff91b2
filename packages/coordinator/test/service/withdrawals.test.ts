import { hexToBytes } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import { depositCredited } from '../../src/ledger/deposit-entries.js';
import { parseRiskConfig } from '../../src/risk/config.js';
import { scriptToAddress } from '../../src/service/address.js';
import { postEntry } from '../../src/service/post-entry.js';
import {
  approveWithdrawal,
  rejectWithdrawal,
  submitWithdrawal,
  type WithdrawalDeps,
} from '../../src/service/withdrawals.js';
import type { Database } from '../../src/storage/database.js';
import { balancesByUser } from '../../src/storage/ledger.js';
import { withTransaction } from '../../src/storage/transaction.js';
import { BAD, baseConfig, P2WPKH } from '../risk/fixtures.js';
import { BACKENDS, type TestBackend, unique } from '../storage/backends.js';

const NOW_MS = 1_800_000_000_000;
const good = scriptToAddress('regtest', hexToBytes(P2WPKH));
const denied = scriptToAddress('regtest', hexToBytes(BAD));
const flags = { newDevice: false };

for (const { name, make } of BACKENDS) {
  describe(`withdrawal intake on ${name}`, () => {
    let backend: TestBackend;
    let database: Database;
    let deps: WithdrawalDeps;
    beforeAll(async () => {
      backend = await make();
      database = await backend.open();
      deps = {
        db: database.db,
        network: 'regtest',
        risk: parseRiskConfig({
          ...baseConfig,
          withdrawal: { ...baseConfig.withdrawal, firstTimeDestination: 'allow' },
        }),
        now: () => NOW_MS,
      };
    });
    afterAll(async () => {
      await database.close();
      await backend.cleanup();
    });

    async function fund(userId: string, amount: bigint) {
      await withTransaction(database.db, (trx) =>
        postEntry(
          trx,
          depositCredited({ depositId: unique('d'), userId, amount }),
          new Date(NOW_MS),
        ),
      );
    }
    const available = async (userId: string) =>
      (await balancesByUser(database.db, userId))[0]?.balance ?? 0n;

    it('approves, reserves the funds, and a replay returns the same withdrawal', async () => {
      const user = unique('u');
      await fund(user, 50_000_000n);
      const input = {
        userId: user,
        idempotencyKey: 'k1',
        address: good,
        amount: 10_000_000n,
        flags,
      };
      const first = await submitWithdrawal(deps, input);
      expect(first.created).toBe(true);
      expect(first.withdrawal.state).toBe('approved');
      expect(first.withdrawal.id).toMatch(/^w_[a-z2-7]{26}$/);
      expect(await available(user)).toBe(40_000_000n);
      const again = await submitWithdrawal(deps, input);
      expect(again.created).toBe(false);
      expect(again.withdrawal.id).toBe(first.withdrawal.id);
      expect(await available(user)).toBe(40_000_000n);
    });

    it('refuses the same key with a different body, writing nothing', async () => {
      const user = unique('u');
      await fund(user, 50_000_000n);
      await submitWithdrawal(deps, {
        userId: user,
        idempotencyKey: 'k',
        address: good,
        amount: 1_000_000n,
        flags,
      });
      const err = await submitWithdrawal(deps, {
        userId: user,
        idempotencyKey: 'k',
        address: good,
        amount: 2_000_000n,
        flags,
      }).catch((e: unknown) => e);
      expect(isCoordinatorError(err, 'DUPLICATE')).toBe(true);
      expect(await available(user)).toBe(49_000_000n);
    });

    it('refuses an unfunded withdrawal with INSUFFICIENT_FUNDS and stores nothing', async () => {
      const user = unique('u');
      await fund(user, 1_000n);
      const err = await submitWithdrawal(deps, {
        userId: user,
        idempotencyKey: 'k',
        address: good,
        amount: 5_000n,
        flags,
      }).catch((e: unknown) => e);
      expect(isCoordinatorError(err, 'INSUFFICIENT_FUNDS')).toBe(true);
      const rows = await database.db
        .selectFrom('withdrawals')
        .selectAll()
        .where('user_id', '=', user)
        .execute();
      expect(rows).toEqual([]);
    });

    it('rejects a deny-listed destination with its reason and reserves nothing', async () => {
      const user = unique('u');
      await fund(user, 50_000_000n);
      const { withdrawal } = await submitWithdrawal(deps, {
        userId: user,
        idempotencyKey: 'k',
        address: denied,
        amount: 1_000_000n,
        flags,
      });
      expect(withdrawal.state).toBe('rejected');
      expect(withdrawal.riskReasons?.[0]).toMatch(/^DESTINATION_DENIED/);
      expect(await available(user)).toBe(50_000_000n);
    });

    it('holds a flagged withdrawal; an operator approves one and rejects another (funds return)', async () => {
      const user = unique('u');
      await fund(user, 50_000_000n);
      const held = await submitWithdrawal(deps, {
        userId: user,
        idempotencyKey: 'a',
        address: good,
        amount: 1_000_000n,
        flags: { newDevice: true },
      });
      expect(held.withdrawal.state).toBe('held');
      expect(held.withdrawal.riskReasons?.some((r) => r.startsWith('NEW_DEVICE'))).toBe(true);
      const approved = await approveWithdrawal(deps, held.withdrawal.id, 'op1', 'called the user');
      expect(approved.state).toBe('approved');
      const held2 = await submitWithdrawal(deps, {
        userId: user,
        idempotencyKey: 'b',
        address: good,
        amount: 2_000_000n,
        flags: { newDevice: true },
      });
      expect(await available(user)).toBe(47_000_000n);
      const rejected = await rejectWithdrawal(deps, held2.withdrawal.id, 'op1', 'fraud');
      expect(rejected.state).toBe('rejected');
      expect(await available(user)).toBe(49_000_000n);
      const twice = await rejectWithdrawal(deps, held2.withdrawal.id, 'op1', 'again').catch(
        (e: unknown) => e,
      );
      expect(isCoordinatorError(twice, 'INVALID_TRANSITION')).toBe(true);
      expect(await available(user)).toBe(49_000_000n);
    });

    it('never overdraws under concurrent submissions (20 racing for funds that cover 10)', async () => {
      const user = unique('u');
      await fund(user, 1_000_000n);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          submitWithdrawal(deps, {
            userId: user,
            idempotencyKey: `race-${i}`,
            address: good,
            amount: 100_000n,
            flags,
          }),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      const refused = results.filter(
        (r) => r.status === 'rejected' && isCoordinatorError(r.reason, 'INSUFFICIENT_FUNDS'),
      ).length;
      expect(ok).toBe(10);
      expect(refused).toBe(10);
      expect(await available(user)).toBe(0n);
    });

    it('refuses an address of another network as malformed', async () => {
      const err = await submitWithdrawal(deps, {
        userId: unique('u'),
        idempotencyKey: 'k',
        address: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq',
        amount: 1_000n,
        flags,
      }).catch((e: unknown) => e);
      expect(isCoordinatorError(err, 'BAD_REQUEST')).toBe(true);
    });
  });
}

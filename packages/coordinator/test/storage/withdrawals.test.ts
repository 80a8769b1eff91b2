import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import type { Database } from '../../src/storage/database.js';
import { withTransaction } from '../../src/storage/transaction.js';
import {
  getWithdrawal,
  insertWithdrawal,
  type WithdrawalInput,
} from '../../src/storage/withdrawals.js';
import { BACKENDS, type TestBackend, unique } from './backends.js';

const AT = new Date(1_700_000_000_000);
const SCRIPT = Uint8Array.from([0x00, 0x14, ...new Array<number>(20).fill(0xab)]);
const catchErr = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe.each(BACKENDS)('withdrawals on $name', ({ make }) => {
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

  const input = (over: Partial<WithdrawalInput> = {}): WithdrawalInput => ({
    id: unique('wd'),
    userId: 'alice',
    idempotencyKey: unique('key'),
    asset: 'BTC',
    destinationScript: SCRIPT,
    amount: 2_099_999_999_999_999n,
    state: 'received',
    at: AT,
    ...over,
  });

  it('inserts a withdrawal and reads it back exactly', async () => {
    const w = input();
    const r = await insertWithdrawal(database.db, w);
    expect(r.created).toBe(true);
    const got = await getWithdrawal(database.db, w.id);
    expect(got).toEqual(r.withdrawal);
    expect(got.amount).toBe(2_099_999_999_999_999n);
    expect(got.destinationScript).toEqual(SCRIPT);
    expect(got.stateHistory).toEqual([{ state: 'received', at: 1_700_000_000_000n }]);
    expect(got.riskOutcome).toBeNull();
    expect(got.createdAt).toBe(1_700_000_000_000n);
  });

  it('the same request again returns the stored record, not a second withdrawal', async () => {
    const w = input();
    const first = await insertWithdrawal(database.db, w);
    // A retry carries a fresh id and time; content (asset, amount, script) is the same.
    const again = await insertWithdrawal(database.db, {
      ...w,
      id: unique('wd'),
      at: new Date(1_800_000_000_000),
      destinationScript: Uint8Array.from(SCRIPT),
    });
    expect(again.created).toBe(false);
    expect(again.withdrawal).toEqual(first.withdrawal);
    const rows = await database.db
      .selectFrom('withdrawals')
      .select('id')
      .where('idempotency_key', '=', w.idempotencyKey)
      .execute();
    expect(rows.length).toBe(1);
  });

  it('the same key with other content is DUPLICATE (attack: redirect or inflate a payout)', async () => {
    const w = input();
    await insertWithdrawal(database.db, w);
    const other = Uint8Array.from(SCRIPT);
    other[21] = 0xcd;
    for (const change of [{ amount: w.amount + 1n }, { destinationScript: other }]) {
      const err = await catchErr(
        insertWithdrawal(database.db, { ...w, id: unique('wd'), ...change }),
      );
      expect(isCoordinatorError(err, 'DUPLICATE')).toBe(true);
    }
    expect((await getWithdrawal(database.db, w.id)).amount).toBe(w.amount);
  });

  it('the key is per user: another user may use the same key', async () => {
    const w = input();
    await insertWithdrawal(database.db, w);
    const r = await insertWithdrawal(database.db, { ...w, id: unique('wd'), userId: 'bob' });
    expect(r.created).toBe(true);
  });

  it('an id already used by another request is DUPLICATE', async () => {
    const w = input();
    await insertWithdrawal(database.db, w);
    const err = await catchErr(insertWithdrawal(database.db, input({ id: w.id })));
    expect(isCoordinatorError(err, 'DUPLICATE')).toBe(true);
  });

  it('concurrent identical requests create exactly one withdrawal', async () => {
    const w = input();
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        withTransaction(database.db, (trx) => insertWithdrawal(trx, { ...w, id: unique('wd') })),
      ),
    );
    expect(results.filter((r) => r.created).length).toBe(1);
    expect(new Set(results.map((r) => r.withdrawal.id)).size).toBe(1);
  });

  it('rejects malformed input with a coded error and writes nothing', async () => {
    const cases: [Partial<WithdrawalInput>, string][] = [
      [{ amount: 0n }, 'BAD_AMOUNT'],
      [{ amount: 2_100_000_000_000_001n }, 'BAD_AMOUNT'],
      [{ amount: 5 as unknown as bigint }, 'BAD_AMOUNT'],
      [{ destinationScript: new Uint8Array(0) }, 'BAD_REQUEST'],
      [{ destinationScript: new Uint8Array(521) }, 'BAD_REQUEST'],
      [{ idempotencyKey: '' }, 'BAD_REQUEST'],
      [{ id: 'x'.repeat(65) }, 'BAD_REQUEST'],
      [{ asset: 'bitcoin' }, 'BAD_REQUEST'],
      [{ state: 'Bad State' }, 'BAD_REQUEST'],
      [{ at: new Date(Number.NaN) }, 'BAD_REQUEST'],
    ];
    for (const [over, code] of cases) {
      const w = input(over);
      const err = await catchErr(insertWithdrawal(database.db, w));
      expect((err as { code?: string }).code, JSON.stringify(Object.keys(over))).toBe(code);
      expect((err as Error).message).toMatch(/^withdrawals\/insert/);
    }
  });

  it('a missing withdrawal is NOT_FOUND', async () => {
    expect(
      isCoordinatorError(await catchErr(getWithdrawal(database.db, 'nope')), 'NOT_FOUND'),
    ).toBe(true);
  });
});

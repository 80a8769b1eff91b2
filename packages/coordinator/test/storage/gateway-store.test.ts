import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_EFFECTS } from '../../src/gateway/scan-block.js';
import type { Database } from '../../src/storage/database.js';
import { SqlGatewayStore } from '../../src/storage/gateway-store.js';
import { BACKENDS, type TestBackend } from './backends.js';

const h = (n: number) => n.toString(16).padStart(64, '0');
const block = (height: number) => ({
  height,
  hash: h(1000 + height),
  previousHash: height === 0 ? '0'.repeat(64) : h(1000 + height - 1),
  effects: {
    ...NO_EFFECTS,
    received: [
      {
        txid: h(height + 1),
        vout: 0,
        value: 5_000n,
        scriptPubKey: new Uint8Array([0, 0x20, ...new Uint8Array(32).fill(height)]),
        owner: `0/${height}`,
        coinbase: false,
      },
    ],
  },
});

for (const { name, make } of BACKENDS) {
  describe(`gateway cursor store on ${name}`, () => {
    let backend: TestBackend;
    let database: Database;
    beforeAll(async () => {
      backend = await make();
      database = await backend.open();
    });
    afterAll(async () => {
      await database.close();
      await backend.cleanup();
    });

    it('connects blocks with their work in one transaction, trims, disconnects the tip, and survives reopen', async () => {
      const store = new SqlGatewayStore(database.db, () => 1);
      expect(await store.load()).toBeNull();
      let work = 0;
      for (let i = 0; i < 4; i++) {
        const prev = i === 0 ? null : { height: i - 1, hash: h(1000 + i - 1) };
        await store.commit(
          { kind: 'connect', block: block(i), expectedTip: prev, keepFrom: i - 2 },
          async () => {
            work += 1;
          },
        );
      }
      expect(work).toBe(4);
      const c = await store.load();
      expect(c?.blocks.map((b) => b.height)).toEqual([1, 2, 3]);
      expect(c?.blocks[2]?.effects.received[0]?.value).toBe(5_000n);
      await store.commit(
        { kind: 'disconnect', block: { height: 3, hash: h(1003) } },
        async () => undefined,
      );
      const again = await new SqlGatewayStore(database.db, () => 2).load();
      expect(again?.blocks.map((b) => b.height)).toEqual([1, 2]);
    });

    it('refuses an update that does not fit the stored tip and rolls back the work', async () => {
      const store = new SqlGatewayStore(database.db, () => 1);
      const err = await store
        .commit(
          {
            kind: 'connect',
            block: block(9),
            expectedTip: { height: 8, hash: h(1008) },
            keepFrom: 0,
          },
          async (trx) => {
            await trx
              .insertInto('settings')
              .values({ key: 'probe', value: 'x', updated_at: 1n })
              .execute();
          },
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      const probe = await database.db
        .selectFrom('settings')
        .selectAll()
        .where('key', '=', 'probe')
        .execute();
      expect(probe).toEqual([]);
    });

    it('rolls back the cursor when the consumer work fails', async () => {
      const store = new SqlGatewayStore(database.db, () => 1);
      const before = await store.load();
      const tip = before?.blocks.at(-1);
      const err = await store
        .commit(
          {
            kind: 'connect',
            block: block(3),
            expectedTip: tip === undefined ? null : { height: tip.height, hash: tip.hash },
            keepFrom: 0,
          },
          async () => {
            throw new Error('consumer failed');
          },
        )
        .catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/consumer failed/);
      expect((await store.load())?.blocks.length).toBe(before?.blocks.length);
    });
  });
}

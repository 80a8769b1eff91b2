/**
 * The gateway's cursor in the database (the GatewayStore port of gateway/store.ts): one row per
 * processed block of the last `reorgDepth`, with its effects, so a disconnect can reverse them.
 * `commit` checks the update against the stored tip INSIDE the same transaction as the consumer's
 * work and the cursor write, so a block's effects and the cursor move together or not at all,
 * and a second coordinator writing the same database is refused (the compare fails).
 */
import type { Kysely, Transaction } from 'kysely';
import {
  applyCursorUpdate,
  type CursorUpdate,
  decodeCursor,
  EMPTY_CURSOR,
  encodeProcessedBlock,
  type GatewayCursor,
} from '../gateway/cursor.js';
import type { GatewayStore } from '../gateway/store.js';
import type { Schema } from './schema.js';
import { withTransaction } from './transaction.js';

async function loadIn(db: Kysely<Schema>): Promise<GatewayCursor | null> {
  const rows = await db.selectFrom('gateway_blocks').selectAll().orderBy('height').execute();
  if (rows.length === 0) return null;
  return decodeCursor(
    rows.map((r) => ({
      height: Number(r.height),
      hash: r.hash,
      previousHash: r.previous_hash,
      effects: JSON.parse(r.effects) as unknown,
    })),
  );
}

export class SqlGatewayStore implements GatewayStore<Transaction<Schema>> {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly now: () => number,
  ) {}

  load(): Promise<GatewayCursor | null> {
    return loadIn(this.db);
  }

  async commit(
    update: CursorUpdate,
    work: (tx: Transaction<Schema>) => Promise<void>,
  ): Promise<void> {
    await withTransaction(this.db, async (trx) => {
      const current = (await loadIn(trx)) ?? EMPTY_CURSOR;
      // Throws (fatal cursor_moved) when the stored tip is not where the update expects it.
      applyCursorUpdate(current, update);
      await work(trx);
      if (update.kind === 'connect') {
        const b = encodeProcessedBlock(update.block);
        await trx
          .insertInto('gateway_blocks')
          .values({
            height: BigInt(b.height),
            hash: b.hash,
            previous_hash: b.previousHash,
            effects: JSON.stringify(b.effects),
            processed_at: BigInt(this.now()),
          })
          .execute();
        await trx
          .deleteFrom('gateway_blocks')
          .where('height', '<', BigInt(update.keepFrom))
          .execute();
      } else {
        await trx
          .deleteFrom('gateway_blocks')
          .where('height', '=', BigInt(update.block.height))
          .where('hash', '=', update.block.hash)
          .execute();
      }
    });
  }
}

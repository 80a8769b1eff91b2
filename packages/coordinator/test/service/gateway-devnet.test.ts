/**
 * The gateway against the embedded devnet over real HTTP on loopback (issue 5 §4): a deposit to a
 * wallet address is found, booked and credited; `invalidateblock` and a longer competing branch
 * reorganise its block away and the credit is reversed; the new branch includes the transaction
 * again and it is credited again, as a new epoch (net: once).
 * Every piece is the production one: BitcoindBackend → ChainFollower → SqlGatewayStore →
 * handleBlockEvent → deposits + ledger on SQLite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitcoindBackend } from '../../src/chain/bitcoind-backend.js';
import { parseFollowerConfig } from '../../src/gateway/config.js';
import { ChainFollower } from '../../src/gateway/follower.js';
import { OutpointIndex, ScriptIndex } from '../../src/gateway/watch-index.js';
import { parseRiskConfig } from '../../src/risk/config.js';
import { handleBlockEvent } from '../../src/service/chain-events.js';
import type { Database } from '../../src/storage/database.js';
import { SqlGatewayStore } from '../../src/storage/gateway-store.js';
import { balancesByUser } from '../../src/storage/ledger.js';
import { allocateAddress } from '../../src/storage/vault.js';
import { deriveAddress } from '../../src/vault/wallet.js';
import { baseConfig } from '../risk/fixtures.js';
import { sqliteBackend, type TestBackend } from '../storage/backends.js';
import { WALLET } from '../vault/fixtures.js';

interface Devnet {
  readonly url: string;
  readonly rpcUser: string;
  readonly rpcPassword: string;
  close(): Promise<void>;
}
const mod = (await import('@keyline/devnet').catch(() => ({}))) as { startDevnet?: unknown };
const startDevnet = mod.startDevnet as ((o: { port: number }) => Promise<Devnet>) | undefined;

describe.skipIf(startDevnet === undefined)('gateway over the devnet node (real HTTP)', () => {
  let dev: Devnet;
  let backend: BitcoindBackend;
  let db: TestBackend;
  let database: Database;
  let follower: ChainFollower<unknown>;
  let miner: string;
  const scripts = new ScriptIndex();
  const outpoints = new OutpointIndex();
  const now = () => 1_800_000_000_000;

  beforeAll(async () => {
    dev = await (startDevnet as NonNullable<typeof startDevnet>)({ port: 0 });
    backend = BitcoindBackend.fromConfig({
      url: dev.url,
      user: dev.rpcUser,
      password: dev.rpcPassword,
      retries: 1,
    });
    miner = await backend.rpc.getnewaddress();
    await backend.rpc.generatetoaddress(101, miner);
    db = sqliteBackend();
    database = await db.open();
    const risk = parseRiskConfig({
      ...baseConfig,
      deposit: { ...baseConfig.deposit, denySourceScriptPubKeys: [] },
    });
    follower = new ChainFollower({
      backend,
      store: new SqlGatewayStore(database.db, now),
      scripts,
      outpoints,
      config: parseFollowerConfig({ network: 'regtest', startHeight: 0, pollIntervalMs: 1 }),
      handler: (event, trx) =>
        handleBlockEvent({ risk, confirmations: 1, now, backend }, event, trx as never),
    }) as ChainFollower<unknown>;
  }, 60_000);
  afterAll(async () => {
    await database?.close();
    await db?.cleanup();
    await dev?.close();
  });

  const credited = async (user: string) =>
    (await balancesByUser(database.db, user))[0]?.balance ?? 0n;
  const state = async (txid: string) =>
    (
      await database.db
        .selectFrom('deposits')
        .select('state')
        .where('txid', '=', txid)
        .executeTakeFirst()
    )?.state;

  it('credits a deposit, reverses the credit when a reorg removes its block, and books it once more when the new branch includes it', async () => {
    const address = await allocateAddress(
      database.db,
      { walletId: WALLET.idHex, branch: 0, userId: 'alice', at: new Date(now()) },
      (b, i) => deriveAddress(WALLET, b, i),
    );
    scripts.add(address.script, '0/0');
    const txid = await backend.rpc.sendtoaddress(address.address, 25_000_000n);
    const [hash] = await backend.rpc.generatetoaddress(1, miner);
    await follower.poll();
    expect(await state(txid)).toBe('credited');
    expect(await credited('alice')).toBe(25_000_000n);
    const utxo = await database.db
      .selectFrom('vault_utxos')
      .selectAll()
      .where('txid', '=', txid)
      .execute();
    expect(utxo).toHaveLength(1);

    // A competing branch: invalidate the deposit's block and mine two blocks over its parent.
    // The deposit went back to the mempool, so the new branch includes it again: the follower
    // reverses the old block's credit, then books the deposit again as epoch 1 — net once.
    await backend.rpc.invalidateblock(hash as string);
    await backend.rpc.generatetoaddress(2, miner);
    await follower.poll();
    const entries = await database.db
      .selectFrom('journal_entries')
      .select(['kind', 'reference'])
      .where('reference', 'like', `${txid}:%`)
      .orderBy('id')
      .execute();
    expect(entries.map((e) => e.kind)).toEqual([
      'deposit_seen',
      'deposit_credited',
      'deposit_reversed',
      'deposit_seen',
      'deposit_credited',
    ]);
    expect(entries.at(-1)?.reference).toBe(`${txid}:0#1`);
    expect(await state(txid)).toBe('credited');
    expect(await credited('alice')).toBe(25_000_000n);
    const row = await database.db
      .selectFrom('deposits')
      .selectAll()
      .where('txid', '=', txid)
      .executeTakeFirstOrThrow();
    expect(row.epoch).toBe(1n);
    expect(row.block_hash).not.toBe(hash);
    expect(
      await database.db.selectFrom('vault_utxos').selectAll().where('txid', '=', txid).execute(),
    ).toHaveLength(1);
  });
});

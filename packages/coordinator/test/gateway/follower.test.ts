import { describe, expect, it } from 'vitest';
import type { ChainBlock } from '../../src/chain/interface.js';
import { CoordinatorError, isCoordinatorError } from '../../src/errors.js';
import {
  backoffDelay,
  type CursorUpdate,
  InMemoryGatewayStore,
  isGatewayFatal,
  OutpointIndex,
  outpointKey,
  type RetryReport,
  realSleep,
  ScriptIndex,
  type TipReport,
} from '../../src/gateway/index.js';
import { FakeChain, makeTx, wsh } from './fake-chain.js';
import { fakeSleep, rig, WalletView } from './helpers.js';

const FUND = 'f0'.repeat(32);

function watched(): ScriptIndex {
  const s = new ScriptIndex();
  s.add(wsh('dep-1'), 'addr-1');
  s.add(wsh('dep-2'), 'addr-2');
  return s;
}

/** genesis + 5 blocks: a deposit to dep-1 in block 2, its spend in block 4. */
function chainWithDepositAndSpend() {
  const chain = new FakeChain();
  chain.mine();
  const pay = makeTx({
    inputs: [{ txid: FUND, vout: 0 }],
    outputs: [
      { script: wsh('dep-1'), value: 70_000n },
      { script: wsh('stranger'), value: 1n },
    ],
    witness: true,
  });
  chain.mine([pay]);
  chain.mine();
  const spend = makeTx({
    inputs: [{ txid: pay.txid, vout: 0 }],
    outputs: [{ script: wsh('withdrawal'), value: 60_000n }],
  });
  chain.mine([spend]);
  chain.mine();
  return { chain, pay, spend };
}

async function fatalOf(p: Promise<unknown>): Promise<CoordinatorError> {
  try {
    await p;
  } catch (e) {
    if (isCoordinatorError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('ChainFollower: following the tip', () => {
  it('processes every block from startHeight once, in order, and reports deposits and spends', async () => {
    const { chain, pay, spend } = chainWithDepositAndSpend();
    const tips: TipReport[] = [];
    const r = rig(chain, { scripts: watched(), onTip: (t) => void tips.push(t) });
    const res = await r.follower.poll();
    expect(res).toMatchObject({ connected: 5, disconnected: 0 });
    expect(r.view.trail()).toEqual(['+1', '+2', '+3', '+4', '+5']);
    expect([...r.view.received]).toEqual([[outpointKey(pay.txid, 0), 70_000n]]);
    expect([...r.view.spent]).toEqual([[outpointKey(pay.txid, 0), spend.txid]]);
    expect(r.outpoints.size).toBe(0);
    expect(r.store.cursor?.blocks.map((b) => b.height)).toEqual([1, 2, 3, 4, 5]);
    expect(tips).toEqual([
      {
        tip: { height: 5, hash: chain.active[5] },
        processed: { height: 5, hash: chain.active[5] },
        backendBehind: false,
      },
    ]);
    // Nothing new: a second poll does nothing.
    expect(await r.follower.poll()).toMatchObject({ connected: 0, disconnected: 0 });
    chain.mine();
    expect(await r.follower.poll()).toMatchObject({ connected: 1 });
    expect(r.view.trail()).toEqual(['+1', '+2', '+3', '+4', '+5', '+6']);
  });

  it('keeps the outpoint index in step: an output received earlier is known when spent', async () => {
    const { chain, pay } = chainWithDepositAndSpend();
    chain.active.splice(4); // keep genesis..3: the deposit, not yet the spend
    const r = rig(chain, { scripts: watched() });
    await r.follower.poll();
    expect(r.outpoints.has(pay.txid, 0)).toBe(true);
    expect(r.outpoints.get(pay.txid, 0)?.owner).toBe('addr-1');
  });

  it('waits for the start height, and starts there (blocks below are never fetched)', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(3);
    const r = rig(chain, { config: { startHeight: 5 } });
    expect(await r.follower.poll()).toMatchObject({ connected: 0 });
    chain.mineEmpty(3);
    await r.follower.poll();
    expect(r.view.trail()).toEqual(['+5', '+6']);
  });

  it('keeps only reorgDepth + 1 blocks of history', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(12);
    const r = rig(chain, { config: { reorgDepth: 4 } });
    await r.follower.poll();
    expect(r.store.cursor?.blocks.map((b) => b.height)).toEqual([8, 9, 10, 11, 12]);
  });

  it('reports a tracked transaction confirmed in a block', async () => {
    const chain = new FakeChain();
    const tx = makeTx({
      inputs: [{ txid: FUND, vout: 1 }],
      outputs: [{ script: wsh('w'), value: 5n }],
    });
    chain.mine([tx]);
    const r = rig(chain, { tracked: new Set([tx.txid]) });
    await r.follower.poll();
    expect([...r.view.confirmedTracked]).toEqual([[tx.txid, 1]]);
  });

  it('refuses a second poll while one runs (INVALID_TRANSITION)', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(3);
    const r = rig(chain);
    const first = r.follower.poll();
    await expect(r.follower.poll()).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
    await first;
    expect(r.view.trail()).toEqual(['+1', '+2', '+3']);
  });

  it('refuses a backend on another network (fatal BAD_CONFIG), before any block', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(2);
    chain.net = 'mainnet';
    const r = rig(chain);
    const e = await fatalOf(r.follower.run());
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.detail.reason).toBe('wrong_network');
    expect(r.view.calls).toBe(0);
  });

  it('waits, without disconnecting, while the backend is behind us on the same chain', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(6);
    const r = rig(chain);
    await r.follower.poll();
    const saved = chain.active.splice(4); // the node now only knows up to height 3
    const res = await r.follower.poll();
    expect(res).toMatchObject({ connected: 0, disconnected: 0 });
    expect(res.report.backendBehind).toBe(true);
    chain.active.push(...saved);
    expect(await r.follower.poll()).toMatchObject({ connected: 0, disconnected: 0 });
    expect(r.view.trail()).toEqual(['+1', '+2', '+3', '+4', '+5', '+6']);
  });
});

describe('ChainFollower: exactly once', () => {
  it('a block whose handler fails once is retried and processed once', async () => {
    const { chain, pay } = chainWithDepositAndSpend();
    const view = new WalletView();
    const retries: RetryReport[] = [];
    const ac = new AbortController();
    const { sleep, delays } = fakeSleep(() => {
      if (view.events.length === 5) ac.abort();
    });
    view.failOnceAt = 2;
    const r = rig(chain, { scripts: watched(), view, sleep, onRetry: (x) => void retries.push(x) });
    await r.follower.run(ac.signal);
    expect(view.trail()).toEqual(['+1', '+2', '+3', '+4', '+5']);
    expect([...view.received.keys()]).toEqual([outpointKey(pay.txid, 0)]);
    expect(view.calls).toBe(6); // five blocks and the one failed attempt
    expect(r.store.commits).toBe(5);
    expect(retries).toHaveLength(1);
    expect((retries[0]!.error as Error).message).toBe('wallet-view: injected handler failure');
    expect(delays[0]).toBe(500);
  });

  it('restarts from the stored cursor without re-processing', async () => {
    const { chain } = chainWithDepositAndSpend();
    const store = new InMemoryGatewayStore();
    const first = rig(chain, { scripts: watched(), store });
    await first.follower.poll();
    chain.mineEmpty(2);
    // A new process: same store, indexes rebuilt by the owner from its records.
    const outpoints = new OutpointIndex();
    for (const o of first.outpoints.values()) outpoints.add(o);
    const second = rig(chain, { scripts: watched(), store, outpoints });
    await second.follower.poll();
    expect(second.view.trail()).toEqual(['+6', '+7']);
    expect(store.cursor?.blocks.at(-1)?.height).toBe(7);
  });

  it('a commit that lands but reports failure is settled from the store, not replayed', async () => {
    const { chain, pay } = chainWithDepositAndSpend();
    chain.active.splice(3); // genesis, 1, 2 (the deposit)
    class FlakyStore extends InMemoryGatewayStore {
      throwAfter = 2;
      override async commit(update: CursorUpdate, work: (tx: undefined) => Promise<void>) {
        await super.commit(update, work);
        if (update.kind === 'connect' && update.block.height === this.throwAfter) {
          this.throwAfter = -1;
          throw new Error('connection lost during COMMIT');
        }
      }
    }
    const store = new FlakyStore();
    const r = rig(chain, { scripts: watched(), store });
    await expect(r.follower.poll()).rejects.toThrow('connection lost during COMMIT');
    chain.mine();
    await r.follower.poll();
    expect(r.view.trail()).toEqual(['+1', '+2', '+3']);
    // The landed commit's effects reached the in-memory index too.
    expect(r.outpoints.has(pay.txid, 0)).toBe(true);
  });

  it('a cursor moved by another writer stops the follower (fatal cursor_moved)', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(3);
    const store = new InMemoryGatewayStore();
    const a = rig(chain, { store });
    await a.follower.poll();
    // Another process with its own follower on the same store moves on first.
    chain.mineEmpty(1);
    await rig(chain, { store }).follower.poll();
    chain.mineEmpty(1);
    const e = await fatalOf(a.follower.poll());
    expect(isGatewayFatal(e)).toBe(true);
    expect(e.detail.reason).toBe('cursor_moved');
  });

  it('a stored cursor that is not a linked chain is refused (fatal bad_cursor)', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(3);
    const a = rig(chain);
    await a.follower.poll();
    const blocks = a.store.cursor!.blocks;
    const broken = { blocks: [blocks[0]!, blocks[2]!] };
    const r = rig(chain, { store: new InMemoryGatewayStore(broken) });
    const e = await fatalOf(r.follower.poll());
    expect(e.detail.reason).toBe('bad_cursor');
    expect(r.view.calls).toBe(0);
  });
});

describe('ChainFollower: backend failures', () => {
  it('backend down: retries with capped exponential backoff, then continues without a gap', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(4);
    const view = new WalletView();
    const ac = new AbortController();
    const { sleep, delays } = fakeSleep(() => {
      if (view.events.length === 4) ac.abort();
    });
    const retries: RetryReport[] = [];
    const r = rig(chain, {
      view,
      sleep,
      config: { backoff: { initialMs: 100, maxMs: 1_000 }, pollIntervalMs: 30_000 },
      onRetry: (x) => void retries.push(x),
    });
    chain.failCalls = 7;
    await r.follower.run(ac.signal);
    // Seven failed calls, each a retry with its backoff; then the poll interval once caught up.
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000, 30_000]);
    expect(retries.map((x) => x.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(retries.every((x) => isCoordinatorError(x.error, 'CHAIN_UNAVAILABLE'))).toBe(true);
    expect(view.trail()).toEqual(['+1', '+2', '+3', '+4']);
  });

  it('a failure in the middle of catching up resumes at the next block, never skipping one', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(6);
    const view = new WalletView();
    const ac = new AbortController();
    const { sleep } = fakeSleep(() => {
      if (view.events.length === 6) ac.abort();
    });
    const r = rig(chain, { view, sleep });
    // Let network/tip/blocks 1..2 through, then fail on some calls while going on.
    const origBlock = chain.block.bind(chain);
    let n = 0;
    chain.block = async (hash: string) => {
      n += 1;
      if (n === 3 || n === 4 || n === 6) throw new CoordinatorError('CHAIN_UNAVAILABLE', 'flap');
      return origBlock(hash);
    };
    await r.follower.run(ac.signal);
    expect(view.trail()).toEqual(['+1', '+2', '+3', '+4', '+5', '+6']);
  });

  it('a malformed block from the backend is not processed: CHAIN_BAD_RESPONSE, retried', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(2);
    const good = chain.blockAt(2);
    const bad: ChainBlock[] = [
      { ...good, hash: 'ab'.repeat(32) },
      { ...good, height: 7 },
      { ...good, transactions: good.transactions.slice(1) },
      {
        ...good,
        transactions: [
          {
            ...good.transactions[0]!,
            outputs: [{ value: 2_100_000_000_000_001n, scriptPubKey: new Uint8Array([0x51]) }],
          },
        ],
      },
      { ...good, previousHash: 'XYZ' },
    ];
    const origBlock = chain.block.bind(chain);
    let serve: ChainBlock | null = null;
    chain.block = async (hash: string) =>
      serve !== null && hash === good.hash ? serve : origBlock(hash);
    const r = rig(chain);
    for (const b of bad) {
      serve = b;
      const e = await fatalOf(r.follower.poll());
      expect(e.code).toBe('CHAIN_BAD_RESPONSE');
      expect(isGatewayFatal(e)).toBe(false);
    }
    expect(r.view.trail()).toEqual(['+1']);
    serve = null;
    await r.follower.poll();
    expect(r.view.trail()).toEqual(['+1', '+2']);
  });

  it('run() with the real sleep stops when aborted, leaving no timer behind', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(2);
    const ac = new AbortController();
    const r = rig(chain, {
      sleep: realSleep,
      config: { pollIntervalMs: 3_600_000 },
      onTip: () => void setImmediate(() => ac.abort()),
    });
    await r.follower.run(ac.signal);
    expect(r.view.trail()).toEqual(['+1', '+2']);
    await realSleep(3_600_000, ac.signal); // already aborted: returns at once
  });

  it('backoffDelay doubles from initialMs and stops at maxMs', () => {
    const b = { initialMs: 500, maxMs: 60_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 100].map((a) => backoffDelay(a, b))).toEqual([
      500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000,
    ]);
  });
});

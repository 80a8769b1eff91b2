import { describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import {
  findFork,
  isGatewayFatal,
  outpointKey,
  type ProcessedBlock,
  ScriptIndex,
} from '../../src/gateway/index.js';
import { NO_EFFECTS } from '../../src/gateway/scan-block.js';
import { FakeChain, makeTx, wsh } from './fake-chain.js';
import { rig } from './helpers.js';

const FUND = 'f0'.repeat(32);

function watched(): ScriptIndex {
  const s = new ScriptIndex();
  s.add(wsh('dep-1'), 'addr-1');
  s.add(wsh('change'), 'change');
  return s;
}

const pay = (vout: number, value: bigint, lockTime = 0) =>
  makeTx({
    inputs: [{ txid: FUND, vout }],
    outputs: [{ script: wsh('dep-1'), value }],
    lockTime,
  });

describe('reorgs', () => {
  it('depth 1: the replaced block is reversed, then the new branch is processed', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(4);
    const deposit = pay(0, 10_000n);
    chain.mine([deposit]); // height 5
    const r = rig(chain, { scripts: watched() });
    await r.follower.poll();
    expect(r.view.received.has(outpointKey(deposit.txid, 0))).toBe(true);
    expect(r.outpoints.has(deposit.txid, 0)).toBe(true);

    chain.reorg(1, [[], []]); // 5' (without the deposit), 6'
    const res = await r.follower.poll();
    expect(res).toMatchObject({ connected: 2, disconnected: 1 });
    expect(r.view.trail().slice(5)).toEqual(['-5', '+5', '+6']);
    const undo = r.view.events[5];
    expect(undo?.type === 'block_disconnected' && undo.reversed.received[0]?.txid).toBe(
      deposit.txid,
    );
    expect(r.view.received.size).toBe(0);
    expect(r.outpoints.size).toBe(0);
    expect(r.store.cursor?.blocks.at(-1)?.hash).toBe(chain.active[6]);
  });

  it('depth 3: reversals newest first, then the new branch; a deposit moved to another block', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(4);
    const d5 = pay(0, 1_000n);
    const d6 = pay(1, 2_000n);
    const d7 = pay(2, 3_000n);
    chain.mine([d5]);
    chain.mine([d6]);
    chain.mine([d7]);
    const r = rig(chain, { scripts: watched() });
    await r.follower.poll();
    const oldHashes = chain.active.slice(5, 8);

    // The new branch keeps d6 (one block later), drops d5 and d7, adds d9.
    const d9 = pay(3, 4_000n);
    chain.reorg(3, [[], [], [d6], [d9]]);
    await r.follower.poll();
    expect(r.view.trail().slice(7)).toEqual(['-7', '-6', '-5', '+5', '+6', '+7', '+8']);
    const undone = r.view.events.slice(7, 10).map((e) => e.hash);
    expect(undone).toEqual([...oldHashes].reverse());
    expect(new Set(r.view.received.keys())).toEqual(
      new Set([outpointKey(d6.txid, 0), outpointKey(d9.txid, 0)]),
    );
    expect(r.outpoints.size).toBe(2);
  });

  it('a reversed spend gives the output back to the index, and a new spend is seen', async () => {
    const chain = new FakeChain();
    const deposit = pay(0, 50_000n);
    chain.mine([deposit]); // 1
    const spendA = makeTx({
      inputs: [{ txid: deposit.txid, vout: 0 }],
      outputs: [{ script: wsh('dest-a'), value: 40_000n }],
    });
    chain.mine([spendA]); // 2
    const r = rig(chain, { scripts: watched() });
    await r.follower.poll();
    expect(r.outpoints.size).toBe(0);

    chain.reorg(1, [[]]); // spendA is gone
    await r.follower.poll();
    expect(r.outpoints.has(deposit.txid, 0)).toBe(true);
    expect(r.view.spent.size).toBe(0);

    const spendB = makeTx({
      inputs: [{ txid: deposit.txid, vout: 0 }],
      outputs: [{ script: wsh('dest-b'), value: 39_000n }],
    });
    chain.mine([spendB]);
    await r.follower.poll();
    expect([...r.view.spent.values()]).toEqual([spendB.txid]);
    expect(r.outpoints.size).toBe(0);
  });

  it('a reorg deeper than reorgDepth stops the follower (fatal) and disconnects nothing', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(10);
    const r = rig(chain, { config: { reorgDepth: 3 } });
    await r.follower.poll();
    const before = r.store.cursor;
    chain.reorg(5, [[], [], [], [], [], []]);
    let error: unknown;
    try {
      await r.follower.poll();
    } catch (e) {
      error = e;
    }
    expect(isGatewayFatal(error)).toBe(true);
    expect(isCoordinatorError(error) && error.detail.reason).toBe('reorg_too_deep');
    expect(r.store.cursor).toBe(before);
    expect(r.view.events.filter((e) => e.type === 'block_disconnected')).toHaveLength(0);
    // run() does not retry it either: it rejects.
    await expect(r.follower.run()).rejects.toMatchObject({ detail: { reason: 'reorg_too_deep' } });
  });

  it('a reorg of exactly reorgDepth blocks is handled', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(10);
    const r = rig(chain, { config: { reorgDepth: 3 } });
    await r.follower.poll();
    chain.reorg(3, [[], [], []]);
    await r.follower.poll();
    expect(r.view.trail().slice(10)).toEqual(['-10', '-9', '-8', '+8', '+9', '+10']);
  });

  it('a fork below the start height, with the full history kept, re-processes from the start', async () => {
    const chain = new FakeChain();
    chain.mineEmpty(4);
    const r = rig(chain, { config: { startHeight: 3 } });
    await r.follower.poll();
    chain.reorg(3, [[], [], [], []]); // replaces 2..4 with 2'..5'
    await r.follower.poll();
    expect(r.view.trail()).toEqual(['+3', '+4', '-4', '-3', '+3', '+4', '+5']);
  });
});

describe('findFork', () => {
  const blocks: ProcessedBlock[] = [10, 11, 12].map((h) => ({
    height: h,
    hash: `${h}`.padStart(64, '0'),
    previousHash: `${h - 1}`.padStart(64, '0'),
    effects: NO_EFFECTS,
  }));
  const chainOf = (m: Record<number, string | null>) => async (h: number) =>
    h in m ? (m[h] ?? null) : null;
  const same = (h: number) => `${h}`.padStart(64, '0');

  it('none when our tip is on the chain; behind when the node has none of our heights', async () => {
    expect(
      await findFork(blocks, chainOf({ 10: same(10), 11: same(11), 12: same(12) }), 0),
    ).toEqual({
      kind: 'none',
    });
    expect(await findFork(blocks, chainOf({ 10: same(10), 11: same(11) }), 0)).toEqual({
      kind: 'none',
    });
    expect(await findFork(blocks, chainOf({}), 0)).toEqual({ kind: 'behind' });
  });

  it('counts the blocks above the fork point, a shorter replacing branch included', async () => {
    const other = 'ff'.repeat(32);
    expect(await findFork(blocks, chainOf({ 10: same(10), 11: same(11), 12: other }), 0)).toEqual({
      kind: 'fork',
      disconnect: 1,
    });
    expect(await findFork(blocks, chainOf({ 10: same(10), 11: other }), 0)).toEqual({
      kind: 'fork',
      disconnect: 2,
    });
  });

  it('no fork point: everything when history starts at startHeight, else fatal', async () => {
    const other = 'ff'.repeat(32);
    const all = chainOf({ 10: other, 11: other, 12: other });
    expect(await findFork(blocks, all, 10)).toEqual({ kind: 'fork', disconnect: 3 });
    await expect(findFork(blocks, all, 5)).rejects.toMatchObject({
      code: 'INTERNAL',
      detail: { fatal: true, reason: 'reorg_too_deep' },
    });
  });
});

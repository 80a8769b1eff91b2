import { Transaction } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import {
  type BroadcastEvent,
  Broadcaster,
  isConflictReason,
  parseBroadcastConfig,
  ScriptIndex,
} from '../../src/gateway/index.js';
import { FakeChain, makeTx, wsh } from './fake-chain.js';
import { rig } from './helpers.js';

const FUND = 'f0'.repeat(32);

function setup(config: Record<string, unknown> = {}) {
  const chain = new FakeChain();
  chain.mineEmpty(2);
  const b = new Broadcaster(chain, parseBroadcastConfig({ confirmDepth: 3, ...config }));
  const tx = makeTx({
    inputs: [{ txid: FUND, vout: 0 }],
    outputs: [{ script: wsh('customer'), value: 90_000n }],
    witness: true,
  });
  return { chain, b, tx };
}

const types = (events: BroadcastEvent[]) => events.map((e) => e.type);

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isCoordinatorError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe('Broadcaster: byte identity', () => {
  it('refuses bytes that do not hash to the tracked txid (a swapped transaction)', () => {
    const { b, tx } = setup();
    const other = makeTx({
      inputs: [{ txid: FUND, vout: 0 }],
      outputs: [{ script: wsh('attacker'), value: 90_000n }],
    });
    expect(code(() => b.track(tx.txid, other.raw))).toBe('BAD_REQUEST');
    const tampered = tx.raw.slice();
    const at = tampered.length - 10; // inside the output script
    tampered[at] = (tampered[at] ?? 0) ^ 1;
    expect(code(() => b.track(tx.txid, tampered))).toBe('BAD_REQUEST');
    expect(b.size).toBe(0);
  });

  it('refuses bytes that are not exactly one transaction', () => {
    const { b, tx } = setup();
    expect(code(() => b.track(tx.txid, new Uint8Array([1, 2, 3])))).toBe('BAD_REQUEST');
    expect(code(() => b.track(tx.txid, new Uint8Array([...tx.raw, 0])))).toBe('BAD_REQUEST');
    expect(code(() => b.track(tx.txid, new Uint8Array(0)))).toBe('BAD_REQUEST');
  });

  it('refuses the same txid with other witness bytes (DUPLICATE); same bytes again is fine', () => {
    const { b, tx } = setup();
    b.track(tx.txid, tx.raw);
    const t = Transaction.fromRaw(tx.raw, { allowUnknownOutputs: true, allowUnknownInputs: true });
    t.updateInput(0, { finalScriptWitness: [new Uint8Array([9, 9, 9])] }, true);
    const rewitnessed = t.toBytes(true, true);
    expect(t.id).toBe(tx.txid);
    expect(code(() => b.track(tx.txid, rewitnessed))).toBe('DUPLICATE');
    b.track(tx.txid, tx.raw);
    expect(b.size).toBe(1);
  });

  it('keeps its own copy: changing the caller buffer later changes nothing sent', async () => {
    const { chain, b, tx } = setup();
    const mine = tx.raw.slice();
    b.track(tx.txid, mine);
    mine.fill(0);
    await b.tick();
    expect(chain.broadcasts[0]).toEqual(tx.raw);
  });
});

describe('Broadcaster: until buried', () => {
  it('sends, re-sends the identical bytes while not in mempool or chain, stops at depth D', async () => {
    const { chain, b, tx } = setup();
    b.track(tx.txid, tx.raw);
    expect(await b.tick()).toEqual([{ type: 'sent', txid: tx.txid, first: true }]);
    expect(types(await b.tick())).toEqual(['in_mempool']);
    chain.mempool.clear(); // evicted
    expect(await b.tick()).toEqual([{ type: 'sent', txid: tx.txid, first: false }]);
    chain.mine([tx]);
    expect(await b.tick()).toEqual([{ type: 'confirming', txid: tx.txid, confirmations: 1 }]);
    // A reorg takes it out of the chain and the node forgets it: it is sent again.
    chain.reorg(1, [[]]);
    chain.mempool.clear();
    expect(types(await b.tick())).toEqual(['sent']);
    chain.mine([tx]);
    chain.mineEmpty(1);
    expect(await b.tick()).toEqual([{ type: 'confirming', txid: tx.txid, confirmations: 2 }]);
    chain.mineEmpty(1);
    expect(await b.tick()).toEqual([{ type: 'final', txid: tx.txid, confirmations: 3 }]);
    expect(b.has(tx.txid)).toBe(false);
    chain.mineEmpty(1);
    expect(await b.tick()).toEqual([]);
    expect(chain.broadcasts).toHaveLength(3);
    for (const sent of chain.broadcasts) expect(sent).toEqual(tx.raw);
  });

  it('a conflict (our input spent by another transaction) is reported once and stops sending', async () => {
    const { chain, b, tx } = setup();
    const thief = makeTx({
      inputs: [{ txid: FUND, vout: 0 }],
      outputs: [{ script: wsh('elsewhere'), value: 89_000n }],
    });
    chain.mine([thief]);
    b.track(tx.txid, tx.raw);
    const events = await b.tick();
    expect(events).toEqual([
      { type: 'conflict', txid: tx.txid, reason: 'bad-txns-inputs-missingorspent' },
    ]);
    expect(b.state(tx.txid)).toBe('conflict');
    expect(await b.tick()).toEqual([]);
    expect(chain.broadcasts).toHaveLength(1);
    // Still known to the follower as ours: if it ever confirms, the block reports it.
    expect(b.has(tx.txid)).toBe(true);
  });

  it('a mempool conflict is a conflict too', async () => {
    const { chain, b, tx } = setup();
    const other = makeTx({
      inputs: [{ txid: FUND, vout: 0 }],
      outputs: [{ script: wsh('elsewhere'), value: 1n }],
    });
    await chain.broadcast(other.raw);
    b.track(tx.txid, tx.raw);
    expect(await b.tick()).toEqual([
      { type: 'conflict', txid: tx.txid, reason: 'txn-mempool-conflict' },
    ]);
  });

  it('other rejections are retried a bounded number of times, then given up and reported', async () => {
    const { chain, b, tx } = setup({ maxRejections: 3 });
    b.track(tx.txid, tx.raw);
    chain.rejectQueue.push(
      'mempool min fee not met',
      'mempool min fee not met',
      'min relay fee not met',
    );
    expect(await b.tick()).toEqual([
      { type: 'rejected', txid: tx.txid, reason: 'mempool min fee not met', count: 1 },
    ]);
    expect(types(await b.tick())).toEqual(['rejected']);
    expect(await b.tick()).toEqual([
      { type: 'gave_up', txid: tx.txid, reason: 'min relay fee not met', count: 3 },
    ]);
    expect(await b.tick()).toEqual([]);
    expect(chain.broadcasts).toHaveLength(3);
    // The owner looked into it and tracks it again: it is sent.
    b.track(tx.txid, tx.raw);
    expect(types(await b.tick())).toEqual(['sent']);
  });

  it('a success resets the rejection count', async () => {
    const { chain, b, tx } = setup({ maxRejections: 2 });
    b.track(tx.txid, tx.raw);
    chain.rejectQueue.push('too-long-mempool-chain');
    expect(types(await b.tick())).toEqual(['rejected']);
    expect(types(await b.tick())).toEqual(['sent']);
    chain.mempool.clear();
    chain.rejectQueue.push('too-long-mempool-chain');
    expect(types(await b.tick())).toEqual(['rejected']);
    expect(b.state(tx.txid)).toBe('active');
  });

  it('backend down: one unavailable event, the tick ends, the next tick goes on', async () => {
    const { chain, b, tx } = setup();
    const tx2 = makeTx({
      inputs: [{ txid: FUND, vout: 1 }],
      outputs: [{ script: wsh('c2'), value: 5n }],
    });
    b.track(tx.txid, tx.raw);
    b.track(tx2.txid, tx2.raw);
    chain.down = true;
    const events = await b.tick();
    expect(types(events)).toEqual(['unavailable']);
    expect(events[0]?.type === 'unavailable' && events[0].error.code).toBe('CHAIN_UNAVAILABLE');
    chain.down = false;
    expect(types(await b.tick())).toEqual(['sent', 'sent']);
    expect(chain.broadcasts.map((x) => x.length)).toEqual([tx.raw.length, tx2.raw.length]);
  });

  it('a node answering another txid is treated as a bad response, not as sent', async () => {
    const { chain, b, tx } = setup();
    b.track(tx.txid, tx.raw);
    chain.broadcast = async () => 'ab'.repeat(32);
    const events = await b.tick();
    expect(events[0]?.type === 'unavailable' && events[0].error.code).toBe('CHAIN_BAD_RESPONSE');
  });

  it('a bad answer about one transaction does not stop the others in the tick', async () => {
    const { chain, b, tx } = setup();
    const tx2 = makeTx({
      inputs: [{ txid: FUND, vout: 1 }],
      outputs: [{ script: wsh('c2'), value: 5n }],
    });
    b.track(tx.txid, tx.raw);
    b.track(tx2.txid, tx2.raw);
    const status = chain.transactionStatus.bind(chain);
    chain.transactionStatus = async (txid) =>
      txid === tx.txid
        ? ({ inMempool: 'maybe', confirmations: 0, blockHash: null } as never)
        : status(txid);
    const events = await b.tick();
    expect(types(events)).toEqual(['unavailable', 'sent']);
    expect(events[0]?.type === 'unavailable' && events[0].error.code).toBe('CHAIN_BAD_RESPONSE');
  });

  it('the follower reports a tracked transaction confirmed in a block', async () => {
    const { chain, b, tx } = setup();
    b.track(tx.txid, tx.raw);
    await b.tick();
    chain.mine([tx]);
    const r = rig(chain, { scripts: new ScriptIndex(), tracked: b });
    await r.follower.poll();
    expect([...r.view.confirmedTracked]).toEqual([[tx.txid, 3]]);
  });
});

describe('isConflictReason', () => {
  it('recognises Core reject reasons, also inside an Esplora error text', () => {
    for (const r of [
      'txn-mempool-conflict',
      'bad-txns-inputs-missingorspent',
      'missing-inputs',
      'Missing inputs',
      'insufficient fee, rejecting replacement 1234, less fees than conflicting txs',
      'sendrawtransaction RPC error: {"code":-26,"message":"txn-mempool-conflict"}',
    ]) {
      expect(isConflictReason(r)).toBe(true);
    }
    for (const r of ['min relay fee not met', 'mempool min fee not met', 'non-final', 'dust']) {
      expect(isConflictReason(r)).toBe(false);
    }
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChainBlock, ChainTransaction } from '../../src/chain/interface.js';
import {
  applyEffects,
  confirmations,
  NO_EFFECTS,
  OutpointIndex,
  outpointKey,
  revertEffects,
  ScriptIndex,
  scanBlock,
} from '../../src/gateway/index.js';
import { makeCoinbase, makeTx, wsh } from './fake-chain.js';

const PREV = 'ee'.repeat(32);

function block(transactions: ChainTransaction[], height = 10): ChainBlock {
  return { hash: 'bb'.repeat(32), height, previousHash: 'aa'.repeat(32), time: 1, transactions };
}

function indexes() {
  const scripts = new ScriptIndex();
  scripts.add(wsh('deposit-1'), 'addr-1');
  scripts.add(wsh('change-0'), 'change-0');
  return { scripts, outpoints: new OutpointIndex() };
}

describe('scanBlock', () => {
  it('detects a deposit: value, vout, owner, not coinbase; a copy of the script', () => {
    const idx = indexes();
    const tx = makeTx({
      inputs: [{ txid: PREV, vout: 0 }],
      outputs: [
        { script: wsh('someone'), value: 7n },
        { script: wsh('deposit-1'), value: 150_000n },
      ],
      witness: true,
    });
    const e = scanBlock(block([makeCoinbase('c'), tx]), idx);
    expect(e.spent).toEqual([]);
    expect(e.received).toHaveLength(1);
    const r = e.received[0]!;
    expect(r).toMatchObject({ txid: tx.txid, vout: 1, value: 150_000n, owner: 'addr-1' });
    expect(r.coinbase).toBe(false);
    expect(r.scriptPubKey).toEqual(wsh('deposit-1'));
    expect(r.scriptPubKey).not.toBe(tx.outputs[1]!.scriptPubKey);
    expect(Object.isFrozen(e)).toBe(true);
    // Pure: the indexes are untouched.
    expect(idx.outpoints.size).toBe(0);
  });

  it('marks outputs of a coinbase paying us', () => {
    const cb = makeCoinbase('c', [{ script: wsh('change-0'), value: 50n }]);
    const e = scanBlock(block([cb]), indexes());
    expect(e.received[0]).toMatchObject({ owner: 'change-0', coinbase: true, vout: 0 });
  });

  it('detects a spend of one of our outpoints, with the spending txid and input index', () => {
    const idx = indexes();
    const ours = { txid: 'cd'.repeat(32), vout: 3 };
    idx.outpoints.add({
      ...ours,
      value: 9_000n,
      scriptPubKey: wsh('change-0'),
      owner: 'change-0',
      coinbase: false,
    });
    const spend = makeTx({
      inputs: [{ txid: PREV, vout: 1 }, ours],
      outputs: [{ script: wsh('withdrawal-dest'), value: 8_000n }],
    });
    const e = scanBlock(block([makeCoinbase('c'), spend]), idx);
    expect(e.received).toEqual([]);
    expect(e.spent).toHaveLength(1);
    expect(e.spent[0]).toMatchObject({ spendingTxid: spend.txid, inputIndex: 1 });
    expect(e.spent[0]!.output).toMatchObject({ ...ours, value: 9_000n });
    expect(idx.outpoints.has(ours.txid, ours.vout)).toBe(true);
  });

  it('sees an output received and spent inside the same block', () => {
    const idx = indexes();
    const pay = makeTx({
      inputs: [{ txid: PREV, vout: 0 }],
      outputs: [{ script: wsh('deposit-1'), value: 500n }],
    });
    const sweep = makeTx({
      inputs: [{ txid: pay.txid, vout: 0 }],
      outputs: [{ script: wsh('cold'), value: 400n }],
    });
    const e = scanBlock(block([makeCoinbase('c'), pay, sweep]), idx);
    expect(e.received.map((r) => r.txid)).toEqual([pay.txid]);
    expect(e.spent.map((s) => s.spendingTxid)).toEqual([sweep.txid]);
    // Applying then reverting leaves the index as it was: without the output.
    applyEffects(idx.outpoints, e);
    expect(idx.outpoints.size).toBe(0);
    revertEffects(idx.outpoints, e);
    expect(idx.outpoints.size).toBe(0);
  });

  it('reports tracked transactions the block contains', () => {
    const tx = makeTx({
      inputs: [{ txid: PREV, vout: 5 }],
      outputs: [{ script: wsh('x'), value: 1n }],
    });
    const tracked = new Set([tx.txid, 'ff'.repeat(32)]);
    const e = scanBlock(block([makeCoinbase('c'), tx]), { ...indexes(), tracked });
    expect(e.confirmedTracked).toEqual([tx.txid]);
  });

  it('a block that does not touch us gives NO_EFFECTS', () => {
    const tx = makeTx({
      inputs: [{ txid: PREV, vout: 5 }],
      outputs: [{ script: wsh('x'), value: 1n }],
    });
    expect(scanBlock(block([makeCoinbase('c'), tx]), indexes())).toBe(NO_EFFECTS);
  });

  it('property: applyEffects then revertEffects restores the outpoint index', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ pay: fc.boolean(), spendPrior: fc.nat(5), spendFresh: fc.boolean() }),
          {
            maxLength: 8,
          },
        ),
        (steps) => {
          const idx = indexes();
          const prior = Array.from({ length: 6 }, (_, i) => ({ txid: `${i}`.repeat(64), vout: i }));
          for (const p of prior) {
            idx.outpoints.add({
              ...p,
              value: 1n,
              scriptPubKey: wsh('change-0'),
              owner: 'o',
              coinbase: false,
            });
          }
          const before = [...idx.outpoints.values()].map((o) => outpointKey(o.txid, o.vout)).sort();
          const txs: ChainTransaction[] = [makeCoinbase('c')];
          let lastPaid: { txid: string; vout: number } | null = null;
          steps.forEach((s, i) => {
            const inputs = [{ txid: PREV, vout: i }, prior[s.spendPrior]!];
            if (s.spendFresh && lastPaid !== null) inputs.push(lastPaid);
            const tx = makeTx({
              inputs,
              outputs: [{ script: s.pay ? wsh('deposit-1') : wsh('x'), value: 10n }],
            });
            if (s.pay) lastPaid = { txid: tx.txid, vout: 0 };
            txs.push(tx);
          });
          const e = scanBlock(block(txs), idx);
          applyEffects(idx.outpoints, e);
          revertEffects(idx.outpoints, e);
          const after = [...idx.outpoints.values()].map((o) => outpointKey(o.txid, o.vout)).sort();
          expect(after).toEqual(before);
        },
      ),
      { numRuns: 50, seed: 5_002 },
    );
  });
});

describe('confirmations', () => {
  it('is tip - height + 1, and 0 above the tip', () => {
    expect(confirmations(100, 100)).toBe(1);
    expect(confirmations(95, 100)).toBe(6);
    expect(confirmations(101, 100)).toBe(0);
  });
});

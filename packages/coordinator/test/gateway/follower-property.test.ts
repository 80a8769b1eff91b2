/**
 * Property: on random chains with random reorgs, polled at random moments, the consumer's view
 * built only from the follower's events (received minus reversed, spent minus reversed) equals a
 * naive recomputation from the final active chain — and so does the follower's outpoint index.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChainTransaction } from '../../src/chain/interface.js';
import { outpointKey, ScriptIndex } from '../../src/gateway/index.js';
import { FakeChain, makeCoinbase, makeTx, wsh } from './fake-chain.js';
import { recompute, rig } from './helpers.js';

const OURS = ['a0', 'a1', 'a2'].map((l) => wsh(l));
const THEIRS = wsh('stranger');
const START = 2;

type Op =
  | { kind: 'mine'; txs: number; payMask: number; spendPick: number; coinbasePaysUs: boolean }
  | { kind: 'reorg'; depth: number; extra: number; payMask: number }
  | { kind: 'poll' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('mine' as const),
      txs: fc.integer({ min: 0, max: 3 }),
      payMask: fc.nat(63),
      spendPick: fc.nat(10),
      coinbasePaysUs: fc.boolean(),
    }),
    weight: 5,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('reorg' as const),
      depth: fc.integer({ min: 1, max: 4 }),
      extra: fc.integer({ min: 0, max: 2 }),
      payMask: fc.nat(63),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('poll' as const) }), weight: 3 },
);

describe('ChainFollower property', () => {
  it('view from events = recomputation from the final active chain', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const chain = new FakeChain();
        chain.mineEmpty(START);
        const scripts = new ScriptIndex();
        for (const [i, s] of OURS.entries()) scripts.add(s, `addr-${i}`);
        const isOurs = (s: Uint8Array) => scripts.has(s);
        const r = rig(chain, { scripts, config: { startHeight: START, reorgDepth: 6 } });
        let serial = 0;

        /** Unspent outputs of ours on the current active chain (what can be spent next). */
        const ourUnspent = () => {
          const blocks = chain.active.map((_, h) => chain.blockAt(h));
          const { received, spent } = recompute(blocks, isOurs);
          return [...received.keys()].filter((k) => !spent.has(k));
        };
        const txsFor = (count: number, payMask: number, spendPick: number): ChainTransaction[] => {
          const txs: ChainTransaction[] = [];
          const spendable = ourUnspent();
          for (let i = 0; i < count; i++) {
            serial += 1;
            const inputs = [{ txid: 'f0'.repeat(32), vout: serial }];
            const pick = spendable[(spendPick + i) % Math.max(1, spendable.length)];
            if (pick !== undefined && (spendPick + i) % 2 === 0) {
              const [txid, vout] = pick.split(':');
              inputs.push({ txid: txid as string, vout: Number(vout) });
              spendable.splice(spendable.indexOf(pick), 1);
            }
            const pays = (payMask >> (i * 2)) & 3;
            const outputs = [
              {
                script: pays === 0 ? THEIRS : (OURS[pays - 1] as Uint8Array),
                value: BigInt(1_000 + serial),
              },
              { script: THEIRS, value: 1n },
            ];
            const tx = makeTx({ inputs, outputs, witness: serial % 2 === 0 });
            // A later transaction of the same block may spend it (received and spent in one block).
            if (pays !== 0) spendable.unshift(outpointKey(tx.txid, 0));
            txs.push(tx);
          }
          return txs;
        };

        for (const op of ops) {
          if (op.kind === 'poll') {
            await r.follower.poll();
          } else if (op.kind === 'mine') {
            serial += 1;
            const cb = op.coinbasePaysUs
              ? makeCoinbase(`cb${serial}`, [{ script: OURS[0] as Uint8Array, value: 50n }])
              : undefined;
            chain.mine(txsFor(op.txs, op.payMask, op.spendPick), cb);
          } else {
            const depth = Math.min(op.depth, chain.height - START); // never below the start
            if (depth < 1) continue;
            chain.active.splice(chain.active.length - depth, depth);
            for (let i = 0; i < depth + op.extra; i++) {
              chain.mine(txsFor(1 + (i % 2), op.payMask >> i, i));
            }
          }
        }
        await r.follower.poll();

        const finalBlocks = chain.active.slice(START).map((_, i) => chain.blockAt(START + i));
        const expected = recompute(finalBlocks, isOurs);
        expect(new Map(r.view.received)).toEqual(expected.received);
        expect(new Map(r.view.spent)).toEqual(expected.spent);
        const unspent = [...expected.received.keys()].filter((k) => !expected.spent.has(k)).sort();
        const index = [...r.outpoints.values()].map((o) => outpointKey(o.txid, o.vout)).sort();
        expect(index).toEqual(unspent);
        expect(r.store.cursor?.blocks.at(-1)?.hash).toBe(chain.active[chain.height]);
      }),
      { numRuns: 150, seed: 5_003 },
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeviceMemory, SpendRecord } from '../../src/device-memory.js';
import { evaluatePolicy, type PolicyDecision } from '../../src/policy/evaluate.js';
import type { VerifiedIntent } from '../../src/policy/intent.js';
import type { PolicyRuleInput } from '../../src/policy/rules.js';
import type { TxSummary } from '../../src/tx-summary.js';
import { applyRecord, compiled, DAY, intent, memory, NOW, script, summary } from './fixtures.js';

const RUNS = { numRuns: 150 };
const DENIED = script(666);

/** A policy with every rule kind, lenient enough that many random transactions sign. */
const rulesArb: fc.Arbitrary<PolicyRuleInput[]> = fc
  .record({
    perTx: fc.bigInt(50_000n, 3_000_000n),
    perOut: fc.bigInt(10_000n, 1_000_000n),
    velAmount: fc.bigInt(100_000n, 10_000_000n),
    fee: fc.bigInt(500n, 20_000n),
  })
  .map(({ perTx, perOut, velAmount, fee }) => [
    { type: 'denyDestinations', scripts: [DENIED, script(667)] },
    { type: 'maxPerTransaction', maxAmount: perTx },
    { type: 'maxPerOutput', maxAmount: perOut },
    { type: 'velocity', windowSeconds: DAY, maxAmount: velAmount, maxCount: 20 },
    { type: 'maxFee', absolute: fee, feerateMsatPerVb: fee * 10n },
  ]);

const txArb = fc.record({
  amounts: fc.array(fc.bigInt(1n, 600_000n), { minLength: 1, maxLength: 4 }),
  fee: fc.bigInt(100n, 20_000n),
  scripts: fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 4, maxLength: 4 }),
});
const spendsArb = fc.array(
  fc.record({ ago: fc.integer({ min: -5, max: 3 * DAY }), amount: fc.bigInt(0n, 2_000_000n) }),
  { maxLength: 10 },
);

function spendsOf(list: { ago: number; amount: bigint }[]): SpendRecord[] {
  return list.map((s, i) => ({
    at: NOW - s.ago,
    txid: `t${i}`,
    amount: s.amount,
    fee: 0n,
    outpoints: [],
    withdrawalIds: [],
  }));
}

function makeTx(t: { amounts: bigint[]; fee: bigint; scripts: number[] }): TxSummary {
  return summary({
    external: t.amounts.map((amount, i) => ({ script: script(t.scripts[i] ?? 1), amount })),
    fee: t.fee,
  });
}

function evalWith(
  rules: PolicyRuleInput[],
  tx: TxSummary,
  mem: DeviceMemory,
  intents: VerifiedIntent[] = [],
  now = NOW,
): PolicyDecision {
  return evaluatePolicy({ summary: tx, intents, policy: compiled(rules), memory: mem, now });
}

describe('evaluatePolicy properties', () => {
  it('adding a deny-listed destination to any signable transaction makes it refused', () => {
    fc.assert(
      fc.property(
        rulesArb,
        txArb,
        spendsArb,
        fc.bigInt(0n, 100_000n),
        (rules, t, spends, amount) => {
          const mem = memory({ spends: spendsOf(spends) });
          const tx = makeTx(t);
          fc.pre(evalWith(rules, tx, mem).decision === 'sign');
          const ext = tx.outputs.map((o) => ({ script: o.scriptPubKey, amount: o.amount }));
          const worse = summary({ external: [...ext, { script: DENIED, amount }], fee: tx.fee });
          const d = evalWith(rules, worse, mem);
          expect(d).toMatchObject({
            decision: 'refuse',
            reason: 'DESTINATION_DENIED',
            output: ext.length,
          });
        },
      ),
      RUNS,
    );
  });

  it('raising an amount never turns a refusal into a sign', () => {
    fc.assert(
      fc.property(
        rulesArb,
        txArb,
        spendsArb,
        fc.nat(3),
        fc.bigInt(1n, 1_000_000n),
        (rules, t, spends, which, raise) => {
          const mem = memory({ spends: spendsOf(spends) });
          const i = which % t.amounts.length;
          const raised = { ...t, amounts: t.amounts.map((a, j) => (j === i ? a + raise : a)) };
          if (evalWith(rules, makeTx(t), mem).decision === 'refuse') {
            expect(evalWith(rules, makeTx(raised), mem).decision).toBe('refuse');
          }
        },
      ),
      RUNS,
    );
  });

  it('velocity sums are exact at the window boundaries', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 * DAY }),
        fc.bigInt(1n, 10n ** 9n),
        fc.bigInt(0n, 10n ** 9n),
        (win, inWin, outflowExtra) => {
          const rule: PolicyRuleInput[] = [
            {
              type: 'velocity',
              windowSeconds: win,
              maxAmount: inWin + 1_000n + outflowExtra,
              maxCount: 100,
            },
          ];
          // 1000 sat fee, external outflowExtra (or nothing if 0) -> outflow = 1000 + outflowExtra
          const ext = outflowExtra > 0n ? [{ script: script(1), amount: outflowExtra }] : [];
          const tx = summary({ external: ext, fee: 1_000n });
          const at = (t: number, amount: bigint): SpendRecord => ({
            at: t,
            txid: 'x',
            amount,
            fee: 0n,
            outpoints: [],
            withdrawalIds: [],
          });
          // exactly at the cap: the record at now - win + 1 is inside, at now - win outside
          const inside = memory({ spends: [at(NOW - win + 1, inWin), at(NOW - win, 10n ** 12n)] });
          expect(evalWith(rule, tx, inside).decision).toBe('sign');
          // one satoshi more inside the window (at now) refuses
          const over = memory({ spends: [at(NOW - win + 1, inWin), at(NOW, 1n)] });
          expect(evalWith(rule, tx, over)).toMatchObject({
            decision: 'refuse',
            reason: 'VELOCITY_AMOUNT',
          });
        },
      ),
      RUNS,
    );
  });

  it('failClosed refuses anything counting against velocity', () => {
    fc.assert(
      fc.property(rulesArb, txArb, (rules, t) => {
        const d = evalWith(rules, makeTx(t), memory({ failClosed: true }));
        expect(d.decision).toBe('refuse');
      }),
      RUNS,
    );
  });

  it('an expired policy signs nothing', () => {
    fc.assert(
      fc.property(rulesArb, txArb, fc.integer({ min: 0, max: 10 ** 9 }), (rules, t, after) => {
        const p = compiled(rules);
        const d = evaluatePolicy({
          summary: makeTx(t),
          intents: [],
          policy: p,
          memory: memory(),
          now: p.document.expiresAt + after,
        });
        expect(d).toMatchObject({ decision: 'refuse', reason: 'POLICY_EXPIRED' });
      }),
      RUNS,
    );
  });

  describe('replayed withdrawal ids', () => {
    const W = script(5);
    const outpointsArb = fc.uniqueArray(fc.integer({ min: 1, max: 40 }), {
      minLength: 1,
      maxLength: 5,
    });
    const firstPaid = (rules: PolicyRuleInput[], ins: number[], fee: bigint) => {
      const tx = summary({
        external: [{ script: W, amount: 70_000n }],
        inputs: ins.map((b) => [b, 0]),
        fee,
        txidByte: 0x01,
      });
      const d = evalWith(rules, tx, memory(), [intent('w', W, 70_000n)]);
      if (d.decision !== 'sign') throw new Error('first payment must sign');
      return applyRecord(memory(), d.record);
    };

    it('disjoint inputs are always refused', () => {
      fc.assert(
        fc.property(outpointsArb, outpointsArb, fc.bigInt(0n, 100_000n), (a, b, bump) => {
          fc.pre(a.every((x) => !b.includes(x)));
          const rules: PolicyRuleInput[] = [
            { type: 'requireIntents' },
            { type: 'maxReplacementFeeBump', maxBump: 10n ** 9n, maxReplacements: 10 },
          ];
          const mem = firstPaid(rules, a, 1_000n);
          const tx = summary({
            external: [{ script: W, amount: 70_000n }],
            inputs: b.map((x) => [x, 0]),
            fee: 1_000n + bump,
            txidByte: 0x02,
          });
          expect(evalWith(rules, tx, mem, [intent('w', W, 70_000n)])).toMatchObject({
            decision: 'refuse',
            reason: 'DOUBLE_PAYMENT',
          });
        }),
        RUNS,
      );
    });

    it('conflicting inputs and identical output are accepted exactly up to the bump cap', () => {
      fc.assert(
        fc.property(
          outpointsArb,
          outpointsArb,
          fc.bigInt(0n, 5_000n),
          fc.bigInt(0n, 5_000n),
          (a, extra, cap, bump) => {
            const rules: PolicyRuleInput[] = [
              { type: 'requireIntents' },
              { type: 'maxReplacementFeeBump', maxBump: cap, maxReplacements: 10 },
            ];
            const mem = firstPaid(rules, a, 1_000n);
            const shared = a[0] ?? 1;
            const ins = [...new Set([shared, ...extra])];
            const tx = summary({
              external: [{ script: W, amount: 70_000n }],
              inputs: ins.map((x) => [x, 0]),
              fee: 1_000n + bump,
              txidByte: 0x02,
            });
            const d = evalWith(rules, tx, mem, [intent('w', W, 70_000n)]);
            if (bump <= cap) expect(d.decision).toBe('sign');
            else expect(d).toMatchObject({ decision: 'refuse', reason: 'REPLACEMENT_FEE_BUMP' });
          },
        ),
        RUNS,
      );
    });
  });
});

import { describe, expect, it } from 'vitest';
import type { DeviceMemory } from '../../src/device-memory.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import {
  type EvaluationInput,
  evaluatePolicy,
  type PolicyDecision,
} from '../../src/policy/evaluate.js';
import type { VerifiedIntent } from '../../src/policy/intent.js';
import { REFUSAL_REASONS } from '../../src/policy/reasons.js';
import type { PolicyRuleInput } from '../../src/policy/rules.js';
import type { TxSummary } from '../../src/tx-summary.js';
import { applyRecord, compiled, DAY, intent, memory, NOW, script, summary } from './fixtures.js';

const seen = new Set<string>();

function run(
  policy: CompiledPolicy,
  tx: TxSummary,
  opts: { intents?: VerifiedIntent[]; mem?: DeviceMemory; now?: number } = {},
): PolicyDecision {
  const input: EvaluationInput = {
    summary: tx,
    intents: opts.intents ?? [],
    policy,
    memory: opts.mem ?? memory(),
    now: opts.now ?? NOW,
  };
  const d = evaluatePolicy(input);
  if (d.decision === 'refuse') seen.add(d.reason);
  return d;
}

function refusedWith(d: PolicyDecision, reason: string, rule?: string, output?: number | null) {
  expect(d.decision).toBe('refuse');
  if (d.decision !== 'refuse') return;
  expect(d.reason).toBe(reason);
  if (rule !== undefined) expect(d.rule).toBe(rule);
  if (output !== undefined) expect(d.output).toBe(output);
}

function signed(d: PolicyDecision) {
  expect(d).toMatchObject({ decision: 'sign' });
  if (d.decision !== 'sign') throw new Error('expected sign');
  return d.record;
}

const W = script(1);
const intents1 = () => [intent('w-1', W, 100_000n)];
const withIntents = (extra: PolicyRuleInput[] = []) =>
  compiled([{ type: 'requireIntents' }, ...extra]);

describe('evaluatePolicy: built-in checks', () => {
  it('signs a plain transaction and returns the records to commit', () => {
    const rec = signed(
      run(
        compiled([{ type: 'maxPerOutput', maxAmount: 1_000_000n }]),
        summary({ change: [{ amount: 5n, index: 3 }] }),
      ),
    );
    expect(rec.spend).toMatchObject({ at: NOW, amount: 101_000n, fee: 1_000n, withdrawalIds: [] });
    expect(rec.spend.outpoints).toEqual([`${'01'.repeat(32)}:0`]);
    expect(rec.changeIndex).toEqual({ walletId: '07'.repeat(32), index: 3 });
  });
  it('POLICY_EXPIRED at and after expiresAt', () => {
    const p = compiled([{ type: 'maxPerOutput', maxAmount: 1_000_000n }]);
    refusedWith(run(p, summary(), { now: p.document.expiresAt }), 'POLICY_EXPIRED', 'policy');
    signed(run(p, summary(), { now: p.document.expiresAt - 1 }));
  });
  it('NETWORK_MISMATCH', () => {
    refusedWith(
      run(compiled([{ type: 'requireIntents' }], { network: 'testnet' }), summary()),
      'NETWORK_MISMATCH',
      'policy',
    );
  });
  it('CHANGE_OUT_OF_WINDOW', () => {
    const p = compiled([{ type: 'maxPerOutput', maxAmount: 1_000_000n }], { changeWindow: 10 });
    const mem = memory({ changeIndex: { ['07'.repeat(32)]: 5 } });
    refusedWith(
      run(p, summary({ change: [{ amount: 1n, index: 16 }] }), { mem }),
      'CHANGE_OUT_OF_WINDOW',
      'change',
      1,
    );
    expect(
      signed(run(p, summary({ change: [{ amount: 1n, index: 15 }] }), { mem })).changeIndex?.index,
    ).toBe(15);
    expect(
      signed(run(p, summary({ change: [{ amount: 1n, index: 4 }] }), { mem })).changeIndex,
    ).toBeUndefined();
  });
  it('MEMORY_FAIL_CLOSED when no velocity rule catches it first', () => {
    refusedWith(
      run(compiled([{ type: 'maxPerOutput', maxAmount: 1_000_000n }]), summary(), {
        mem: memory({ failClosed: true }),
      }),
      'MEMORY_FAIL_CLOSED',
      'memory',
    );
  });
  it('does not mutate its inputs', () => {
    const mem = memory();
    const frozen = Object.freeze({
      ...mem,
      spends: Object.freeze([]),
      withdrawals: Object.freeze({}),
    });
    const tx = summary();
    const before = structuredClone(tx);
    signed(run(withIntents(), tx, { intents: intents1(), mem: frozen }));
    expect(tx).toEqual(before);
  });
});

describe('evaluatePolicy: caps', () => {
  it('AMOUNT_ABOVE_TX_CAP counts the fee', () => {
    const p = compiled([{ type: 'maxPerTransaction', maxAmount: 100_999n }]);
    refusedWith(run(p, summary()), 'AMOUNT_ABOVE_TX_CAP', 'rules[0].maxPerTransaction');
    signed(run(compiled([{ type: 'maxPerTransaction', maxAmount: 101_000n }]), summary()));
  });
  it('AMOUNT_ABOVE_OUTPUT_CAP names the output', () => {
    const tx = summary({
      external: [
        { script: W, amount: 10n },
        { script: script(2), amount: 11n },
      ],
    });
    refusedWith(
      run(compiled([{ type: 'maxPerOutput', maxAmount: 10n }]), tx),
      'AMOUNT_ABOVE_OUTPUT_CAP',
      'rules[0].maxPerOutput',
      1,
    );
  });
  it('FEE_ABOVE_CAP and FEERATE_ABOVE_CAP', () => {
    refusedWith(
      run(compiled([{ type: 'maxFee', absolute: 999n, feerateMsatPerVb: 10_000_000n }]), summary()),
      'FEE_ABOVE_CAP',
    );
    // fee 1000 sat / 200 vB = 5 sat/vB = 5000 msat/vB
    refusedWith(
      run(compiled([{ type: 'maxFee', absolute: 1000n, feerateMsatPerVb: 4_999n }]), summary()),
      'FEERATE_ABOVE_CAP',
    );
    signed(
      run(compiled([{ type: 'maxFee', absolute: 1000n, feerateMsatPerVb: 5_000n }]), summary()),
    );
  });
  it('first failing rule in list order names the refusal', () => {
    const p = compiled([
      { type: 'maxFee', absolute: 1n, feerateMsatPerVb: 1n },
      { type: 'maxPerOutput', maxAmount: 1n },
    ]);
    refusedWith(run(p, summary()), 'FEE_ABOVE_CAP', 'rules[0].maxFee');
  });
});

describe('evaluatePolicy: velocity', () => {
  const rule = (maxAmount: bigint, maxCount = 100): PolicyRuleInput => ({
    type: 'velocity',
    windowSeconds: DAY,
    maxAmount,
    maxCount,
  });
  const spend = (at: number, amount: bigint) => ({
    at,
    txid: 'aa',
    amount,
    fee: 0n,
    outpoints: [],
    withdrawalIds: [],
  });
  it('VELOCITY_AMOUNT', () => {
    const mem = memory({ spends: [spend(NOW - 10, 900_000n)] });
    refusedWith(
      run(compiled([rule(1_000_999n)]), summary(), { mem }),
      'VELOCITY_AMOUNT',
      'rules[0].velocity',
    );
    signed(run(compiled([rule(1_001_000n)]), summary(), { mem }));
  });
  it('VELOCITY_COUNT', () => {
    const mem = memory({ spends: [spend(NOW - 10, 1n), spend(NOW - 5, 1n)] });
    refusedWith(run(compiled([rule(10n ** 9n, 2)]), summary(), { mem }), 'VELOCITY_COUNT');
    signed(run(compiled([rule(10n ** 9n, 3)]), summary(), { mem }));
  });
  it('does not count an earlier signature that conflicts with this one (a replacement) twice', () => {
    const mine = `${'01'.repeat(32)}:0`;
    const conflicting = { ...spend(NOW - 10, 900_000n), outpoints: [mine] };
    signed(
      run(compiled([rule(1_000_999n)]), summary(), { mem: memory({ spends: [conflicting] }) }),
    );
    // A signature over other coins can confirm together with this one: it counts.
    const other = { ...spend(NOW - 10, 900_000n), outpoints: [`${'02'.repeat(32)}:0`] };
    refusedWith(
      run(compiled([rule(1_000_999n)]), summary(), {
        mem: memory({ spends: [other, conflicting] }),
      }),
      'VELOCITY_AMOUNT',
    );
  });
  it('VELOCITY_FAIL_CLOSED', () => {
    refusedWith(
      run(compiled([rule(10n ** 15n)]), summary(), { mem: memory({ failClosed: true }) }),
      'VELOCITY_FAIL_CLOSED',
      'rules[0].velocity',
    );
  });
});

describe('evaluatePolicy: destinations', () => {
  it('DESTINATION_DENIED on exact bytes only', () => {
    const p = compiled([{ type: 'denyDestinations', scripts: [script(2)] }]);
    refusedWith(
      run(
        p,
        summary({
          external: [
            { script: W, amount: 1n },
            { script: script(2), amount: 1n },
          ],
        }),
      ),
      'DESTINATION_DENIED',
      'rules[0].denyDestinations',
      1,
    );
    const near = script(2);
    near[21] = (near[21] ?? 0) ^ 1;
    signed(run(p, summary({ external: [{ script: near, amount: 1n }] })));
  });
  it('DESTINATION_NOT_ALLOWED and DESTINATION_COOLING_OFF at the boundary', () => {
    const p = compiled([
      {
        type: 'allowDestinations',
        entries: [{ script: W, addedAt: NOW - 100 }],
        coolingOffSeconds: 100,
      },
    ]);
    refusedWith(
      run(p, summary({ external: [{ script: script(2), amount: 1n }] })),
      'DESTINATION_NOT_ALLOWED',
      undefined,
      0,
    );
    refusedWith(run(p, summary(), { now: NOW - 1 }), 'DESTINATION_COOLING_OFF', undefined, 0);
    signed(run(p, summary(), { now: NOW }));
  });
  it('duplicate allow-list scripts are refused at compile time', () => {
    expect(() =>
      compiled([
        {
          type: 'allowDestinations',
          entries: [
            { script: W, addedAt: 1 },
            { script: W, addedAt: 2 },
          ],
          coolingOffSeconds: 0,
        },
      ]),
    ).toThrow(/distinct scripts/);
  });
});

describe('evaluatePolicy: withdrawal intents', () => {
  it('signs when each external output has its intent and records the withdrawal', () => {
    const rec = signed(run(withIntents(), summary(), { intents: intents1() }));
    expect(rec.spend.withdrawalIds).toEqual(['w-1']);
    expect(rec.withdrawals).toEqual([
      {
        withdrawalId: 'w-1',
        txids: ['ee'.repeat(32)],
        outpoints: [`${'01'.repeat(32)}:0`],
        output: `${Buffer.from(W).toString('hex')}:100000`,
        maxFee: 1000n,
        replacements: 0,
      },
    ]);
  });
  it('INTENT_MISSING: wrong amount, wrong script, no intent; change needs none', () => {
    refusedWith(
      run(withIntents(), summary(), { intents: [intent('w-1', W, 99_999n)] }),
      'INTENT_MISSING',
      'rules[0].requireIntents',
      0,
    );
    refusedWith(
      run(withIntents(), summary(), { intents: [intent('w-1', script(2), 100_000n)] }),
      'INTENT_MISSING',
    );
    refusedWith(run(withIntents(), summary()), 'INTENT_MISSING');
    signed(
      run(withIntents(), summary({ change: [{ amount: 7n, index: 0 }] }), { intents: intents1() }),
    );
  });
  it('two identical outputs need two distinct intents', () => {
    const tx = summary({
      external: [
        { script: W, amount: 100_000n },
        { script: W, amount: 100_000n },
      ],
    });
    refusedWith(run(withIntents(), tx, { intents: intents1() }), 'INTENT_MISSING', undefined, 1);
    refusedWith(
      run(withIntents(), tx, { intents: [...intents1(), ...intents1()] }),
      'INTENT_MISSING',
      undefined,
      1,
    );
    const rec = signed(
      run(withIntents(), tx, { intents: [intent('w-2', W, 100_000n), ...intents1()] }),
    );
    expect(rec.spend.withdrawalIds).toEqual(['w-1', 'w-2']);
  });
  it('INTENT_AMBIGUOUS: more matching intents than outputs', () => {
    refusedWith(
      run(withIntents(), summary(), { intents: [...intents1(), intent('w-2', W, 100_000n)] }),
      'INTENT_AMBIGUOUS',
      undefined,
      0,
    );
  });
  it('INTENT_EXPIRED', () => {
    refusedWith(
      run(withIntents(), summary(), { intents: [intent('w-1', W, 100_000n, NOW)] }),
      'INTENT_EXPIRED',
      undefined,
      0,
    );
  });
  it('DUPLICATE_WITHDRAWAL_ID: one id, two different outputs in one transaction', () => {
    const tx = summary({
      external: [
        { script: W, amount: 100_000n },
        { script: script(2), amount: 5n },
      ],
    });
    refusedWith(
      run(withIntents(), tx, { intents: [...intents1(), intent('w-1', script(2), 5n)] }),
      'DUPLICATE_WITHDRAWAL_ID',
    );
  });
});

describe('evaluatePolicy: replay and replacement', () => {
  const bump = (maxBump: bigint, maxReplacements = 3): PolicyRuleInput => ({
    type: 'maxReplacementFeeBump',
    maxBump,
    maxReplacements,
  });
  const first = (p: CompiledPolicy) => {
    const tx = summary({
      inputs: [
        [1, 0],
        [2, 0],
      ],
      txidByte: 0x10,
    });
    return applyRecord(memory(), signed(run(p, tx, { intents: intents1() })));
  };
  it('DOUBLE_PAYMENT: same id, disjoint inputs', () => {
    const p = withIntents([bump(10_000n)]);
    const mem = first(p);
    refusedWith(
      run(p, summary({ inputs: [[3, 0]], txidByte: 0x11 }), { intents: intents1(), mem }),
      'DOUBLE_PAYMENT',
      'rules[0].requireIntents',
      0,
    );
  });
  it('DOUBLE_PAYMENT: must conflict with EVERY earlier transaction, not just the union', () => {
    const p = withIntents([bump(10_000n)]);
    let mem = first(p); // tx A spends 1:0, 2:0
    const b = summary({
      inputs: [
        [2, 0],
        [4, 0],
      ],
      txidByte: 0x11,
      fee: 2_000n,
    }); // conflicts with A
    mem = applyRecord(mem, signed(run(p, b, { intents: intents1(), mem })));
    // C spends 4:0 and 5:0: conflicts with B, but not with A -> A and C could both confirm
    const c = summary({
      inputs: [
        [4, 0],
        [5, 0],
      ],
      txidByte: 0x12,
      fee: 3_000n,
    });
    refusedWith(run(p, c, { intents: intents1(), mem }), 'DOUBLE_PAYMENT');
    // D spends 1:0 and 4:0: conflicts with both
    const d = summary({
      inputs: [
        [1, 0],
        [4, 0],
      ],
      txidByte: 0x13,
      fee: 3_000n,
    });
    const rec = signed(run(p, d, { intents: intents1(), mem }));
    expect(rec.withdrawals[0]).toMatchObject({
      replacements: 2,
      maxFee: 3_000n,
      txids: ['10'.repeat(32), '11'.repeat(32), '13'.repeat(32)],
    });
  });
  it('REPLACEMENT_OUTPUT_MISMATCH', () => {
    const p = withIntents([bump(10_000n)]);
    const mem = first(p);
    const tx = summary({
      external: [{ script: W, amount: 90_000n }],
      inputs: [[1, 0]],
      txidByte: 0x11,
    });
    refusedWith(
      run(p, tx, { intents: [intent('w-1', W, 90_000n)], mem }),
      'REPLACEMENT_OUTPUT_MISMATCH',
    );
  });
  it('REPLACEMENT_UNVERIFIABLE when the earlier transaction was pruned from memory', () => {
    const p = withIntents([bump(10_000n)]);
    const mem = { ...first(p), spends: [] };
    refusedWith(
      run(p, summary({ inputs: [[1, 0]], txidByte: 0x11 }), { intents: intents1(), mem }),
      'REPLACEMENT_UNVERIFIABLE',
    );
  });
  it('REPLACEMENT_NOT_ALLOWED without a maxReplacementFeeBump rule; same txid again is not a replacement', () => {
    const p = withIntents();
    const mem = first(p);
    refusedWith(
      run(p, summary({ inputs: [[1, 0]], txidByte: 0x11 }), { intents: intents1(), mem }),
      'REPLACEMENT_NOT_ALLOWED',
    );
    const again = signed(
      run(
        p,
        summary({
          inputs: [
            [1, 0],
            [2, 0],
          ],
          txidByte: 0x10,
        }),
        { intents: intents1(), mem },
      ),
    );
    expect(again.withdrawals[0]?.replacements).toBe(0);
  });
  it('REPLACEMENT_FEE_BUMP at the cap boundary', () => {
    const p = withIntents([bump(500n)]);
    const mem = first(p); // fee 1000
    refusedWith(
      run(p, summary({ inputs: [[1, 0]], txidByte: 0x11, fee: 1_501n }), {
        intents: intents1(),
        mem,
      }),
      'REPLACEMENT_FEE_BUMP',
      'rules[1].maxReplacementFeeBump',
      0,
    );
    signed(
      run(p, summary({ inputs: [[1, 0]], txidByte: 0x11, fee: 1_500n }), {
        intents: intents1(),
        mem,
      }),
    );
  });
  it('REPLACEMENT_COUNT', () => {
    const p = withIntents([bump(10_000n, 1)]);
    let mem = first(p);
    mem = applyRecord(
      mem,
      signed(
        run(
          p,
          summary({
            inputs: [
              [1, 0],
              [2, 0],
            ],
            txidByte: 0x11,
            fee: 1_100n,
          }),
          { intents: intents1(), mem },
        ),
      ),
    );
    refusedWith(
      run(
        p,
        summary({
          inputs: [
            [1, 0],
            [2, 0],
          ],
          txidByte: 0x12,
          fee: 1_200n,
        }),
        { intents: intents1(), mem },
      ),
      'REPLACEMENT_COUNT',
    );
  });
});

it('every reason code of the table has a test above', () => {
  expect([...seen].sort()).toEqual(Object.keys(REFUSAL_REASONS).sort());
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import {
  evaluateWithdrawal,
  parseRiskConfig,
  type RiskConfigInput,
  WITHDRAWAL_OUTCOME_RANK,
  WITHDRAWAL_REASONS,
  type WithdrawalHistory,
  type WithdrawalReasonCode,
  type WithdrawalRequest,
} from '../../src/risk/index.js';
import { BAD, baseConfig, cleanHistory, cleanRequest, NOW, P2WPKH } from './fixtures.js';

const config = parseRiskConfig(baseConfig);
const run = (
  req: Partial<WithdrawalRequest> = {},
  hist: Partial<WithdrawalHistory> = {},
  cfg = config,
  now = NOW,
) => evaluateWithdrawal({ ...cleanRequest, ...req }, { ...cleanHistory, ...hist }, cfg, now);
const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);
const withConfig = (w: Partial<RiskConfigInput['withdrawal']>) =>
  parseRiskConfig({ ...baseConfig, withdrawal: { ...baseConfig.withdrawal, ...w } });

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isCoordinatorError(e)) return e.code;
    throw e;
  }
  return undefined;
}

/** One scenario per reason code, with the outcome it must give on its own. */
const SCENARIOS: Record<WithdrawalReasonCode, () => ReturnType<typeof run>> = {
  DESTINATION_DENIED: () => run({ scriptPubKey: BAD }, { knownDestinations: [BAD] }),
  FREQUENCY_EXCEEDED: () =>
    run({}, { userWithdrawals: [NOW - 10, NOW - 20, NOW - 30].map((at) => ({ at, amount: 1n })) }),
  LARGE_AMOUNT: () => run({ amount: 100_000_000n }, { totalDeposited: 1_000_000_000n }),
  PROFIT_ANOMALY: () => run({ amount: 40_000_000n }, { totalWithdrawn: 40_000_000n }),
  RECENT_CREDENTIAL_CHANGE: () =>
    run({ flags: { newDevice: false, newDestination: false, passwordChangedAt: NOW - 3600 } }),
  NEW_DEVICE: () => run({ flags: { newDevice: true, newDestination: false } }),
  NEW_DESTINATION_FLAG: () => run({ flags: { newDevice: false, newDestination: true } }),
  FIRST_TIME_DESTINATION: () => run({}, { knownDestinations: [] }),
  GLOBAL_OUTFLOW_EXCEEDED: () =>
    run({}, { globalWithdrawals: [{ at: NOW - 60, amount: 995_000_000n }] }),
};
const EXPECTED: Record<WithdrawalReasonCode, 'hold' | 'reject'> = {
  DESTINATION_DENIED: 'reject',
  FREQUENCY_EXCEEDED: 'hold',
  LARGE_AMOUNT: 'hold',
  PROFIT_ANOMALY: 'hold',
  RECENT_CREDENTIAL_CHANGE: 'hold',
  NEW_DEVICE: 'hold',
  NEW_DESTINATION_FLAG: 'hold',
  FIRST_TIME_DESTINATION: 'hold',
  GLOBAL_OUTFLOW_EXCEEDED: 'hold',
};

describe('evaluateWithdrawal', () => {
  it('approves a clean request with no reasons', () => {
    expect(run()).toEqual({ outcome: 'approve', reasons: [] });
  });

  it('the scenario table covers every reason code', () => {
    expect(Object.keys(SCENARIOS).sort()).toEqual(Object.keys(WITHDRAWAL_REASONS).sort());
  });

  for (const [c, scenario] of Object.entries(SCENARIOS)) {
    it(`${c} alone gives ${EXPECTED[c as WithdrawalReasonCode]}`, () => {
      const d = scenario();
      expect(codes(d)).toEqual([c]);
      expect(d.outcome).toBe(EXPECTED[c as WithdrawalReasonCode]);
      expect(d.reasons[0]?.detail.length).toBeGreaterThan(0);
    });
  }

  it('configurable outcomes follow the config', () => {
    const strict = withConfig({
      frequency: { windowSeconds: 3600, maxCount: 3, outcome: 'reject' },
      largeAmount: { threshold: 100_000_000n, outcome: 'reject' },
      profitAnomaly: { factorPercent: 150, outcome: 'reject' },
      globalOutflow: { windowSeconds: 3600, maxAmount: 1_000_000_000n, outcome: 'reject' },
    });
    expect(run({ amount: 100_000_000n }, { totalDeposited: 10n ** 9n }, strict).outcome).toBe(
      'reject',
    );
    expect(run({ amount: 40_000_000n }, { totalWithdrawn: 40_000_000n }, strict).outcome).toBe(
      'reject',
    );
    expect(
      run({}, { globalWithdrawals: [{ at: NOW, amount: 995_000_000n }] }, strict).outcome,
    ).toBe('reject');
    const allowNew = withConfig({ firstTimeDestination: 'allow' });
    expect(run({}, { knownDestinations: [] }, allowNew).outcome).toBe('approve');
  });

  it('collects every reason, in check order, and the strongest outcome wins', () => {
    const d = run(
      { scriptPubKey: BAD.toUpperCase(), flags: { newDevice: true, newDestination: true } },
      { knownDestinations: [] },
    );
    expect(codes(d)).toEqual([
      'DESTINATION_DENIED',
      'NEW_DEVICE',
      'NEW_DESTINATION_FLAG',
      'FIRST_TIME_DESTINATION',
    ]);
    expect(d.outcome).toBe('reject');
    expect(Object.isFrozen(d.reasons)).toBe(true);
  });

  it('windows: old entries fall out, future-dated ones count (a clock game cannot hide them)', () => {
    const old = [NOW - 3600, NOW - 4000, NOW - 5000].map((at) => ({ at, amount: 1n }));
    expect(run({}, { userWithdrawals: old }).outcome).toBe('approve');
    const future = [NOW + 10, NOW + 100, NOW + 10_000].map((at) => ({ at, amount: 1n }));
    expect(codes(run({}, { userWithdrawals: future }))).toEqual(['FREQUENCY_EXCEEDED']);
    expect(
      codes(
        run({ flags: { newDevice: false, newDestination: false, twoFactorChangedAt: NOW + 5 } }),
      ),
    ).toEqual(['RECENT_CREDENTIAL_CHANGE']);
    expect(
      run({ flags: { newDevice: false, newDestination: false, twoFactorChangedAt: NOW - 86_400 } })
        .outcome,
    ).toBe('approve');
  });

  it('profit anomaly: a realized loss shrinks the allowance, profit grows it', () => {
    // deposits 50M, factor 150%: 75M allowed in total
    expect(run({ amount: 75_000_000n }).outcome).toBe('approve');
    expect(codes(run({ amount: 75_000_001n }))).toEqual(['PROFIT_ANOMALY']);
    expect(codes(run({ amount: 60_000_000n }, { realizedProfit: -20_000_000n }))).toEqual([
      'PROFIT_ANOMALY',
    ]);
    expect(run({ amount: 90_000_000n }, { realizedProfit: 10_000_000n }).outcome).toBe('approve');
    // losses beyond the deposits never make a negative allowance that would wrap
    expect(codes(run({ amount: 1n }, { realizedProfit: -60_000_000n }))).toEqual([
      'PROFIT_ANOMALY',
    ]);
  });

  it('refuses malformed input with BAD_REQUEST, before any check', () => {
    expect(code(() => run({ amount: 0n }))).toBe('BAD_REQUEST');
    expect(code(() => run({ amount: 2_100_000_000_000_001n }))).toBe('BAD_REQUEST');
    expect(code(() => run({ scriptPubKey: '001' }))).toBe('BAD_REQUEST');
    expect(code(() => run({ userId: '' }))).toBe('BAD_REQUEST');
    expect(code(() => run({ flags: { newDevice: 'no' as never, newDestination: false } }))).toBe(
      'BAD_REQUEST',
    );
    expect(code(() => run({ extra: 1 } as never))).toBe('BAD_REQUEST');
    expect(code(() => run({}, { userWithdrawals: [{ at: -1, amount: 1n }] }))).toBe('BAD_REQUEST');
    expect(code(() => run({}, {}, config, -1))).toBe('BAD_REQUEST');
    expect(code(() => run({}, {}, config, 1.5))).toBe('BAD_REQUEST');
  });
});

describe('properties', () => {
  const amount = fc.bigInt({ min: 1n, max: 2_000_000_000n });
  const hist = fc.record({
    userWithdrawals: fc.array(
      fc.record({
        at: fc.integer({ min: NOW - 7200, max: NOW }),
        amount: fc.bigInt({ min: 1n, max: 10n ** 8n }),
      }),
      { maxLength: 5 },
    ),
    knownDestinations: fc.constantFrom<string[]>([P2WPKH], []),
    totalDeposited: fc.bigInt({ min: 0n, max: 10n ** 9n }),
    totalWithdrawn: fc.bigInt({ min: 0n, max: 10n ** 9n }),
    realizedProfit: fc.bigInt({ min: -(10n ** 9n), max: 10n ** 9n }),
    globalWithdrawals: fc.array(
      fc.record({
        at: fc.integer({ min: NOW - 7200, max: NOW }),
        amount: fc.bigInt({ min: 1n, max: 10n ** 9n }),
      }),
      { maxLength: 3 },
    ),
  });
  const flags = fc.record({ newDevice: fc.boolean(), newDestination: fc.boolean() });
  const outcomeCfg = fc.constantFrom('hold' as const, 'reject' as const);
  const cfg = fc.record({ a: outcomeCfg, b: outcomeCfg, c: outcomeCfg }).map(({ a, b, c }) =>
    withConfig({
      largeAmount: { threshold: 100_000_000n, outcome: a },
      profitAnomaly: { factorPercent: 150, outcome: b },
      globalOutflow: { windowSeconds: 3600, maxAmount: 1_000_000_000n, outcome: c },
    }),
  );

  it('raising the amount never lowers the outcome (reject never turns into approve)', () => {
    fc.assert(
      fc.property(hist, flags, cfg, amount, amount, (h, f, c, x, y) => {
        const [lo, hi] = x <= y ? [x, y] : [y, x];
        const a = evaluateWithdrawal({ ...cleanRequest, flags: f, amount: lo }, h, c, NOW);
        const b = evaluateWithdrawal({ ...cleanRequest, flags: f, amount: hi }, h, c, NOW);
        expect(WITHDRAWAL_OUTCOME_RANK[b.outcome]).toBeGreaterThanOrEqual(
          WITHDRAWAL_OUTCOME_RANK[a.outcome],
        );
      }),
    );
  });

  it('adding the destination to the deny list always rejects', () => {
    fc.assert(
      fc.property(
        hist,
        flags,
        amount,
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (h, f, a, spkBytes, upper) => {
          const hex = Buffer.from(spkBytes).toString('hex');
          const c = withConfig({ denyScriptPubKeys: [upper ? hex.toUpperCase() : hex] });
          const d = evaluateWithdrawal(
            { ...cleanRequest, flags: f, amount: a, scriptPubKey: upper ? hex : hex.toUpperCase() },
            h,
            c,
            NOW,
          );
          expect(d.outcome).toBe('reject');
          expect(codes(d)).toContain('DESTINATION_DENIED');
        },
      ),
    );
  });
});

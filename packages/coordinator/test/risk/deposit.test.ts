import { describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import {
  DEPOSIT_REASONS,
  type DepositReasonCode,
  type DepositRequest,
  evaluateDeposit,
  parseRiskConfig,
} from '../../src/risk/index.js';
import { BAD, baseConfig, NOW, P2WPKH } from './fixtures.js';

const config = parseRiskConfig(baseConfig);
const clean: DepositRequest = {
  depositId: 'd1',
  userId: 'u1',
  amount: 5_000_000n,
  sourceScriptPubKeys: [P2WPKH],
};
const run = (req: Partial<DepositRequest> = {}, at: number[] = [], now = NOW) =>
  evaluateDeposit({ ...clean, ...req }, { userDeposits: at.map((t) => ({ at: t })) }, config, now);
const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

const SCENARIOS: Record<DepositReasonCode, () => ReturnType<typeof run>> = {
  SOURCE_DENIED: () => run({ sourceScriptPubKeys: [P2WPKH, BAD.toUpperCase(), BAD] }),
  BELOW_MINIMUM: () => run({ amount: 999n }),
  LARGE_DEPOSIT: () => run({ amount: 500_000_000n }),
  DEPOSIT_FREQUENCY_EXCEEDED: () => run({}, [NOW - 1, NOW - 2, NOW - 3, NOW - 4, NOW + 50]),
};

describe('evaluateDeposit', () => {
  it('credits a clean deposit', () => {
    expect(run()).toEqual({ outcome: 'credit', reasons: [] });
    expect(
      run({ amount: 1000n, sourceScriptPubKeys: [] }, [NOW - 1, NOW - 2, NOW - 3, NOW - 4]).outcome,
    ).toBe('credit');
  });

  it('the scenario table covers every reason code', () => {
    expect(Object.keys(SCENARIOS).sort()).toEqual(Object.keys(DEPOSIT_REASONS).sort());
  });

  for (const [c, scenario] of Object.entries(SCENARIOS)) {
    it(`${c} delays the deposit`, () => {
      const d = scenario();
      expect(codes(d)).toEqual([c]);
      expect(d.outcome).toBe('delay');
    });
  }

  it('names a deny-listed source once, and collects all reasons', () => {
    const d = run(
      { amount: 10n, sourceScriptPubKeys: [BAD, BAD] },
      [1, 2, 3, 4, 5].map((i) => NOW - i),
    );
    expect(codes(d)).toEqual(['SOURCE_DENIED', 'BELOW_MINIMUM', 'DEPOSIT_FREQUENCY_EXCEEDED']);
    expect(d.reasons[0]?.detail.split(BAD).length).toBe(2);
  });

  it('refuses malformed input with BAD_REQUEST', () => {
    const c = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return isCoordinatorError(e) ? e.code : 'other';
      }
      return undefined;
    };
    expect(c(() => run({ amount: 0n }))).toBe('BAD_REQUEST');
    expect(c(() => run({ sourceScriptPubKeys: ['0'] }))).toBe('BAD_REQUEST');
    expect(c(() => run({ depositId: 'a b' }))).toBe('BAD_REQUEST');
    expect(c(() => run({}, [], Number.NaN))).toBe('BAD_REQUEST');
  });
});

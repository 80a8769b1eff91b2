import { describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import { evaluateWithdrawal, parseRiskConfig, type RiskConfig } from '../../src/risk/index.js';
import { baseConfig, cleanHistory, cleanRequest, NOW } from './fixtures.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isCoordinatorError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe('parseRiskConfig', () => {
  it('reads satoshis from a JSON file as decimal strings, exactly, and refuses other strings', () => {
    const at = (threshold: unknown) => () =>
      parseRiskConfig({
        ...baseConfig,
        withdrawal: { ...baseConfig.withdrawal, largeAmount: { threshold, outcome: 'hold' } },
      });
    expect(at('2099999999999999')().withdrawal.largeAmount.threshold).toBe(2_099_999_999_999_999n);
    for (const bad of ['1e8', '0x10', '-1', '1.5', ' 1', '2100000000000001', '']) {
      expect(code(at(bad))).toBe('BAD_CONFIG');
    }
  });

  it('returns a deep-frozen config with bigint amounts and lower-case scripts', () => {
    const c = parseRiskConfig({
      ...baseConfig,
      withdrawal: {
        ...baseConfig.withdrawal,
        largeAmount: { threshold: 5, outcome: 'reject' },
        denyScriptPubKeys: ['00AB'],
      },
    });
    expect(c.withdrawal.largeAmount.threshold).toBe(5n);
    expect(c.withdrawal.denyScriptPubKeys).toEqual(['00ab']);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.withdrawal.frequency)).toBe(true);
    expect(Object.isFrozen(c.withdrawal.denyScriptPubKeys)).toBe(true);
  });

  it('refuses unknown keys, missing keys, bad amounts and odd hex (BAD_CONFIG)', () => {
    expect(code(() => parseRiskConfig({ ...baseConfig, extra: 1 }))).toBe('BAD_CONFIG');
    expect(code(() => parseRiskConfig({ withdrawal: baseConfig.withdrawal }))).toBe('BAD_CONFIG');
    const w = baseConfig.withdrawal;
    for (const bad of [
      { ...w, largeAmount: { threshold: -1n, outcome: 'hold' } },
      { ...w, largeAmount: { threshold: 2_100_000_000_000_001n, outcome: 'hold' } },
      { ...w, largeAmount: { threshold: 1.5, outcome: 'hold' } },
      { ...w, largeAmount: { threshold: 1n, outcome: 'approve' } },
      { ...w, denyScriptPubKeys: ['abc'] },
      { ...w, denyScriptPubKeys: ['zz'] },
      { ...w, profitAnomaly: { factorPercent: 99, outcome: 'hold' } },
      { ...w, frequency: { windowSeconds: 0, maxCount: 1, outcome: 'hold' } },
    ]) {
      expect(code(() => parseRiskConfig({ ...baseConfig, withdrawal: bad }))).toBe('BAD_CONFIG');
    }
  });

  it('the engine refuses a config that did not go through parseRiskConfig', () => {
    const forged = structuredClone(parseRiskConfig(baseConfig)) as RiskConfig;
    expect(code(() => evaluateWithdrawal(cleanRequest, cleanHistory, forged, NOW))).toBe(
      'BAD_CONFIG',
    );
  });
});

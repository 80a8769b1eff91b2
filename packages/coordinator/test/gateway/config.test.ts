import { describe, expect, it } from 'vitest';
import { parseBroadcastConfig, parseFollowerConfig } from '../../src/gateway/index.js';

describe('gateway config', () => {
  it('fills the documented defaults and freezes', () => {
    const f = parseFollowerConfig({ network: 'regtest', startHeight: 0 });
    expect(f).toEqual({
      network: 'regtest',
      startHeight: 0,
      reorgDepth: 100,
      pollIntervalMs: 5_000,
      backoff: { initialMs: 500, maxMs: 60_000 },
    });
    expect(Object.isFrozen(f)).toBe(true);
    expect(Object.isFrozen(f.backoff)).toBe(true);
    expect(parseBroadcastConfig(undefined)).toEqual({ confirmDepth: 6, maxRejections: 5 });
  });

  it('refuses bad values and unknown keys (BAD_CONFIG)', () => {
    const base = { network: 'regtest', startHeight: 0 };
    for (const bad of [
      { ...base, network: 'main' },
      { ...base, startHeight: -1 },
      { ...base, reorgDepth: 0 },
      { ...base, pollIntervalMs: 0 },
      { ...base, backoff: { initialMs: 10_000, maxMs: 1_000 } },
      { ...base, extra: true },
      { network: 'regtest' },
    ]) {
      expect(() => parseFollowerConfig(bad)).toThrow(
        expect.objectContaining({ code: 'BAD_CONFIG' }),
      );
    }
    for (const bad of [{ confirmDepth: 0 }, { maxRejections: 0 }, { other: 1 }]) {
      expect(() => parseBroadcastConfig(bad)).toThrow(
        expect.objectContaining({ code: 'BAD_CONFIG' }),
      );
    }
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import { estimateFee, parseFeeConfig, quoteFee } from '../../src/gateway/index.js';
import { FakeChain } from './fake-chain.js';

const config = parseFeeConfig({ floor: 1_000, ceiling: 200_000, fallback: 10_000 });

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    if (isCoordinatorError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe('fees', () => {
  it('passes an estimate within [floor, ceiling] through', async () => {
    const chain = new FakeChain();
    chain.fee = { satPerKvB: 12_345n, blocks: 3 };
    expect(await estimateFee(chain, config, 2)).toEqual({
      satPerKvB: 12_345n,
      source: 'node',
      nodeSatPerKvB: 12_345n,
      clamped: null,
      targetBlocks: 2,
      answeredBlocks: 3,
    });
  });

  it('raises a low estimate to the floor and cuts a high one to the ceiling', async () => {
    const chain = new FakeChain();
    chain.fee = { satPerKvB: 200n, blocks: 6 };
    expect(await estimateFee(chain, config, 6)).toMatchObject({
      satPerKvB: 1_000n,
      clamped: 'floor',
      nodeSatPerKvB: 200n,
    });
    chain.fee = { satPerKvB: 5_000_000n, blocks: 1 };
    expect(await estimateFee(chain, config, 1)).toMatchObject({
      satPerKvB: 200_000n,
      clamped: 'ceiling',
      nodeSatPerKvB: 5_000_000n,
    });
  });

  it('no estimate from the node → the configured fallback, marked as such', async () => {
    const chain = new FakeChain();
    chain.fee = null;
    expect(await estimateFee(chain, config, 6)).toEqual({
      satPerKvB: 10_000n,
      source: 'fallback',
      nodeSatPerKvB: null,
      clamped: null,
      targetBlocks: 6,
      answeredBlocks: null,
    });
  });

  it('backend down → its error, never a guess', async () => {
    const chain = new FakeChain();
    chain.down = true;
    expect(await codeOf(estimateFee(chain, config, 6))).toBe('CHAIN_UNAVAILABLE');
  });

  it('a malformed node answer → CHAIN_BAD_RESPONSE', async () => {
    const chain = new FakeChain();
    chain.fee = { satPerKvB: -5n, blocks: 2 };
    expect(await codeOf(estimateFee(chain, config, 2))).toBe('CHAIN_BAD_RESPONSE');
    chain.fee = { satPerKvB: 1.5 as unknown as bigint, blocks: 2 };
    expect(await codeOf(estimateFee(chain, config, 2))).toBe('CHAIN_BAD_RESPONSE');
  });

  it('refuses a target outside 1..1008 (BAD_REQUEST) without asking the node', async () => {
    const chain = new FakeChain();
    for (const t of [0, 1009, 2.5, Number.NaN]) {
      expect(await codeOf(estimateFee(chain, config, t))).toBe('BAD_REQUEST');
    }
    expect(chain.calls).toEqual([]);
  });

  it('refuses a config with floor > fallback, fallback > ceiling, zero or unknown keys', () => {
    for (const bad of [
      { floor: 5_000, ceiling: 100_000, fallback: 1_000 },
      { floor: 1_000, ceiling: 5_000, fallback: 10_000 },
      { floor: 0, ceiling: 5_000, fallback: 1_000 },
      { floor: 1_000, ceiling: 5_000, fallback: 1_000, extra: 1 },
      { floor: 1_000, ceiling: 5_000 },
      { floor: 1.5, ceiling: 5_000, fallback: 2_000 },
    ]) {
      expect(() => parseFeeConfig(bad)).toThrow(/gateway\/config/);
    }
    expect(parseFeeConfig({ floor: 1n, ceiling: 1n, fallback: 1n })).toEqual({
      floor: 1n,
      ceiling: 1n,
      fallback: 1n,
    });
  });

  it('property: the quoted rate is always within [floor, ceiling]', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 100_000n }),
        fc.bigInt({ min: 0n, max: 1_000_000n }),
        fc.bigInt({ min: 0n, max: 98_000_000n }),
        fc.option(fc.bigInt({ min: 0n, max: 10n ** 12n })),
        (floor, span1, span2, est) => {
          const c = parseFeeConfig({
            floor,
            fallback: floor + span1,
            ceiling: floor + span1 + span2,
          });
          const q = quoteFee(est === null ? null : { satPerKvB: est, blocks: 2 }, 2, c);
          expect(q.satPerKvB >= c.floor && q.satPerKvB <= c.ceiling).toBe(true);
          if (est !== null && est >= c.floor && est <= c.ceiling) expect(q.satPerKvB).toBe(est);
        },
      ),
      { seed: 5_004 },
    );
  });
});

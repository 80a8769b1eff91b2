import { describe, expect, it } from 'vitest';
import { RtoEstimator } from '../src/rto.js';

const bounds = { initialMs: 500, minMs: 40, maxMs: 4000 };

// RFC 6298 §2: SRTT/RTTVAR initialisation and update with alpha 1/8, beta 1/4, RTO = SRTT + 4·RTTVAR.
describe('RtoEstimator', () => {
  it('uses the initial timeout before any sample', () => {
    expect(new RtoEstimator(bounds).current).toBe(500);
  });

  it('initialises from the first sample: SRTT = R, RTTVAR = R/2', () => {
    const rto = new RtoEstimator(bounds);
    rto.sample(100);
    expect(rto.current).toBe(100 + 4 * 50);
  });

  it('updates with alpha 1/8 and beta 1/4', () => {
    const rto = new RtoEstimator(bounds);
    rto.sample(100);
    rto.sample(200);
    // RTTVAR = 3/4·50 + 1/4·|100 − 200| = 62.5; SRTT = 7/8·100 + 1/8·200 = 112.5
    expect(rto.current).toBeCloseTo(112.5 + 4 * 62.5, 9);
  });

  it('clamps to the floor on a fast line and to the cap on a slow one', () => {
    const fast = new RtoEstimator(bounds);
    for (let i = 0; i < 50; i++) fast.sample(1);
    expect(fast.current).toBe(40);
    const slow = new RtoEstimator(bounds);
    slow.sample(10_000);
    expect(slow.current).toBe(4000);
  });

  it('doubles on each expiry up to the cap, and returns to the estimate on progress', () => {
    const rto = new RtoEstimator(bounds);
    rto.sample(100);
    const base = rto.current;
    rto.backOff();
    expect(rto.current).toBe(2 * base);
    for (let i = 0; i < 10; i++) rto.backOff();
    expect(rto.current).toBe(4000);
    rto.progress();
    expect(rto.current).toBe(base);
  });

  it('halves the back-off on progress without a sample, down to the estimate', () => {
    const rto = new RtoEstimator(bounds);
    rto.sample(100); // base 300
    rto.backOff(); // 600
    rto.backOff(); // 1200
    rto.relax();
    expect(rto.current).toBe(600);
    rto.relax(); // 300 = base: back-off gone
    expect(rto.current).toBe(300);
    rto.relax();
    expect(rto.current).toBe(300);
  });

  it('ignores impossible samples and forgets everything on reset', () => {
    const rto = new RtoEstimator(bounds);
    rto.sample(-5);
    rto.sample(Number.NaN);
    rto.sample(Number.POSITIVE_INFINITY);
    expect(rto.current).toBe(500);
    rto.sample(100);
    rto.reset();
    expect(rto.current).toBe(500);
  });
});

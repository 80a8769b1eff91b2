import { describe, expect, it } from 'vitest';
import { lockoutTripped } from '../../src/policy/lockout.js';

const lockout = { maxRefusals: 3, windowSeconds: 100 };

describe('lockoutTripped', () => {
  it('trips at maxRefusals inside (now − window, now]', () => {
    expect(lockoutTripped([901, 950, 1000], lockout, 1000)).toBe(true);
    expect(lockoutTripped([900, 950, 1000], lockout, 1000)).toBe(false);
    expect(lockoutTripped([950, 1000], lockout, 1000)).toBe(false);
  });
  it('counts refusals dated after now', () => {
    expect(lockoutTripped([990, 2000, 3000], lockout, 1000)).toBe(true);
  });
  it('refuses malformed input', () => {
    expect(() => lockoutTripped([1.5], lockout, 1000)).toThrow(/policy\/lockout/);
    expect(() => lockoutTripped([], lockout, -1)).toThrow(/policy\/lockout/);
  });
});

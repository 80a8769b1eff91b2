import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWireError } from '../src/errors.js';
import {
  approval,
  approvals,
  bytes,
  deviceState,
  identifier,
  MAX_REPORTED_ISSUES,
  MAX_SATS,
  network,
  refusalReport,
  reportIssues,
  sats,
  text,
  uint,
} from '../src/schemas.js';

describe('bytes(min, max)', () => {
  const b = bytes(2, 4);

  it('accepts a Uint8Array within the bounds, as the same bytes', () => {
    for (const n of [2, 3, 4]) {
      const v = new Uint8Array(n).fill(7);
      expect(b.parse(v)).toEqual(v);
    }
  });

  it('refuses too short and too long byte strings with too_small / too_big', () => {
    expect(b.safeParse(new Uint8Array(1)).error?.issues[0]?.code).toBe('too_small');
    expect(b.safeParse(new Uint8Array(5)).error?.issues[0]?.code).toBe('too_big');
  });

  it('refuses what is not a Uint8Array', () => {
    for (const v of [[1, 2, 3], 'abc', 3, null, undefined, new Uint16Array(3), { length: 3 }]) {
      expect(b.safeParse(v).success, String(v)).toBe(false);
    }
  });

  it('refuses bad bounds with a WireError', () => {
    for (const [lo, hi] of [
      [-1, 3],
      [3, 2],
      [0, 1.5],
      [0, Number.NaN],
    ] as const) {
      let caught: unknown;
      try {
        bytes(lo, hi);
      } catch (e) {
        caught = e;
      }
      expect(isWireError(caught, 'INTERNAL'), `${lo}..${hi}`).toBe(true);
    }
  });
});

describe('text(min, max)', () => {
  const t = text(1, 5);

  it('accepts well-formed text within the bounds', () => {
    expect(t.parse('a')).toBe('a');
    expect(t.parse('héllo')).toBe('héllo');
    expect(t.parse('😀')).toBe('😀'); // 2 UTF-16 code units
  });

  it('refuses empty, too long, non-string and lone surrogates', () => {
    expect(t.safeParse('').success).toBe(false);
    expect(t.safeParse('abcdef').success).toBe(false);
    expect(t.safeParse(5).success).toBe(false);
    expect(t.safeParse('a\ud800').success).toBe(false);
    expect(t.safeParse('\udc00b').success).toBe(false);
  });

  it('identifier is printable ASCII without spaces', () => {
    expect(identifier.parse('device-01')).toBe('device-01');
    expect(identifier.safeParse('device 01').success).toBe(false);
    expect(identifier.safeParse('dévice').success).toBe(false);
    expect(identifier.safeParse('x'.repeat(65)).success).toBe(false);
  });
});

describe('uint', () => {
  it('accepts 0 through 2^53-1', () => {
    fc.assert(fc.property(fc.maxSafeNat(), (n) => uint.parse(n) === n));
  });

  it('refuses negatives, fractions, unsafe integers, -0, NaN, bigint and strings', () => {
    for (const v of [-1, 0.5, 2 ** 53, -0, Number.NaN, Number.POSITIVE_INFINITY, 1n, '1']) {
      expect(uint.safeParse(v).success, String(v)).toBe(false);
    }
  });
});

describe('sats', () => {
  it('accepts numbers and bigints in 0..21e14 and outputs a bigint', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_SATS }), (v) => {
        expect(sats.parse(v)).toBe(v);
        expect(sats.parse(Number(v))).toBe(v);
      }),
    );
    expect(sats.parse(0)).toBe(0n);
    expect(sats.parse(2_100_000_000_000_000)).toBe(MAX_SATS);
  });

  it('refuses amounts above 21e14 and negative amounts', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: MAX_SATS + 1n, max: 1n << 70n }), (v) => {
        expect(sats.safeParse(v).success).toBe(false);
        if (v <= BigInt(Number.MAX_SAFE_INTEGER))
          expect(sats.safeParse(Number(v)).success).toBe(false);
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 70n), max: -1n }), (v) => {
        expect(sats.safeParse(v).success).toBe(false);
      }),
    );
    for (const v of [-1, 0.5, -0, 2 ** 53, '1', null, Number.NaN]) {
      expect(sats.safeParse(v).success, String(v)).toBe(false);
    }
  });
});

describe('enums and objects', () => {
  it('network and deviceState accept exactly their members', () => {
    for (const n of ['mainnet', 'testnet', 'signet', 'regtest']) expect(network.parse(n)).toBe(n);
    expect(network.safeParse('testnet4').success).toBe(false);
    for (const s of ['uninitialized', 'locked', 'unlocked', 'armed', 'paused']) {
      expect(deviceState.parse(s)).toBe(s);
    }
    expect(deviceState.safeParse('ARMED').success).toBe(false);
  });

  it('approval is strict and needs a 64-byte signature', () => {
    const ok = { keyId: 'holder-a', signature: new Uint8Array(64) };
    expect(approval.parse(ok)).toEqual(ok);
    expect(approval.safeParse({ ...ok, extra: 1 }).success).toBe(false);
    expect(approval.safeParse({ ...ok, signature: new Uint8Array(63) }).success).toBe(false);
    expect(approval.safeParse({ keyId: '', signature: new Uint8Array(64) }).success).toBe(false);
    expect(approvals(2, 3).safeParse([ok]).success).toBe(false);
    expect(approvals(2, 3).safeParse([ok, ok]).success).toBe(true);
    expect(approvals(2, 3).safeParse([ok, ok, ok, ok]).success).toBe(false);
  });

  it('refusalReport has rule, nullable output and input, and a bounded detail', () => {
    const ok = { rule: 'per-output-cap', output: 1, input: null, detail: 'above 1 BTC' };
    expect(refusalReport.parse(ok)).toEqual(ok);
    expect(refusalReport.safeParse({ ...ok, output: undefined }).success).toBe(false);
    expect(refusalReport.safeParse({ ...ok, detail: 'x'.repeat(513) }).success).toBe(false);
  });
});

describe('reportIssues', () => {
  it('reports paths and codes only, never the offending values', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 8, maxLength: 40 }), (secret) => {
        const marked = `SECRET${secret}`;
        const r = approval.safeParse({ keyId: marked.repeat(10), signature: marked, [marked]: 1 });
        expect(r.success).toBe(false);
        if (r.success) return;
        const report = reportIssues(r.error);
        for (const issue of report) expect(Object.keys(issue).sort()).toEqual(['code', 'path']);
        expect(JSON.stringify(report)).not.toContain('SECRET');
      }),
    );
  });

  it('is bounded in count', () => {
    const r = approvals(0, 1000).safeParse(Array.from({ length: 500 }, () => ({})));
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(r.error.issues.length).toBeGreaterThan(MAX_REPORTED_ISSUES);
    expect(reportIssues(r.error)).toHaveLength(MAX_REPORTED_ISSUES);
  });
});

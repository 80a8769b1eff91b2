import { Decimal } from '@scure/btc-signer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  btcToSats,
  MAX_MONEY_SATS,
  satsToBtcNumber,
  satsToBtcString,
} from '../../src/chain/amount.js';

/** The literal Core prints for an amount: ValueFromAmount, exactly 8 decimals. */
function coreLiteral(sats: bigint): string {
  const [whole, frac = ''] = Decimal.encode(sats).split('.');
  return `${whole}.${frac.padEnd(8, '0')}`;
}

const anySats = fc.bigInt({ min: 0n, max: MAX_MONEY_SATS });

describe('btcToSats (Core JSON amount → exact satoshis)', () => {
  it('is exact for every amount Core can print (0..21e6 BTC, 8 decimals)', () => {
    fc.assert(
      fc.property(anySats, (sats) => {
        expect(btcToSats(JSON.parse(coreLiteral(sats)) as number, 't')).toBe(sats);
      }),
      { numRuns: 20_000 },
    );
  });

  it('is exact at the edges and on the classic float traps', () => {
    const cases: Array<[string, bigint]> = [
      ['0.00000000', 0n],
      ['0.00000001', 1n],
      ['0.10000000', 10_000_000n],
      ['0.20000000', 20_000_000n],
      ['0.30000000', 30_000_000n], // 0.1 + 0.2 !== 0.3 in floats; the literal still is 0.3
      ['1.00000000', 100_000_000n],
      ['20999999.97690000', 2_099_999_997_690_000n], // the total supply ever issued
      ['20999999.99999999', 2_099_999_999_999_999n],
      ['21000000.00000000', MAX_MONEY_SATS],
      ['0.29000000', 29_000_000n], // 0.29 * 1e8 = 28999999.999999996 in floats
      ['1.15000000', 115_000_000n], // 1.15 * 1e8 = 114999999.99999999
    ];
    for (const [literal, sats] of cases) {
      expect(btcToSats(JSON.parse(literal) as number, literal), literal).toBe(sats);
    }
    // The naive way is wrong on these, which is why it is not used:
    expect(BigInt(Math.trunc(0.29 * 1e8))).toBe(28_999_999n);
  });

  it('refuses a float with more than 8 decimals (e.g. a computed 0.1 + 0.2)', () => {
    expect(() => btcToSats(0.1 + 0.2, 'fee')).toThrow(/fee: expected at most 8 decimals/);
    expect(() => btcToSats(0.000000001, 'fee')).toThrow(RangeError);
  });

  it('refuses beyond 21e6 BTC, NaN and infinities; keeps the sign of negative amounts', () => {
    expect(() => btcToSats(21_000_000.00000001, 'x')).toThrow(/at most 21e6 BTC/);
    expect(() => btcToSats(Number.NaN, 'x')).toThrow(TypeError);
    expect(() => btcToSats(Number.POSITIVE_INFINITY, 'x')).toThrow(TypeError);
    expect(btcToSats(-0.00001, 'x')).toBe(-1000n);
  });
});

describe('satsToBtcString / satsToBtcNumber (satoshis → Core AMOUNT argument)', () => {
  it('formats exactly', () => {
    expect(satsToBtcString(1n, 'x')).toBe('0.00000001');
    expect(satsToBtcString(100_000_000n, 'x')).toBe('1');
    expect(satsToBtcString(2_099_999_997_690_000n, 'x')).toBe('20999999.9769');
    expect(JSON.stringify(satsToBtcNumber(1n, 'x'))).toBe('1e-8');
    expect(JSON.stringify(satsToBtcNumber(12_345_678n, 'x'))).toBe('0.12345678');
  });

  it('the JSON text sent reads back as the same satoshis, for every amount', () => {
    fc.assert(
      fc.property(anySats, (sats) => {
        const text = JSON.stringify(satsToBtcNumber(sats, 't'));
        // What Core's ParseFixedPoint accepts: a decimal, or a mantissa with an exponent.
        expect(text).toMatch(/^\d+(\.\d{1,8})?$|^\d(\.\d+)?e-\d+$/);
        expect(btcToSats(JSON.parse(text) as number, 't')).toBe(sats);
      }),
      { numRuns: 20_000 },
    );
  });

  it('refuses negative, non-bigint and over-supply amounts', () => {
    expect(() => satsToBtcString(-1n, 'pay')).toThrow(/pay: expected 0..21e14 satoshis/);
    expect(() => satsToBtcString(MAX_MONEY_SATS + 1n, 'pay')).toThrow(RangeError);
    expect(() => satsToBtcString(5 as unknown as bigint, 'pay')).toThrow(RangeError);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { amountToBtcString, formatMoney, parseFixedPoint } from '../src/consensus/amount.js';
import { MAX_MONEY } from '../src/consensus/params.js';
import { Amount, formatDouble, JsonFloat, writeJson } from '../src/rpc/json.js';

describe('amounts as Core writes and reads them', () => {
  it('ValueFromAmount always has 8 decimals; FormatMoney trims to at least 2', () => {
    expect(amountToBtcString(5_000_000_000n)).toBe('50.00000000');
    expect(amountToBtcString(1n)).toBe('0.00000001');
    expect(amountToBtcString(-150_000_000n)).toBe('-1.50000000');
    expect(formatMoney(100_000_000n)).toBe('1.00');
    expect(formatMoney(10_000n)).toBe('0.0001');
    expect(formatMoney(110n)).toBe('0.0000011');
  });

  it('ParseFixedPoint takes decimals and exponents, refuses excess precision and leading zeros', () => {
    expect(parseFixedPoint('0.1', 8)).toBe(10_000_000n);
    expect(parseFixedPoint('1e-8', 8)).toBe(1n);
    expect(parseFixedPoint('21000000', 8)).toBe(MAX_MONEY);
    expect(parseFixedPoint('0.000000001', 8)).toBeNull();
    expect(parseFixedPoint('01', 8)).toBeNull();
    expect(parseFixedPoint('abc', 8)).toBeNull();
    expect(parseFixedPoint('-1', 8)).toBe(-100_000_000n);
    expect(parseFixedPoint('2.5', 3)).toBe(2500n);
  });

  it('reads back every amount it writes', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: MAX_MONEY }),
        (sats) => parseFixedPoint(amountToBtcString(sats), 8) === sats,
      ),
    );
  });

  it('writes doubles with 16 significant digits as C++ streams do', () => {
    expect(formatDouble(0x0000ffff / 0x7fffff / 256 / 256 / 256)).toBe('4.656542373906925e-10');
    expect(formatDouble(1)).toBe('1');
    expect(formatDouble(1e-5)).toBe('1e-05');
    expect(formatDouble(1e16)).toBe('1e+16');
    expect(formatDouble(123.456)).toBe('123.456');
  });

  it('writes JSON compactly, amounts with 8 decimals, and the 4-space pretty form', () => {
    expect(
      writeJson({ a: new Amount(2000n), b: [1, 'x', null, true], c: new JsonFloat(0.5) }),
    ).toBe('{"a":0.00002000,"b":[1,"x",null,true],"c":0.5}');
    expect(writeJson({ k: 'v' }, 4)).toBe('{\n    "k": "v"\n}');
  });
});

import { describe, expect, it } from 'vitest';
import {
  type CborLimits,
  checkStrictCbor,
  DEFAULT_CBOR_LIMITS,
  FORBIDDEN_MAP_KEYS,
} from '../src/cbor-check.js';
import { type ErrorName, WireError } from '../src/errors.js';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

function text(s: string): string {
  return Buffer.from(s, 'utf8').toString('hex');
}

/** The WireError `checkStrictCbor` throws for `bytes`; fails the test when it does not throw one. */
function rejection(bytes: Uint8Array, limits?: Partial<CborLimits>): WireError {
  try {
    checkStrictCbor(bytes, limits);
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    return e as WireError;
  }
  throw new Error(`accepted ${Buffer.from(bytes).toString('hex')}`);
}

function expectRejected(
  h: string,
  message: RegExp,
  code: ErrorName = 'BAD_CBOR',
  limits?: Partial<CborLimits>,
): void {
  const e = rejection(hex(h), limits);
  expect(e.code).toBe(code);
  expect(e.message).toMatch(/^cbor\/check: at byte \d+: /);
  expect(e.message).toMatch(message);
}

describe('checkStrictCbor: defaults', () => {
  it('has the documented default limits, frozen', () => {
    expect(DEFAULT_CBOR_LIMITS).toEqual({
      maxDepth: 16,
      maxBytes: 8 * 1024 * 1024 + 64 * 1024,
      maxItems: 100_000,
      maxStringBytes: 8 * 1024 * 1024,
    });
    expect(Object.isFrozen(DEFAULT_CBOR_LIMITS)).toBe(true);
    expect(Object.isFrozen(FORBIDDEN_MAP_KEYS)).toBe(true);
  });
});

// RFC 8949 Appendix A (hex as printed there; also github.com/cbor/test-vectors appendix_a.json).
const RFC_IN_MODEL = [
  '00',
  '01',
  '0a',
  '17',
  '1818',
  '1819',
  '1864',
  '1903e8',
  '1a000f4240',
  '1b000000e8d4a51000',
  '1bffffffffffffffff',
  '3bffffffffffffffff',
  '20',
  '29',
  '3863',
  '3903e7',
  'f4',
  'f5',
  'f6',
  '40',
  '4401020304',
  '60',
  '6161',
  '6449455446',
  '62225c',
  '62c3bc',
  '63e6b0b4',
  '64f0908591',
  '80',
  '83010203',
  '8301820203820405',
  '98190102030405060708090a0b0c0d0e0f101112131415161718181819',
  'a0',
  'a26161016162820203',
  '826161a161626163',
  'a56161614161626142616361436164614461656145',
];

const RFC_OUT_OF_MODEL: readonly [string, string][] = [
  ['c249010000000000000000', 'bignum tag 2'],
  ['c349010000000000000000', 'bignum tag 3'],
  ['f90000', 'float16 0.0'],
  ['f98000', 'float16 -0.0'],
  ['f93c00', 'float16 1.0'],
  ['fb3ff199999999999a', 'float64 1.1'],
  ['f93e00', 'float16 1.5'],
  ['f97bff', 'float16 65504.0'],
  ['fa47c35000', 'float32 100000.0'],
  ['fa7f7fffff', 'float32 max'],
  ['fb7e37e43c8800759c', 'float64 1.0e+300'],
  ['f90001', 'float16 subnormal'],
  ['f90400', 'float16 min normal'],
  ['f9c400', 'float16 -4.0'],
  ['fbc010666666666666', 'float64 -4.1'],
  ['f97c00', 'float16 Infinity'],
  ['f97e00', 'float16 NaN'],
  ['f9fc00', 'float16 -Infinity'],
  ['fa7f800000', 'float32 Infinity'],
  ['fa7fc00000', 'float32 NaN'],
  ['faff800000', 'float32 -Infinity'],
  ['fb7ff0000000000000', 'float64 Infinity'],
  ['fb7ff8000000000000', 'float64 NaN'],
  ['fbfff0000000000000', 'float64 -Infinity'],
  ['f7', 'undefined'],
  ['f0', 'simple(16)'],
  ['f818', 'simple(24)'],
  ['f8ff', 'simple(255)'],
  ['c074323031332d30332d32315432303a30343a30305a', 'tag 0 date string'],
  ['c11a514b67b0', 'tag 1 epoch'],
  ['c1fb41d452d9ec200000', 'tag 1 float epoch'],
  ['d74401020304', 'tag 23'],
  ['d818456449455446', 'tag 24'],
  ['d82076687474703a2f2f7777772e6578616d706c652e636f6d', 'tag 32 URI'],
  ['a201020304', '{1: 2, 3: 4}: integer keys'],
  ['5f42010243030405ff', 'indefinite byte string'],
  ['7f657374726561646d696e67ff', 'indefinite text string'],
  ['9fff', 'indefinite empty array'],
  ['9f018202039f0405ffff', 'indefinite arrays'],
  ['9f01820203820405ff', 'indefinite outer array'],
  ['83018202039f0405ff', 'indefinite inner array'],
  ['83019f0203ff820405', 'indefinite middle array'],
  ['9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff', 'indefinite long array'],
  ['bf61610161629f0203ffff', 'indefinite map'],
  ['826161bf61626163ff', 'indefinite inner map'],
  ['bf6346756ef563416d7421ff', 'indefinite map Fun/Amt'],
];

describe('checkStrictCbor: RFC 8949 Appendix A', () => {
  it.each(RFC_IN_MODEL)('accepts in-model example %s', (h) => {
    expect(() => checkStrictCbor(hex(h))).not.toThrow();
  });

  it.each(RFC_OUT_OF_MODEL)('rejects %s (%s) with BAD_CBOR', (h) => {
    expect(rejection(hex(h)).code).toBe('BAD_CBOR');
  });
});

describe('checkStrictCbor: each rejection class', () => {
  it('indefinite lengths of every major type', () => {
    expectRejected('5f ff', /indefinite-length byte string/);
    expectRejected('7f ff', /indefinite-length text string/);
    expectRejected('9f ff', /indefinite-length array/);
    expectRejected('bf ff', /indefinite-length map/);
    expectRejected('1f', /additional info 31 on a unsigned integer/);
    expectRejected('3f', /additional info 31 on a negative integer/);
  });

  it('a break stop code outside an indefinite item', () => {
    expectRejected('ff', /break stop code/);
    expectRejected('81 ff', /at byte 1: .*break stop code/);
  });

  it('reserved additional info 28-30', () => {
    for (const b of ['1c', '1d', '1e', '3c', '5c', '7d', '9e', 'bc']) {
      expectRejected(b, /reserved 2[89]|reserved 30/);
    }
    for (const b of ['fc', 'fd', 'fe']) expectRejected(b, /reserved additional info/);
  });

  it('any tag, even around an in-model item', () => {
    expectRejected('c0 60', /expected no tags/);
    expectRejected('d9d9f7 00', /expected no tags/);
    expectRejected('81 c2 40', /at byte 1: expected no tags/);
  });

  it('floats, undefined and simple values other than false/true/null', () => {
    expectRejected('f9 3c00', /float16/);
    expectRejected('fa 3f800000', /float32/);
    expectRejected('fb 3ff0000000000000', /float64/);
    expectRejected('f7', /undefined/);
    expectRejected('e0', /simple value 0/);
    expectRejected('f3', /simple value 19/);
    expectRejected('f8 20', /one-byte simple value/);
  });

  it('non-shortest integers', () => {
    expectRejected('18 17', /shortest encoding of 23, got a 1-byte argument/);
    expectRejected('19 00ff', /shortest encoding of 255, got a 2-byte/);
    expectRejected('1a 0000ffff', /shortest encoding of 65535, got a 4-byte/);
    expectRejected('1b 00000000ffffffff', /shortest encoding of 4294967295, got a 8-byte/);
    expectRejected('38 00', /shortest encoding of 0/);
    expectRejected('3b 0000000000000000', /shortest encoding of 0/);
  });

  it('non-shortest lengths and counts', () => {
    expectRejected('58 01 00', /shortest encoding of 1/);
    expectRejected('78 01 61', /shortest encoding of 1/);
    expectRejected('98 01 00', /shortest encoding of 1/);
    expectRejected('b8 01 6161 00', /shortest encoding of 1/);
    expectRejected('59 0017', /shortest encoding of 23/);
  });

  it('the shortest forms at every boundary are accepted', () => {
    for (const h of [
      '17',
      '18 18',
      '18 ff',
      '19 0100',
      '19 ffff',
      '1a 00010000',
      '1a ffffffff',
      '1b 0000000100000000',
      '37',
      '38 18',
      '3a ffffffff',
      '3b 0000000100000000',
    ]) {
      expect(() => checkStrictCbor(hex(h)), h).not.toThrow();
    }
  });

  it('duplicate map keys', () => {
    expectRejected('a2 6161 01 6161 02', /at byte 4: expected unique map keys, got "a" twice/);
  });

  it('unsorted map keys, including length-first order of encodings', () => {
    expectRejected('a2 6162 01 6161 02', /at byte 4: .*increasing bytewise order/);
    // "b" encodes as 61 62 and "aa" as 62 61 61: "b" must come first.
    expect(() => checkStrictCbor(hex('a2 6162 02 626161 01'))).not.toThrow();
    expectRejected('a2 626161 01 6162 02', /at byte 5: .*increasing bytewise order/);
  });

  it('keys that are not text strings', () => {
    expectRejected('a1 01 02', /expected a text-string map key, got a unsigned integer/);
    expectRejected('a1 4161 02', /expected a text-string map key, got a byte string/);
    expectRejected('a1 80 02', /got a array/);
    expectRejected('a1 f6 02', /got a simple\/float/);
    expectRejected('a1 c0 6161 02', /got a tag/);
  });

  it('invalid UTF-8 in text strings', () => {
    expectRejected('62 c328', /valid UTF-8/); // bad continuation
    expectRejected('62 c080', /valid UTF-8/); // overlong NUL
    expectRejected('63 e08080', /valid UTF-8/); // overlong 3-byte
    expectRejected('63 eda080', /valid UTF-8/); // UTF-16 surrogate D800
    expectRejected('64 f4908080', /valid UTF-8/); // above U+10FFFF
    expectRejected('61 c3', /valid UTF-8/); // truncated sequence
    expectRejected('61 80', /valid UTF-8/); // lone continuation byte
    expectRejected('61 ff', /valid UTF-8/);
    expectRejected('a1 61 ff 00', /valid UTF-8/); // in a key too
    // valid multi-byte sequences pass
    expect(() => checkStrictCbor(hex(`64${text('\u{10ffff}')}`))).not.toThrow();
  });

  it('byte strings are not checked for UTF-8', () => {
    expect(() => checkStrictCbor(hex('42 c328'))).not.toThrow();
  });

  it('nesting deeper than maxDepth', () => {
    const ok = `${'81'.repeat(16)}00`;
    expect(() => checkStrictCbor(hex(ok))).not.toThrow();
    expectRejected(`${'81'.repeat(17)}00`, /at byte 16: expected nesting depth at most 16, got 17/);
    expectRejected(`${'a1 6161'.repeat(17)}00`, /nesting depth at most 16, got 17/);
    expectRejected('81 81 00', /depth at most 1, got 2/, 'BAD_CBOR', { maxDepth: 1 });
    expectRejected('80', /depth at most 0, got 1/, 'BAD_CBOR', { maxDepth: 0 });
  });

  it('10,000 nested arrays are rejected without stack overflow, also at the largest maxDepth', () => {
    const bytes = new Uint8Array(10_001).fill(0x81);
    bytes[10_000] = 0x00;
    const e = rejection(bytes);
    expect(e.code).toBe('BAD_CBOR');
    expect(e.message).toMatch(/nesting depth/);
    const e2 = rejection(bytes, { maxDepth: 256 });
    expect(e2.message).toMatch(/at byte 256: expected nesting depth at most 256, got 257/);
  });

  it('declared lengths and counts beyond the remaining bytes, before anything is read', () => {
    expectRejected(
      '5a ffffffff 00010203040506070809',
      /byte string declares 4294967295 bytes, only 10 remain/,
    );
    expectRejected(
      '7b 0000000100000000 00',
      /text string declares 4294967296 bytes, only 1 remain/,
    );
    expectRejected(
      '9b 0000000100000000 00010203040506070809',
      /array declares 4294967296 elements/,
    );
    expectRejected('9b ffffffffffffffff 00', /array declares 18446744073709551615 elements/);
    expectRejected('bb ffffffffffffffff 00', /map declares 18446744073709551615 entries/);
    expectRejected('83 01 02', /array declares 3 elements needing at least 1 byte each, only 2/);
    expectRejected('a1 6161', /at byte 3: expected a data item, got end of input/);
    expectRejected(
      '82 01',
      /at byte 0: array declares 2 elements needing at least 1 byte each, only 1/,
    );
    // a map entry needs at least two bytes
    expectRejected('a2 6161 01', /map declares 2 entries needing at least 2 bytes each, only 3/);
    expectRejected('43 0102', /declares 3 bytes, only 2 remain/);
  });

  it('truncated heads', () => {
    expectRejected('', /at byte 0: expected a data item, got end of input/);
    expectRejected(
      '19 01',
      /expected 2 more byte\(s\) for the argument of a unsigned integer, got 1/,
    );
    expectRejected('3b 0102', /expected 8 more byte/);
    expectRejected('81 18', /at byte 1: expected 1 more byte/);
  });

  it('trailing bytes after the top-level item', () => {
    expectRejected(
      '00 00',
      /at byte 1: expected end of input after the top-level item, got 1 trailing byte/,
    );
    expectRejected('80 ff ff', /got 2 trailing/);
  });

  it('the prototype-pollution keys __proto__, constructor and prototype', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const keyHex = text(key);
      const h = `a1 ${(0x60 + key.length).toString(16)} ${keyHex} a0`;
      expectRejected(h, new RegExp(`expected no map key "${key}" \\(prototype-pollution guard\\)`));
    }
    // as a value, or as part of a longer key, they are ordinary strings
    expect(() => checkStrictCbor(hex(`69${text('__proto__')}`))).not.toThrow();
    expect(() => checkStrictCbor(hex(`a1 6a ${text('__proto__x')} 00`))).not.toThrow();
  });

  it('reports the offset of the offending item', () => {
    // [1, [2, {"a": 1.5}]]: the float is at byte 6
    expectRejected(
      '82 01 82 02 a1 6161 f93e00',
      /^cbor\/check: at byte 7: expected false, true or null/,
    );
  });
});

describe('checkStrictCbor: limits', () => {
  it('maxBytes: MESSAGE_TOO_LARGE before looking at the content', () => {
    expectRejected('ff ff ff', /at byte 0: expected at most 2 bytes, got 3/, 'MESSAGE_TOO_LARGE', {
      maxBytes: 2,
    });
  });

  it('maxStringBytes: MESSAGE_TOO_LARGE for a byte or text string over the limit', () => {
    expectRejected('43 010203', /byte string of at most 2 bytes, got 3/, 'MESSAGE_TOO_LARGE', {
      maxStringBytes: 2,
    });
    expectRejected('63 616263', /text string of at most 2 bytes, got 3/, 'MESSAGE_TOO_LARGE', {
      maxStringBytes: 2,
    });
    expect(() => checkStrictCbor(hex('42 0102'), { maxStringBytes: 2 })).not.toThrow();
  });

  it('maxItems per container and in total', () => {
    expectRejected('83 01 02 03', /array of at most 2 items, got 3/, 'BAD_CBOR', { maxItems: 2 });
    expectRejected('a3 6161 01 6162 02 6163 03', /map of at most 2 items, got 3/, 'BAD_CBOR', {
      maxItems: 2,
    });
    expectRejected(
      '82 82 01 02 00',
      /at byte 1: expected at most 3 items in the message, got 4/,
      'BAD_CBOR',
      {
        maxItems: 3,
      },
    );
    expect(() => checkStrictCbor(hex('82 81 01 00'), { maxItems: 3 })).not.toThrow();
  });

  it('the default maxItems admits 100,000 elements and refuses 100,001', () => {
    const ok = new Uint8Array(5 + 100_000);
    ok.set([0x9a, 0x00, 0x01, 0x86, 0xa0]);
    expect(() => checkStrictCbor(ok)).not.toThrow();
    const over = new Uint8Array(5 + 100_001);
    over.set([0x9a, 0x00, 0x01, 0x86, 0xa1]);
    expect(rejection(over).message).toMatch(/at most 100000 items, got 100001/);
  });

  it('invalid limits are a caller bug: INTERNAL', () => {
    for (const limits of [
      { maxDepth: -1 },
      { maxDepth: 1.5 },
      { maxDepth: 257 },
      { maxBytes: Number.NaN },
      { maxItems: 2 ** 40 },
      { maxStringBytes: '5' as unknown as number },
    ]) {
      const e = rejection(hex('00'), limits);
      expect(e.code).toBe('INTERNAL');
      expect(e.message).toMatch(
        /^cbor\/check: expected limits\.\w+ to be an integer in 0\.\.\d+, got/,
      );
    }
  });

  it('input that is not a Uint8Array is BAD_CBOR', () => {
    for (const input of [null, undefined, 'a0', [0], new ArrayBuffer(1)]) {
      const e = rejection(input as unknown as Uint8Array);
      expect(e.code).toBe('BAD_CBOR');
      expect(e.message).toMatch(/^cbor\/check: expected a Uint8Array, got /);
    }
  });

  it('accepts a Uint8Array view at an offset into a larger buffer', () => {
    const backing = hex('ff ff 82 01 02 ff');
    expect(() => checkStrictCbor(backing.subarray(2, 5))).not.toThrow();
  });
});

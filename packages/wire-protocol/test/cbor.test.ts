import { Decoder } from 'cbor-x';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeStrict, encodeCanonical } from '../src/cbor.js';
import { checkStrictCbor, FORBIDDEN_MAP_KEYS } from '../src/cbor-check.js';
import { type ErrorName, WireError } from '../src/errors.js';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function thrown(f: () => unknown): WireError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    return e as WireError;
  }
  throw new Error('did not throw');
}

function expectEncodeRejected(value: unknown, message: RegExp, code: ErrorName = 'INTERNAL'): void {
  const e = thrown(() => encodeCanonical(value));
  expect(e.code).toBe(code);
  expect(e.message).toMatch(/^cbor\/encode: /);
  expect(e.message).toMatch(message);
}

afterEach(() => {
  vi.restoreAllMocks();
});

// RFC 8949 Appendix A examples inside the data model: hex -> decoded value.
// Source: RFC 8949 Appendix A (also github.com/cbor/test-vectors appendix_a.json).
const RFC_EXAMPLES: readonly [string, unknown][] = [
  ['00', 0],
  ['01', 1],
  ['0a', 10],
  ['17', 23],
  ['1818', 24],
  ['1819', 25],
  ['1864', 100],
  ['1903e8', 1000],
  ['1a000f4240', 1000000],
  ['1b000000e8d4a51000', 1000000000000],
  ['1bffffffffffffffff', 18446744073709551615n],
  ['3bffffffffffffffff', -18446744073709551616n],
  ['20', -1],
  ['29', -10],
  ['3863', -100],
  ['3903e7', -1000],
  ['f4', false],
  ['f5', true],
  ['f6', null],
  ['40', new Uint8Array()],
  ['4401020304', new Uint8Array([1, 2, 3, 4])],
  ['60', ''],
  ['6161', 'a'],
  ['6449455446', 'IETF'],
  ['62225c', '"\\'],
  ['62c3bc', '\u00fc'],
  ['63e6b0b4', '\u6c34'],
  ['64f0908591', '\ud800\udd51'],
  ['80', []],
  ['83010203', [1, 2, 3]],
  ['8301820203820405', [1, [2, 3], [4, 5]]],
  [
    '98190102030405060708090a0b0c0d0e0f101112131415161718181819',
    Array.from({ length: 25 }, (_, i) => i + 1),
  ],
  ['a0', {}],
  ['a26161016162820203', { a: 1, b: [2, 3] }],
  ['826161a161626163', ['a', { b: 'c' }]],
  ['a56161614161626142616361436164614461656145', { a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' }],
];

// RFC 8949 Appendix A examples outside the data model.
const RFC_OUT_OF_MODEL = [
  'c249010000000000000000',
  'c349010000000000000000',
  'f90000',
  'f93c00',
  'fb3ff199999999999a',
  'fa47c35000',
  'f97c00',
  'f97e00',
  'fb7ff8000000000000',
  'f7',
  'f0',
  'f818',
  'f8ff',
  'c074323031332d30332d32315432303a30343a30305a',
  'c11a514b67b0',
  'd74401020304',
  'd82076687474703a2f2f7777772e6578616d706c652e636f6d',
  'a201020304',
  '5f42010243030405ff',
  '7f657374726561646d696e67ff',
  '9fff',
  '9f018202039f0405ffff',
  'bf61610161629f0203ffff',
  'bf6346756ef563416d7421ff',
];

describe('RFC 8949 Appendix A', () => {
  it.each(RFC_EXAMPLES)(
    '%s decodes to the example value and re-encodes to the same bytes',
    (h, value) => {
      const decoded = decodeStrict(hex(h));
      expect(decoded).toEqual(value);
      expect(typeof decoded).toBe(typeof value);
      expect(toHex(encodeCanonical(value))).toBe(h);
      expect(toHex(encodeCanonical(decoded))).toBe(h);
    },
  );

  it.each(RFC_OUT_OF_MODEL)('%s is rejected with BAD_CBOR by decodeStrict', (h) => {
    const e = thrown(() => decodeStrict(hex(h)));
    expect(e.code).toBe('BAD_CBOR');
    expect(e.message).toMatch(/^cbor\/check: at byte \d+: /);
  });
});

describe('integers', () => {
  const TWO_53 = 2n ** 53n;
  const CASES: readonly [number | bigint, string][] = [
    [0, '00'],
    [23, '17'],
    [24, '1818'],
    [255, '18ff'],
    [256, '190100'],
    [65535, '19ffff'],
    [65536, '1a00010000'],
    [2 ** 32 - 1, '1affffffff'],
    [2 ** 32, '1b0000000100000000'],
    [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
    [TWO_53, '1b0020000000000000'],
    [2n ** 64n - 1n, '1bffffffffffffffff'],
    [-1, '20'],
    [-24, '37'],
    [-25, '3818'],
    [-256, '38ff'],
    [-257, '390100'],
    [-65536, '39ffff'],
    [-65537, '3a00010000'],
    [-(2 ** 32), '3affffffff'],
    [-(2 ** 32) - 1, '3b0000000100000000'],
    [Number.MIN_SAFE_INTEGER, '3b001ffffffffffffe'],
    [-TWO_53, '3b001fffffffffffff'],
    [-(2n ** 64n), '3bffffffffffffffff'],
  ];

  it.each(CASES)('%s encodes as %s and decodes back', (value, h) => {
    expect(toHex(encodeCanonical(value))).toBe(h);
    expect(decodeStrict(hex(h))).toBe(value);
  });

  it('a safe integer decodes as number, anything beyond as bigint', () => {
    expect(decodeStrict(hex('1b001fffffffffffff'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeStrict(hex('1b0020000000000000'))).toBe(TWO_53);
    expect(decodeStrict(hex('3b001ffffffffffffe'))).toBe(Number.MIN_SAFE_INTEGER);
    expect(decodeStrict(hex('3b001fffffffffffff'))).toBe(-TWO_53);
  });

  it('number and bigint of the same value encode identically', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(encodeCanonical(BigInt(n))).toEqual(encodeCanonical(n));
      }),
      { numRuns: 500 },
    );
  });

  it('-0 encodes as 0', () => {
    expect(toHex(encodeCanonical(-0))).toBe('00');
  });
});

describe('encodeCanonical: values outside the data model are INTERNAL', () => {
  class Thing {
    a = 1;
  }
  it.each([
    [1.5, /expected a safe integer .*got 1\.5/],
    [Number.NaN, /got NaN/],
    [Number.POSITIVE_INFINITY, /got Infinity/],
    [Number.NEGATIVE_INFINITY, /got -Infinity/],
    [2 ** 60, /got unsafe integer/],
    [2n ** 64n, /expected an integer in -2\^64\.\.2\^64-1, got 18446744073709551616/],
    [-(2n ** 64n) - 1n, /got -18446744073709551617/],
    [undefined, /got undefined/],
    [() => 1, /got function/],
    [Symbol('s'), /got symbol/],
    [new Date(0), /got Date/],
    [new Thing(), /got Thing/],
    [new Set([1]), /got Set/],
    [new Uint16Array(2), /got Uint16Array/],
    [new ArrayBuffer(2), /got ArrayBuffer/],
    [new DataView(new ArrayBuffer(2)), /got DataView/],
    [/re/, /got RegExp/],
    [new Map<unknown, unknown>([[1, 2]]), /expected text map keys, got a number key/],
    [{ [Symbol('k')]: 1 }, /got a symbol key/],
    ['\ud800', /lone surrogate/],
    ['a\udc00b', /lone surrogate/],
    [{ a: [1, undefined] }, /at \$\."a"\[1\]: .*got undefined/],
    [new Array(3), /at \$\[0\]: .*got undefined/], // a sparse array: holes read as undefined
  ])('%s', (value, message) => {
    expectEncodeRejected(value, message);
  });

  it('the prototype-pollution keys, however the object was built', () => {
    expectEncodeRejected(JSON.parse('{"__proto__": {"polluted": true}}'), /"__proto__"/);
    expectEncodeRejected({ constructor: 1 }, /"constructor" \(prototype-pollution guard\)/);
    expectEncodeRejected(new Map([['prototype', 1]]), /"prototype"/);
  });

  it('a getter that throws still yields a WireError', () => {
    const hostile = {
      get a(): number {
        throw new TypeError('boom');
      },
    };
    expectEncodeRejected(hostile, /reading the value threw: boom/);
  });

  it('nesting deeper than 16 containers, and cycles', () => {
    let ok: unknown = 0;
    for (let i = 0; i < 16; i++) ok = [ok];
    expect(() => encodeCanonical(ok)).not.toThrow();
    expectEncodeRejected([ok], /expected nesting depth at most 16, got 17/);
    let deep: unknown = 0;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expectEncodeRejected(deep, /nesting depth/);
    const cycle: unknown[] = [];
    cycle.push(cycle);
    expectEncodeRejected(cycle, /nesting depth/);
  });

  it('item limits', () => {
    expectEncodeRejected(new Array(100_001).fill(0), /array of at most 100000 items, got 100001/);
    expectEncodeRejected(
      [new Array(60_000).fill(0), new Array(60_000).fill(0)],
      /at most 100000 items in total/,
    );
  });

  it('size limits are MESSAGE_TOO_LARGE', () => {
    const big = new Uint8Array(8 * 1024 * 1024 + 1);
    expectEncodeRejected(
      big,
      /byte string of at most 8388608 bytes, got 8388609/,
      'MESSAGE_TOO_LARGE',
    );
    expectEncodeRejected(
      'x'.repeat(8 * 1024 * 1024 + 1),
      /text string of at most 8388608/,
      'MESSAGE_TOO_LARGE',
    );
    const e = thrown(() =>
      encodeCanonical([new Uint8Array(10), new Uint8Array(10)], { maxBytes: 15 }),
    );
    expect(e.code).toBe('MESSAGE_TOO_LARGE');
    expect(e.message).toMatch(/^cbor\/encode: expected at most 15 encoded bytes, got at least \d+/);
  });
});

describe('encodeCanonical: deterministic output', () => {
  it('sorts keys by their encoded form, integer-like keys included', () => {
    // JS iterates integer-like keys first ("2", "10", "b", "a"); the wire order is by encoding:
    // "2" (61 32) < "a" (61 61) < "b" (61 62) < "10" (62 31 30).
    const v = { b: 1, 10: 2, a: 3, 2: 4 };
    expect(toHex(encodeCanonical(v))).toBe(
      'a4 6132 04 6161 03 6162 01 623130 02'.replace(/ /g, ''),
    );
  });

  it('a Map, a plain object and a null-prototype object give the same bytes', () => {
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, {
      z: 1,
      a: [2],
    });
    const a = encodeCanonical({ z: 1, a: [2] });
    expect(
      encodeCanonical(
        new Map<string, unknown>([
          ['a', [2]],
          ['z', 1],
        ]),
      ),
    ).toEqual(a);
    expect(encodeCanonical(nullProto)).toEqual(a);
    expect(decodeStrict(a)).toEqual({ a: [2], z: 1 });
  });

  it('writes byte strings without a tag, also from a Buffer or a view at an offset', () => {
    expect(toHex(encodeCanonical(new Uint8Array([1, 2])))).toBe('420102');
    expect(toHex(encodeCanonical(Buffer.from([1, 2])))).toBe('420102');
    expect(toHex(encodeCanonical(new Uint8Array([9, 1, 2, 9]).subarray(1, 3)))).toBe('420102');
  });

  it('encodes the PROTOCOL.md §4a example to the documented 84 bytes', () => {
    const value = {
      method: 'get_xpub',
      id: 7,
      params: {
        path: "m/48'/0'/0'/2'",
        amount: 2100000000000000n,
        nonce: new Uint8Array([0xde, 0xad]),
        ok: true,
        memo: null,
      },
    };
    const documented =
      'a3 626964 07 666d6574686f64 686765745f78707562 66706172616d73 a5 626f6b f5 646d656d6f f6 ' +
      '6470617468 6e6d2f3438272f30272f30272f3227 656e6f6e6365 42dead 66616d6f756e74 1b000775f05a074000';
    expect(toHex(encodeCanonical(value))).toBe(documented.replace(/ /g, ''));
  });

  it('returns a plain Uint8Array', () => {
    expect(encodeCanonical({ a: 'x' }).constructor).toBe(Uint8Array);
  });

  it('long and non-ASCII text strings use the shortest length head', () => {
    for (const s of [
      'x'.repeat(23),
      'x'.repeat(24),
      'é'.repeat(40),
      '水'.repeat(100),
      'y'.repeat(70_000),
    ]) {
      const bytes = encodeCanonical(s);
      expect(() => checkStrictCbor(bytes)).not.toThrow();
      expect(decodeStrict(bytes)).toBe(s);
    }
  });
});

describe('decodeStrict', () => {
  it('returns byte strings as Uint8Array copies, not views of the input', () => {
    const input = encodeCanonical({ b: new Uint8Array([1, 2, 3]), c: [new Uint8Array([4])] });
    const out = decodeStrict(input) as { b: Uint8Array; c: Uint8Array[] };
    expect(out.b.constructor).toBe(Uint8Array);
    expect(out.b.buffer).not.toBe(input.buffer);
    input.fill(0);
    expect([...out.b]).toEqual([1, 2, 3]);
    expect([...(out.c[0] ?? [])]).toEqual([4]);
  });

  it('decodes maps as plain objects and leaves the caller input untouched', () => {
    const input = hex('a26161016162820203');
    const out = decodeStrict(input);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(input)).toEqual(Object.keys(hex('a26161016162820203')));
  });

  it('a hostile map cannot pollute Object.prototype', () => {
    // {"__proto__": {"polluted": true}} and {"constructor": {"prototype": {"polluted": true}}}
    const hostile = [
      hex('a1 695f5f70726f746f5f5f a1 68706f6c6c75746564 f5'),
      hex('a1 6b636f6e7374727563746f72 a1 6970726f746f74797065 a1 68706f6c6c75746564 f5'),
      hex('a1 6161 a1 695f5f70726f746f5f5f a1 68706f6c6c75746564 f5'),
    ];
    for (const bytes of hostile) {
      const e = thrown(() => decodeStrict(bytes));
      expect(e.code).toBe('BAD_CBOR');
      expect(e.message).toMatch(/prototype-pollution guard/);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('cbor-x never sees rejected input: a huge declared length is refused before any decoding', () => {
    const spy = vi.spyOn(Decoder.prototype, 'decode');
    const huge = hex('9b 0000000100000000 00010203040506070809'); // 2^32 elements, 10 bytes left
    const e = thrown(() => decodeStrict(huge));
    expect(e.code).toBe('BAD_CBOR');
    expect(e.message).toMatch(
      /array declares 4294967296 elements needing at least 1 byte each, only 10/,
    );
    expect(thrown(() => decodeStrict(hex('5b 00000000ffffffff 00'))).code).toBe('BAD_CBOR');
    expect(spy).not.toHaveBeenCalled();
    decodeStrict(hex('80'));
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('10,000 nested arrays are rejected without stack overflow', () => {
    const bytes = new Uint8Array(10_001).fill(0x81);
    bytes[10_000] = 0;
    const e = thrown(() => decodeStrict(bytes));
    expect(e.code).toBe('BAD_CBOR');
    expect(e.message).toMatch(/at byte 16: expected nesting depth at most 16, got 17/);
  });

  it('passes limits to the checker', () => {
    expect(thrown(() => decodeStrict(hex('83 01 02 03'), { maxItems: 2 })).code).toBe('BAD_CBOR');
    expect(thrown(() => decodeStrict(hex('43 010203'), { maxBytes: 3 })).code).toBe(
      'MESSAGE_TOO_LARGE',
    );
  });

  it('a 4 MiB byte string inside a map round-trips (time reported, not asserted)', () => {
    const payload = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4096) payload[i] = i & 0xff;
    const value = { id: 7, method: 'sign_psbt', params: { psbt: payload } };
    const t0 = performance.now();
    const bytes = encodeCanonical(value);
    const t1 = performance.now();
    const back = decodeStrict(bytes) as { params: { psbt: Uint8Array } };
    const t2 = performance.now();
    expect(bytes.length).toBe(payload.length + 40);
    // Buffer.equals: vitest's deep equality walks 4 Mi elements one by one (seconds).
    expect(Buffer.from(back.params.psbt).equals(payload)).toBe(true);
    expect(back.params.psbt.buffer).not.toBe(bytes.buffer);
    console.info(
      `cbor 4 MiB byte string: encode ${(t1 - t0).toFixed(1)} ms, decode ${(t2 - t1).toFixed(1)} ms`,
    );
  });
});

// ---- property tests ----

const FORBIDDEN = new Set(FORBIDDEN_MAP_KEYS);
const keyArb = fc.string({ unit: 'binary', maxLength: 10 }).filter((k) => !FORBIDDEN.has(k));
const intArb = fc.oneof(
  fc.integer({ min: -300, max: 300 }),
  fc.constantFrom(23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }),
);
const leafArb = fc.oneof(
  intArb,
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.uint8Array({ maxLength: 30 }),
  fc.boolean(),
  fc.constant(null),
);
const { value: modelArb } = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 10, depthIdentifier: 'cbor-model' },
    leafArb,
    tie('array'),
    tie('object'),
    tie('map'),
  ),
  array: fc.array(tie('value'), { maxLength: 5, depthIdentifier: 'cbor-model' }),
  object: fc.dictionary(keyArb, tie('value'), { maxKeys: 5, depthIdentifier: 'cbor-model' }),
  map: fc
    .uniqueArray(fc.tuple(keyArb, tie('value')), {
      selector: (e) => e[0],
      maxLength: 5,
      depthIdentifier: 'cbor-model',
    })
    .map((entries) => new Map(entries)),
}));

/** What `decodeStrict` must return for a model value. */
function expected(v: unknown): unknown {
  if (typeof v === 'bigint')
    return Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? Number(v) : v;
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(expected);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v)
      Object.defineProperty(o, k, {
        value: expected(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return o;
  }
  if (typeof v === 'object' && v !== null) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      Object.defineProperty(o, k, {
        value: expected(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return o;
  }
  return v;
}

/** The same value with every map's entries in reverse insertion order, as Maps and objects swapped. */
function reordered(v: unknown, asMap: boolean): unknown {
  if (v instanceof Uint8Array || typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map((x) => reordered(x, !asMap));
  const entries = (v instanceof Map ? [...v.entries()] : Object.entries(v)).reverse();
  const mapped = entries.map(([k, x]) => [k, reordered(x, !asMap)] as [string, unknown]);
  if (asMap) return new Map(mapped);
  const o: Record<string, unknown> = {};
  for (const [k, x] of mapped) o[k] = x;
  return o;
}

describe('properties', () => {
  it('every model value round-trips, and the encoding passes the checker', () => {
    fc.assert(
      fc.property(modelArb, (v) => {
        const bytes = encodeCanonical(v);
        checkStrictCbor(bytes);
        const back = decodeStrict(bytes);
        expect(back).toEqual(expected(v));
        expect(encodeCanonical(back)).toEqual(bytes);
      }),
      { numRuns: 1500 },
    );
  });

  it('equal values give equal bytes regardless of key insertion order or container kind', () => {
    fc.assert(
      fc.property(modelArb, (v) => {
        const bytes = encodeCanonical(v);
        expect(encodeCanonical(reordered(v, true))).toEqual(bytes);
        expect(encodeCanonical(reordered(v, false))).toEqual(bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it('a map written in any other entry order, or with a repeated entry, is rejected', () => {
    const entriesArb = fc.uniqueArray(fc.tuple(keyArb, leafArb), {
      selector: (e) => e[0],
      minLength: 2,
      maxLength: 6,
    });
    fc.assert(
      fc.property(entriesArb, fc.infiniteStream(fc.nat()), (entries, randoms) => {
        const encoded = entries.map(([k, v]) => [...encodeCanonical(k), ...encodeCanonical(v)]);
        const canonical = encodeCanonical(new Map(entries));
        const permuted = encoded
          .map((e) => ({ e, r: randoms.next().value as number }))
          .sort((a, b) => a.r - b.r)
          .map((x) => x.e);
        const head = canonical.subarray(0, 1); // fewer than 24 entries: a one-byte head
        const bytes = Uint8Array.from([...head, ...permuted.flat()]);
        if (toHex(bytes) === toHex(canonical)) {
          expect(() => checkStrictCbor(bytes)).not.toThrow();
        } else {
          const e = thrown(() => checkStrictCbor(bytes));
          expect(e.message).toMatch(/increasing bytewise order/);
        }
        const first = encoded[0] ?? [];
        const withRepeat = Uint8Array.from([
          (head[0] ?? 0) + 1,
          ...canonical.subarray(1),
          ...first,
        ]);
        expect(thrown(() => checkStrictCbor(withRepeat)).message).toMatch(
          /unique map keys|increasing bytewise order/,
        );
      }),
      { numRuns: 1000 },
    );
  });
});

// ---- bounded fuzz ----

/** decodeStrict either accepts (and then the bytes are exactly the canonical encoding) or throws
 *  a WireError BAD_CBOR / MESSAGE_TOO_LARGE. Nothing else may escape. */
function fuzzOne(bytes: Uint8Array): void {
  let decoded: unknown;
  try {
    decoded = decodeStrict(bytes);
  } catch (e) {
    if (!(e instanceof WireError) || (e.code !== 'BAD_CBOR' && e.code !== 'MESSAGE_TOO_LARGE')) {
      throw new Error(`input ${toHex(bytes)} escaped with ${String(e)}`);
    }
    expect(e.message).toMatch(/^cbor\/(check|decode): /);
    return;
  }
  expect(toHex(encodeCanonical(decoded))).toBe(toHex(bytes));
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'insert'; at: number; value: unknown };

const INTERESTING_HEADS = [
  0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x3b, 0x5a, 0x5b, 0x5f, 0x7a, 0x7b, 0x7f, 0x9a, 0x9b, 0x9f,
  0xba, 0xbb, 0xbf, 0xc0, 0xd8, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xff, 0x81, 0xa1, 0x61, 0x00, 0xf6,
];

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    byte: fc.oneof(fc.nat(255), fc.constantFrom(...INTERESTING_HEADS)),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(),
    len: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: leafArb }),
);

function mutate(bytes: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let b = bytes;
  for (const m of muts) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.kind) {
      case 'flip':
        if (b.length > 0) {
          b = b.slice();
          const i = at % b.length;
          b[i] = (b[i] ?? 0) ^ (1 << m.bit);
        }
        break;
      case 'set':
        if (b.length > 0) {
          b = b.slice();
          b[at % b.length] = m.byte;
        }
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'delete':
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + m.len)]);
        break;
      case 'insert':
        b = Uint8Array.from([...b.subarray(0, at), ...encodeCanonical(m.value), ...b.subarray(at)]);
        break;
    }
  }
  return b;
}

describe('bounded fuzz into decodeStrict (20,000 inputs)', () => {
  it('12,000 mutated canonical encodings', () => {
    fc.assert(
      fc.property(modelArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (v, muts) => {
        fuzzOne(mutate(encodeCanonical(v), muts));
      }),
      { numRuns: 12_000 },
    );
  });

  it('4,000 random byte strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => fuzzOne(b)),
      { numRuns: 4_000 },
    );
  });

  it('4,000 byte strings built from interesting heads and random bytes', () => {
    const byteArb = fc.oneof(fc.constantFrom(...INTERESTING_HEADS), fc.nat(255));
    fc.assert(
      fc.property(fc.array(byteArb, { maxLength: 48 }), (arr) => fuzzOne(Uint8Array.from(arr))),
      { numRuns: 4_000 },
    );
  });
});

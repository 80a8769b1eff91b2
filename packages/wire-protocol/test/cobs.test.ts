import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cobsDecode, cobsEncode, cobsMaxEncodedLength } from '../src/cobs.js';
import { isWireError } from '../src/errors.js';

/** Bytes from a compact notation: hex bytes and inclusive ranges like "01..FE". */
function bytes(spec: string): Uint8Array {
  const out: number[] = [];
  for (const token of spec.split(/\s+/).filter((t) => t.length > 0)) {
    const range = /^([0-9A-F]{2})\.\.([0-9A-F]{2})$/i.exec(token);
    if (range?.[1] !== undefined && range[2] !== undefined) {
      for (let b = Number.parseInt(range[1], 16); b <= Number.parseInt(range[2], 16); b++)
        out.push(b);
    } else {
      out.push(Number.parseInt(token, 16));
    }
  }
  return Uint8Array.from(out);
}

/**
 * Source: Wikipedia, "Consistent Overhead Byte Stuffing", section "Encoding examples" (the
 * 11-row table). Wikipedia shows the encoded side with its 0x00 delimiter; it is left off here
 * because cobsEncode does not append it (frame.ts does).
 */
const WIKIPEDIA_EXAMPLES: ReadonlyArray<readonly [string, string]> = [
  ['00', '01 01'],
  ['00 00', '01 01 01'],
  ['00 11 00', '01 02 11 01'],
  ['11 22 00 33', '03 11 22 02 33'],
  ['11 22 33 44', '05 11 22 33 44'],
  ['11 00 00 00', '02 11 01 01 01'],
  ['01..FE', 'FF 01..FE'],
  ['00 01..FE', '01 FF 01..FE'],
  ['01..FF', 'FF 01..FE 02 FF'],
  ['02..FF 00', 'FF 02..FF 01 01'],
  ['03..FF 00 01', 'FE 03..FF 02 01'],
];

function expectBadFrame(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isWireError(caught, 'BAD_FRAME'), String(caught)).toBe(true);
  expect((caught as Error).message).toMatch(message);
}

describe('cobs: Wikipedia example table', () => {
  WIKIPEDIA_EXAMPLES.forEach(([raw, encoded], row) => {
    it(`example ${row + 1}: ${raw} -> ${encoded}`, () => {
      expect(cobsEncode(bytes(raw))).toEqual(bytes(encoded));
      expect(cobsDecode(bytes(encoded))).toEqual(bytes(raw));
    });
  });

  it('the empty input encodes to the single block 01', () => {
    expect(cobsEncode(new Uint8Array(0))).toEqual(bytes('01'));
    expect(cobsDecode(bytes('01'))).toEqual(new Uint8Array(0));
  });
});

describe('cobs: properties', () => {
  it('decode(encode(x)) == x', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (x) => {
        expect(cobsDecode(cobsEncode(x))).toEqual(x);
      }),
      { numRuns: 500 },
    );
  });

  it('round trips inputs dominated by zeros and by long non-zero runs', () => {
    const biased = fc.oneof(
      fc.uint8Array({ maxLength: 1200, min: 0, max: 1 }),
      fc.uint8Array({ minLength: 250, maxLength: 1200, min: 1, max: 255 }),
    );
    fc.assert(
      fc.property(biased, (x) => {
        expect(cobsDecode(cobsEncode(x))).toEqual(x);
      }),
      { numRuns: 300 },
    );
  });

  it('output has no 0x00 and stays within n + max(1, ceil(n/254)) bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (x) => {
        const e = cobsEncode(x);
        expect(e.includes(0)).toBe(false);
        expect(e.length).toBeLessThanOrEqual(cobsMaxEncodedLength(x.length));
      }),
      { numRuns: 500 },
    );
  });

  it('the length bound is reached by runs of non-zero bytes', () => {
    for (const n of [0, 1, 253, 254, 255, 508, 509, 1035]) {
      expect(cobsEncode(new Uint8Array(n).fill(7)).length).toBe(cobsMaxEncodedLength(n));
    }
  });

  it('decoding arbitrary bytes either succeeds or throws BAD_FRAME', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (x) => {
        try {
          const d = cobsDecode(x);
          expect(d.length).toBeLessThanOrEqual(x.length);
        } catch (e) {
          expect(isWireError(e, 'BAD_FRAME')).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('cobs: rejection', () => {
  it('rejects empty input', () => {
    expectBadFrame(
      () => cobsDecode(new Uint8Array(0)),
      /^cobs\/decode: expected at least 1 byte, got 0$/,
    );
  });

  it('rejects a zero code byte', () => {
    expectBadFrame(
      () => cobsDecode(bytes('00 11')),
      /^cobs\/decode: expected a code byte 1\.\.255 at 0, got 0x00$/,
    );
    expectBadFrame(() => cobsDecode(bytes('02 11 00')), /at 2, got 0x00/);
  });

  it('rejects a zero data byte', () => {
    expectBadFrame(
      () => cobsDecode(bytes('03 11 00')),
      /^cobs\/decode: expected no 0x00, got one at 2$/,
    );
  });

  it('rejects a code that overruns the input', () => {
    expectBadFrame(
      () => cobsDecode(bytes('05 11 22')),
      /^cobs\/decode: code 0x05 at 0 needs 4 bytes, only 2 left$/,
    );
    expectBadFrame(() => cobsDecode(bytes('FF 01..FD')), /needs 254 bytes, only 253 left/);
  });

  it('rejects non-byte input', () => {
    expectBadFrame(
      () => cobsDecode([1, 1] as unknown as Uint8Array),
      /^cobs\/decode: expected a Uint8Array$/,
    );
    expectBadFrame(
      () => cobsEncode('x' as unknown as Uint8Array),
      /^cobs\/encode: expected a Uint8Array$/,
    );
    expectBadFrame(() => cobsMaxEncodedLength(-1), /^cobs\/max-length: /);
  });

  it('accepts the redundant trailing empty block after a full block', () => {
    expect(cobsDecode(bytes('FF 01..FE 01'))).toEqual(bytes('01..FE'));
  });
});

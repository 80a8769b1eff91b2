import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cobsDecode, cobsEncode } from '../src/cobs.js';
import { crc32c } from '../src/crc32c.js';
import { isWireError } from '../src/errors.js';
import {
  decodeFrame,
  encodeFrame,
  FRAME_TYPES,
  FRAME_VERSION,
  type Frame,
  MAX_ENCODED_FRAME,
  MAX_PAYLOAD,
} from '../src/frame.js';

const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const fromHex = (s: string): Uint8Array =>
  Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const body = (encoded: Uint8Array): Uint8Array => encoded.subarray(0, encoded.length - 1);

/** Build a raw (pre-COBS) frame with a correct CRC, so each field check can be hit alone. */
function raw(fields: {
  version?: number;
  type: number;
  flags?: number;
  seq?: number;
  ack?: number;
  length?: number;
  payload?: Uint8Array;
}): Uint8Array {
  const payload = fields.payload ?? new Uint8Array(0);
  const r = new Uint8Array(7 + payload.length + 4);
  const v = new DataView(r.buffer);
  r[0] = fields.version ?? FRAME_VERSION;
  r[1] = fields.type;
  r[2] = fields.flags ?? 0;
  r[3] = fields.seq ?? 0;
  r[4] = fields.ack ?? 0;
  v.setUint16(5, fields.length ?? payload.length);
  r.set(payload, 7);
  v.setUint32(7 + payload.length, crc32c(r.subarray(0, 7 + payload.length)));
  return r;
}

function rejects(bodyBytes: Uint8Array, message: RegExp): void {
  let caught: unknown;
  try {
    decodeFrame(bodyBytes);
  } catch (e) {
    caught = e;
  }
  expect(isWireError(caught, 'BAD_FRAME'), String(caught)).toBe(true);
  expect((caught as Error).message).toMatch(message);
}

const u8 = fc.integer({ min: 0, max: 255 });
const nonce = fc.uint8Array({ minLength: 8, maxLength: 8 });
const arbFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    type: fc.constant('DATA' as const),
    seq: u8,
    ack: u8,
    end: fc.boolean(),
    payload: fc.uint8Array({ minLength: 1, maxLength: MAX_PAYLOAD }),
  }),
  fc.record({ type: fc.constant('ACK' as const), ack: u8 }),
  fc.record({ type: fc.constant('NACK' as const), seq: u8, ack: u8 }),
  fc.record({ type: fc.constant('RESET' as const), nonce }),
  fc.record({ type: fc.constant('RESET_ACK' as const), nonce }),
);

describe('frame: layout', () => {
  it('pins the exact bytes of one frame of each type (these are the PROTOCOL.md examples)', () => {
    const n = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const hi = new TextEncoder().encode('hi');
    const golden: ReadonlyArray<readonly [Frame, string]> = [
      [
        { type: 'DATA', seq: 0, ack: 0, end: true, payload: hi },
        '04 01 01 01 01 01 08 02 68 69 25 77 13 19 00',
      ],
      [{ type: 'ACK', ack: 5 }, '03 01 02 01 02 05 01 05 33 2e d0 02 00'],
      [{ type: 'NACK', seq: 3, ack: 3 }, '03 01 03 03 03 03 01 05 6f 8d c4 35 00'],
      [
        { type: 'RESET', nonce: n },
        '03 01 04 01 01 01 0e 08 01 02 03 04 05 06 07 08 13 a3 55 64 00',
      ],
      [
        { type: 'RESET_ACK', nonce: n },
        '03 01 05 01 01 01 0c 08 01 02 03 04 05 06 07 08 47 a4 02 22 00',
      ],
    ];
    for (const [frame, bytes] of golden) {
      expect(hex(encodeFrame(frame))).toBe(bytes.replace(/ /g, ''));
      expect(decodeFrame(body(fromHex(bytes)))).toEqual(frame);
    }
  });

  it('lays the header out as documented, big-endian, with CRC-32C over header and payload', () => {
    const payload = Uint8Array.from({ length: 300 }, (_, i) => (i * 7 + 1) & 0xff);
    const e = encodeFrame({ type: 'DATA', seq: 0xab, ack: 0xcd, end: false, payload });
    expect(e[e.length - 1]).toBe(0);
    expect(body(e).includes(0)).toBe(false);
    const r = cobsDecode(body(e));
    expect([...r.subarray(0, 7)]).toEqual([0x01, 0x01, 0x00, 0xab, 0xcd, 0x01, 0x2c]);
    expect(r.subarray(7, 307)).toEqual(payload);
    expect(new DataView(r.buffer).getUint32(307)).toBe(crc32c(r.subarray(0, 307)));
    expect(r.length).toBe(311);
  });

  it('sets only bit 0 of flags for END', () => {
    const e = encodeFrame({ type: 'DATA', seq: 1, ack: 2, end: true, payload: Uint8Array.of(9) });
    expect(cobsDecode(body(e))[2]).toBe(0x01);
  });

  it('keeps the type table frozen with the codes of the spec', () => {
    expect(Object.isFrozen(FRAME_TYPES)).toBe(true);
    expect(Object.isFrozen(FRAME_TYPES.DATA)).toBe(true);
    expect(Object.values(FRAME_TYPES).map((t) => [t.name, t.code])).toEqual([
      ['DATA', 1],
      ['ACK', 2],
      ['NACK', 3],
      ['RESET', 4],
      ['RESET_ACK', 5],
    ]);
  });

  it('MAX_ENCODED_FRAME is the exact longest body: 1040 bytes, reached by a full DATA frame', () => {
    expect(MAX_ENCODED_FRAME).toBe(1040);
    // A full payload with no zero byte and a CRC with no zero byte reaches the bound.
    let reached = false;
    for (let fill = 1; fill < 256 && !reached; fill++) {
      const e = encodeFrame({
        type: 'DATA',
        seq: 1,
        ack: 1,
        end: true,
        payload: new Uint8Array(MAX_PAYLOAD).fill(fill),
      });
      expect(e.length - 1).toBeLessThanOrEqual(MAX_ENCODED_FRAME);
      reached = e.length - 1 === MAX_ENCODED_FRAME;
    }
    expect(reached).toBe(true);
  });
});

describe('frame: properties', () => {
  it('decodeFrame(encodeFrame(f)) == f for every frame type', () => {
    fc.assert(
      fc.property(arbFrame, (f) => {
        const e = encodeFrame(f);
        expect(e[e.length - 1]).toBe(0);
        expect(body(e).includes(0)).toBe(false);
        expect(e.length - 1).toBeLessThanOrEqual(MAX_ENCODED_FRAME);
        expect(decodeFrame(body(e))).toEqual(f);
      }),
      { numRuns: 500 },
    );
  });

  it('decoding arbitrary bytes returns a frame or throws BAD_FRAME, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1100 }), (x) => {
        try {
          decodeFrame(x);
        } catch (e) {
          expect(isWireError(e, 'BAD_FRAME')).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('frame: decode rejects', () => {
  it('a body longer than MAX_ENCODED_FRAME before decoding it', () => {
    rejects(
      new Uint8Array(MAX_ENCODED_FRAME + 1).fill(1),
      /^frame\/decode: expected at most 1040 encoded bytes, got 1041$/,
    );
  });

  it('bad COBS', () => {
    rejects(fromHex('05 01 01'), /^cobs\/decode: /);
    rejects(new Uint8Array(0), /^cobs\/decode: expected at least 1 byte/);
  });

  it('a frame shorter than header + CRC', () => {
    rejects(
      cobsEncode(raw({ type: 2 }).subarray(0, 10)),
      /^frame\/decode: expected at least 11 bytes after COBS, got 10$/,
    );
  });

  it('a wrong version', () => {
    rejects(cobsEncode(raw({ version: 7, type: 2 })), /^frame\/decode: expected version 1, got 7$/);
  });

  it('a length field that disagrees with the bytes', () => {
    rejects(
      cobsEncode(raw({ type: 2, length: 1 })),
      /^frame\/decode: expected 12 bytes for payload length 1, got 11$/,
    );
    const r = raw({ type: 1, payload: Uint8Array.of(1, 2), length: 1 });
    rejects(cobsEncode(r), /expected 12 bytes for payload length 1, got 13/);
  });

  it('a bad CRC', () => {
    const r = raw({ type: 2, ack: 4 });
    r[10] = (r[10] as number) ^ 0x01;
    rejects(cobsEncode(r), /^frame\/decode: expected CRC-32C 0x[0-9a-f]{8}, got 0x[0-9a-f]{8}$/);
  });

  it('an unknown type', () => {
    for (const t of [0, 6, 0x81, 0xff]) {
      rejects(cobsEncode(raw({ type: t })), /^frame\/decode: expected type 0x01\.\.0x05, got 0x/);
    }
  });

  it('flags other than END, and END outside DATA', () => {
    rejects(
      cobsEncode(raw({ type: 1, flags: 0x02, payload: Uint8Array.of(1) })),
      /^frame\/decode: expected DATA flags within 0x01, got 0x02$/,
    );
    rejects(
      cobsEncode(raw({ type: 2, flags: 0x01 })),
      /^frame\/decode: expected ACK flags within 0x00, got 0x01$/,
    );
  });

  it('payload lengths outside each type range', () => {
    rejects(
      cobsEncode(raw({ type: 1 })),
      /^frame\/decode: expected DATA payload of 1\.\.1024 bytes, got 0$/,
    );
    rejects(
      cobsEncode(raw({ type: 1, payload: new Uint8Array(MAX_PAYLOAD + 1) })),
      /^frame\/decode: expected DATA payload of 1\.\.1024 bytes, got 1025$/,
    );
    rejects(
      cobsEncode(raw({ type: 2, payload: Uint8Array.of(1) })),
      /expected ACK payload of 0 bytes, got 1/,
    );
    rejects(
      cobsEncode(raw({ type: 3, payload: Uint8Array.of(1) })),
      /expected NACK payload of 0 bytes, got 1/,
    );
    rejects(
      cobsEncode(raw({ type: 4, payload: new Uint8Array(7) })),
      /expected RESET payload of 8 bytes, got 7/,
    );
    rejects(
      cobsEncode(raw({ type: 5, payload: new Uint8Array(9) })),
      /expected RESET_ACK payload of 8 bytes, got 9/,
    );
  });

  it('seq or ack set where the type has none', () => {
    rejects(cobsEncode(raw({ type: 2, seq: 1 })), /^frame\/decode: expected seq 0 in ACK, got 1$/);
    rejects(
      cobsEncode(raw({ type: 4, ack: 1, payload: new Uint8Array(8) })),
      /expected ack 0 in RESET, got 1/,
    );
    rejects(
      cobsEncode(raw({ type: 5, seq: 9, payload: new Uint8Array(8) })),
      /expected seq 0 in RESET_ACK, got 9/,
    );
  });

  it('non-byte input', () => {
    rejects('abc' as unknown as Uint8Array, /^frame\/decode: expected a Uint8Array$/);
  });
});

describe('frame: encode validates its input', () => {
  const cases: ReadonlyArray<readonly [string, unknown, RegExp]> = [
    ['null', null, /^frame\/encode: expected a frame object/],
    ['unknown type', { type: 'PING' }, /^frame\/encode: expected a frame type name, got PING$/],
    ['inherited name', { type: 'toString' }, /expected a frame type name/],
    [
      'seq 256',
      { type: 'DATA', seq: 256, ack: 0, end: true, payload: Uint8Array.of(1) },
      /expected seq 0\.\.255, got 256/,
    ],
    ['ack -1', { type: 'ACK', ack: -1 }, /expected ack 0\.\.255, got -1/],
    ['ack 1.5', { type: 'NACK', seq: 0, ack: 1.5 }, /expected ack 0\.\.255, got 1\.5/],
    [
      'end not boolean',
      { type: 'DATA', seq: 0, ack: 0, end: 1, payload: Uint8Array.of(1) },
      /expected end to be a boolean/,
    ],
    [
      'empty DATA',
      { type: 'DATA', seq: 0, ack: 0, end: true, payload: new Uint8Array(0) },
      /expected DATA payload of 1\.\.1024 bytes, got 0/,
    ],
    [
      'DATA too long',
      { type: 'DATA', seq: 0, ack: 0, end: true, payload: new Uint8Array(1025) },
      /got 1025/,
    ],
    [
      'payload not bytes',
      { type: 'DATA', seq: 0, ack: 0, end: true, payload: [1] },
      /expected DATA payload bytes/,
    ],
    [
      'short nonce',
      { type: 'RESET', nonce: new Uint8Array(7) },
      /expected RESET payload of 8 bytes, got 7/,
    ],
  ];
  for (const [name, input, message] of cases) {
    it(name, () => {
      let caught: unknown;
      try {
        encodeFrame(input as Frame);
      } catch (e) {
        caught = e;
      }
      expect(isWireError(caught, 'BAD_FRAME'), String(caught)).toBe(true);
      expect((caught as Error).message).toMatch(message);
    });
  }
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Deframer } from '../src/deframer.js';
import { isWireError } from '../src/errors.js';
import { encodeFrame, type Frame, MAX_ENCODED_FRAME, MAX_PAYLOAD } from '../src/frame.js';

const data = (seq: number, text: string, end = true): Frame => ({
  type: 'DATA',
  seq,
  ack: 0,
  end,
  payload: new TextEncoder().encode(text),
});
const ack = (n: number): Frame => ({ type: 'ACK', ack: n });
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const NOW = 0;

describe('deframer: well-formed streams', () => {
  it('decodes one frame, ignoring a leading lone delimiter and empty frames', () => {
    const d = new Deframer();
    expect(d.push(concat(Uint8Array.of(0, 0), encodeFrame(ack(3)), Uint8Array.of(0)), NOW)).toEqual(
      [ack(3)],
    );
    expect(d.stats).toEqual({
      frames: 1,
      badFrames: 0,
      garbageBytes: 0,
      staleDiscards: 0,
      oversizeDiscards: 0,
    });
  });

  it('decodes many frames concatenated in one chunk, in order', () => {
    const frames = Array.from({ length: 200 }, (_, i) =>
      data(i & 0xff, `message ${i}`, i % 3 === 0),
    );
    const d = new Deframer();
    expect(d.push(concat(...frames.map(encodeFrame)), NOW)).toEqual(frames);
    expect(d.stats.frames).toBe(200);
    expect(d.bufferedBytes).toBe(0);
  });

  it('decodes a frame split into single bytes', () => {
    const f = data(7, 'split me into bytes');
    const e = encodeFrame(f);
    const d = new Deframer();
    const got: Frame[] = [];
    for (let i = 0; i < e.length; i++) {
      const out = d.push(e.subarray(i, i + 1), NOW + i);
      if (i < e.length - 1) expect(out).toEqual([]);
      got.push(...out);
    }
    expect(got).toEqual([f]);
  });

  it('decodes any stream of frames whatever the chunk boundaries (property)', () => {
    const arbFrame = fc.record({
      seq: fc.integer({ min: 0, max: 255 }),
      end: fc.boolean(),
      payload: fc.uint8Array({ minLength: 1, maxLength: 300 }),
    });
    fc.assert(
      fc.property(
        fc.array(arbFrame, { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 30 }),
        (specs, cuts) => {
          const frames: Frame[] = specs.map((s) => ({ type: 'DATA', ack: 1, ...s }));
          const stream = concat(...frames.map(encodeFrame));
          const d = new Deframer();
          const got: Frame[] = [];
          let pos = 0;
          for (let i = 0; pos < stream.length; i++) {
            const size = cuts[i % cuts.length] ?? 1;
            got.push(...d.push(stream.subarray(pos, pos + size), NOW));
            pos += size;
          }
          expect(got).toEqual(frames);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('deframer: hostile input', () => {
  it('resynchronises after garbage before and between frames', () => {
    const a = data(1, 'first');
    const b = data(2, 'second');
    const garbage = Uint8Array.from([0x13, 0x37, 0xff, 0x42]);
    const d = new Deframer();
    const stream = concat(
      garbage,
      Uint8Array.of(0),
      encodeFrame(a),
      garbage,
      Uint8Array.of(0),
      encodeFrame(b),
    );
    expect(d.push(stream, NOW)).toEqual([a, b]);
    expect(d.stats.badFrames).toBe(2);
    expect(d.stats.garbageBytes).toBe(8);
    expect(isWireError(d.lastError, 'BAD_FRAME')).toBe(true);
  });

  it('garbage glued to the front of a frame costs that frame only', () => {
    const a = data(1, 'lost');
    const b = data(2, 'kept');
    const d = new Deframer();
    expect(d.push(concat(Uint8Array.of(0x55, 0x66), encodeFrame(a), encodeFrame(b)), NOW)).toEqual([
      b,
    ]);
    expect(d.stats.badFrames).toBe(1);
  });

  it('rejects truncated frames of every length and keeps the next frame', () => {
    const f = data(9, 'a frame that gets cut short');
    const e = encodeFrame(f);
    const next = ack(42);
    for (let cut = 1; cut < e.length - 1; cut++) {
      const d = new Deframer();
      const got = d.push(concat(e.subarray(0, cut), Uint8Array.of(0), encodeFrame(next)), NOW);
      expect(got, `cut at ${cut}`).toEqual([next]);
      expect(d.stats.badFrames).toBe(1);
    }
  });

  it('discards a run without delimiter past MAX_ENCODED_FRAME, never buffering more', () => {
    const d = new Deframer();
    const after = ack(1);
    let maxBuffered = 0;
    for (let i = 0; i < 100; i++) {
      d.push(new Uint8Array(97).fill(0x5a), NOW);
      maxBuffered = Math.max(maxBuffered, d.bufferedBytes);
    }
    expect(maxBuffered).toBeLessThanOrEqual(MAX_ENCODED_FRAME);
    expect(d.stats.oversizeDiscards).toBe(1);
    // The rest of the run up to the next delimiter is skipped, then frames flow again.
    expect(
      d.push(concat(new Uint8Array(5000).fill(7), Uint8Array.of(0), encodeFrame(after)), NOW),
    ).toEqual([after]);
    expect(d.stats.oversizeDiscards).toBe(1);
    expect(d.stats.garbageBytes).toBe(9700 + 5000);
    expect(d.bufferedBytes).toBe(0);
  });

  it('accepts a body of exactly MAX_ENCODED_FRAME bytes and rejects one byte more', () => {
    let full: Uint8Array | undefined;
    for (let fill = 1; fill < 256 && full === undefined; fill++) {
      const e = encodeFrame({
        type: 'DATA',
        seq: 1,
        ack: 1,
        end: true,
        payload: new Uint8Array(MAX_PAYLOAD).fill(fill),
      });
      if (e.length - 1 === MAX_ENCODED_FRAME) full = e;
    }
    if (full === undefined) throw new Error('test setup: no full-length frame found');
    const d = new Deframer();
    expect(d.push(full, NOW)).toHaveLength(1);
    expect(d.push(concat(Uint8Array.of(1), full), NOW)).toEqual([]);
    expect(d.stats.oversizeDiscards).toBe(1);
  });

  it('rejects every single-bit flip of a valid frame; the stream recovers', () => {
    const target = data(5, 'flip every bit of this frame, one at a time');
    const second = data(6, 'the frame right after');
    const third = ack(7);
    const e = encodeFrame(target);
    const tail = concat(encodeFrame(second), encodeFrame(third));
    let delimiterHits = 0;
    for (let bit = 0; bit < e.length * 8; bit++) {
      const flipped = e.slice();
      const at = bit >> 3;
      flipped[at] = (flipped[at] as number) ^ (1 << (bit & 7));
      const d = new Deframer();
      const got = d.push(concat(Uint8Array.of(0), flipped, tail), NOW);
      // Never a frame that was not sent, never the damaged one.
      for (const f of got) expect([second, third], `bit ${bit}`).toContainEqual(f);
      expect(got, `bit ${bit}`).not.toContainEqual(target);
      expect(d.stats.badFrames, `bit ${bit}`).toBeGreaterThanOrEqual(1);
      expect(got.at(-1), `bit ${bit}`).toEqual(third);
      if (at === e.length - 1) {
        // The delimiter itself was hit: the damaged frame merges with the next one.
        delimiterHits++;
        expect(got).toEqual([third]);
      } else {
        expect(got, `bit ${bit}`).toEqual([second, third]);
      }
    }
    expect(delimiterHits).toBe(8);
  });

  it('drops a stale partial frame when the next byte comes late', () => {
    const f = data(3, 'late');
    const e = encodeFrame(f);
    const d = new Deframer({ staleMs: 1000 });
    expect(d.push(Uint8Array.of(0x22, 0x33, 0x44), 0)).toEqual([]);
    // 1001 ms without a byte: the three bytes are dropped, the new frame decodes.
    expect(d.push(e, 1001)).toEqual([f]);
    expect(d.stats.staleDiscards).toBe(1);
    expect(d.stats.badFrames).toBe(0);
    expect(d.stats.garbageBytes).toBe(3);
  });

  it('keeps a slow but steady partial frame', () => {
    const f = data(3, 'slow');
    const e = encodeFrame(f);
    const d = new Deframer({ staleMs: 1000 });
    const got: Frame[] = [];
    for (let i = 0; i < e.length; i++) got.push(...d.push(e.subarray(i, i + 1), i * 999));
    expect(got).toEqual([f]);
    expect(d.stats.staleDiscards).toBe(0);
  });

  it('never throws and never buffers beyond the bound on random bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 12 }), (chunks) => {
        const d = new Deframer();
        for (const c of chunks) {
          d.push(c, NOW);
          expect(d.bufferedBytes).toBeLessThanOrEqual(MAX_ENCODED_FRAME);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('validates its own arguments with WireError', () => {
    expect(() => new Deframer({ staleMs: 0 })).toThrowError(
      /^deframer\/options: expected staleMs > 0, got 0$/,
    );
    const d = new Deframer();
    expect(() => d.push('x' as unknown as Uint8Array, 0)).toThrowError(
      /^deframer\/push: expected a Uint8Array/,
    );
    expect(() => d.push(new Uint8Array(1), Number.NaN)).toThrowError(
      /^deframer\/push: expected a time in ms/,
    );
  });
});

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isWireError } from '../src/errors.js';
import {
  type FaultOptions,
  FaultTransport,
  splitMix64,
  Xoshiro128,
} from '../src/fault-transport.js';
import { createMemoryTransportPair } from '../src/memory-transport.js';
import type { Transport } from '../src/transport.js';

/** An inner transport the test feeds by hand; it records what is written through it. */
class FeedTransport implements Transport {
  readonly written: Uint8Array[] = [];
  private readonly data = new Set<(chunk: Uint8Array) => void>();
  private readonly closes = new Set<(error?: Error) => void>();
  open = true;
  get isOpen(): boolean {
    return this.open;
  }
  async write(bytes: Uint8Array): Promise<void> {
    this.written.push(bytes.slice());
  }
  onData(l: (chunk: Uint8Array) => void): () => void {
    this.data.add(l);
    return () => this.data.delete(l);
  }
  onClose(l: (error?: Error) => void): () => void {
    this.closes.add(l);
    return () => this.closes.delete(l);
  }
  async close(): Promise<void> {
    this.open = false;
    for (const l of this.closes) l();
  }
  feed(chunk: Uint8Array): void {
    for (const l of this.data) l(chunk);
  }
}

function setup(options: FaultOptions): {
  inner: FeedTransport;
  fault: FaultTransport;
  out: Uint8Array[];
} {
  const inner = new FeedTransport();
  const fault = new FaultTransport(inner, options);
  const out: Uint8Array[] = [];
  fault.onData((c) => out.push(c));
  return { inner, fault, out };
}

function randomBytes(n: number, seed: number): Uint8Array {
  const rng = Xoshiro128.fromSplitMix(splitMix64(BigInt(seed)));
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const v = rng.nextUint32();
    out[i] = v & 0xff;
    if (i + 1 < n) out[i + 1] = (v >>> 8) & 0xff;
    if (i + 2 < n) out[i + 2] = (v >>> 16) & 0xff;
    if (i + 3 < n) out[i + 3] = v >>> 24;
  }
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  return Buffer.concat(chunks);
}

/** `needle` can be obtained from `hay` by deleting bytes (greedy matching decides this exactly). */
function isSubsequence(needle: Uint8Array, hay: Uint8Array): boolean {
  let j = 0;
  for (let i = 0; i < hay.length && j < needle.length; i++) if (hay[i] === needle[j]) j++;
  return j === needle.length;
}

/** Binomial mean ± k standard deviations. */
function binomialBounds(n: number, p: number, k = 4): [number, number] {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  return [mean - k * sd, mean + k * sd];
}

describe('PRNG', () => {
  it('SplitMix64 matches the published outputs for seed 0 (Vigna, splitmix64.c)', () => {
    const next = splitMix64(0n);
    expect([next(), next(), next(), next()]).toEqual([
      0xe220a8397b1dcdafn,
      0x6e789e6aa1b965f4n,
      0x06c45d188009454fn,
      0xf88bb8a8724c81ecn,
    ]);
  });

  it('xoshiro128** matches the reference outputs for state {1,2,3,4} (rand_xoshiro test vector)', () => {
    const rng = new Xoshiro128([1, 2, 3, 4]);
    const got = Array.from({ length: 10 }, () => rng.nextUint32());
    expect(got).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597,
      4258142804,
    ]);
  });

  it('nextFloat lies in [0, 1)', () => {
    const rng = Xoshiro128.fromSplitMix(splitMix64(7n));
    for (let i = 0; i < 10_000; i++) {
      const x = rng.nextFloat();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});

describe('FaultTransport bit errors', () => {
  it('flips a binomially plausible number of bits over 10 MB at 1e-4, at geometric gaps', () => {
    const p = 1e-4;
    const { inner, fault, out } = setup({ seed: 20240601, bitErrorRate: p });
    const data = randomBytes(10 * 1024 * 1024, 1);
    for (let off = 0; off < data.length; off += 65536) inner.feed(data.subarray(off, off + 65536));
    const got = concat(out);
    expect(got.length).toBe(data.length);

    let flips = 0;
    const perBitPosition = new Array<number>(8).fill(0);
    const gaps: number[] = [];
    let lastFlip = -1;
    for (let i = 0; i < data.length; i++) {
      let x = (data[i] ?? 0) ^ (got[i] ?? 0);
      while (x !== 0) {
        const bit = 31 - Math.clz32(x & -x);
        x &= x - 1;
        flips++;
        perBitPosition[bit] = (perBitPosition[bit] ?? 0) + 1;
        const at = i * 8 + bit;
        if (lastFlip >= 0) gaps.push(at - lastFlip);
        lastFlip = at;
      }
    }
    const bits = data.length * 8;
    const [lo, hi] = binomialBounds(bits, p);
    expect(flips).toBeGreaterThan(lo);
    expect(flips).toBeLessThan(hi);
    expect(fault.stats.bitsFlipped).toBe(flips);
    expect(fault.stats.bytes).toBe(data.length);
    // Every bit position within a byte is hit equally often.
    for (const count of perBitPosition) {
      const [blo, bhi] = binomialBounds(flips, 1 / 8);
      expect(count).toBeGreaterThan(blo);
      expect(count).toBeLessThan(bhi);
    }
    // Geometric gaps: P(gap > 1/p) = (1-p)^(1/p) ≈ e^-1. Even spacing would give 0 or 1 here.
    const longFraction = gaps.filter((g) => g > 1 / p).length / gaps.length;
    const q = Math.exp(-1);
    const sd = Math.sqrt((q * (1 - q)) / gaps.length);
    expect(Math.abs(longFraction - q)).toBeLessThan(4 * sd);
  });

  it('never mutates the inner transport’s buffer', () => {
    const { inner, out } = setup({ seed: 1, bitErrorRate: 0.5 });
    const chunk = randomBytes(1000, 2);
    const before = chunk.slice();
    inner.feed(chunk);
    expect(chunk).toEqual(before);
    expect(out[0]).not.toEqual(before);
  });

  it('rate 1 inverts every bit', () => {
    const { inner, out } = setup({ seed: 1, bitErrorRate: 1 });
    inner.feed(Uint8Array.of(0x00, 0xff, 0x5a));
    expect(out).toEqual([Uint8Array.of(0xff, 0x00, 0xa5)]);
  });
});

describe('FaultTransport is deterministic', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const everything = {
    bitErrorRate: 1e-3,
    dropChunkRate: 0.1,
    duplicateChunkRate: 0.1,
    dropByteRate: 1e-3,
    delayMs: [0, 20] as const,
  };

  /** Feed 200 chunks 3 ms apart; return what arrived and when (virtual ms). */
  async function run(seed: number): Promise<{ chunk: Uint8Array; at: number }[]> {
    const { inner, fault } = setup({ seed, ...everything });
    const start = performance.now();
    const arrivals: { chunk: Uint8Array; at: number }[] = [];
    fault.onData((chunk) => arrivals.push({ chunk, at: performance.now() - start }));
    for (let i = 0; i < 200; i++) {
      inner.feed(randomBytes(100 + (i % 37), i));
      await vi.advanceTimersByTimeAsync(3);
    }
    await vi.advanceTimersByTimeAsync(100);
    return arrivals;
  }

  it('gives the same deliveries for the same seed and different ones for another seed', async () => {
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(a.length).toBeGreaterThan(100);
    expect(b).toEqual(a);
    expect(c.map((x) => x.chunk)).not.toEqual(a.map((x) => x.chunk));
    expect(c.map((x) => x.at)).not.toEqual(a.map((x) => x.at));
  });

  it('bit flips and byte drops do not depend on how the stream is chunked (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 4096 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.nat(),
        (data, cutsRaw, seed) => {
          const options = { seed, bitErrorRate: 0.01, dropByteRate: 0.05 };
          const whole = setup(options);
          whole.inner.feed(data);
          const cut = setup(options);
          const cuts = [...new Set(cutsRaw.map((c) => c % data.length))].sort((x, y) => x - y);
          let prev = 0;
          for (const c of [...cuts, data.length]) {
            cut.inner.feed(data.subarray(prev, c));
            prev = c;
          }
          expect(concat(cut.out)).toEqual(concat(whole.out));
          expect(cut.fault.stats).toEqual(whole.fault.stats);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('FaultTransport chunk and byte faults', () => {
  function tagged(n: number): Uint8Array[] {
    return Array.from({ length: n }, (_, i) => {
      const c = new Uint8Array(16);
      new DataView(c.buffer).setUint32(0, i);
      return c;
    });
  }

  it('drops whole chunks at dropChunkRate, leaving the rest intact and in order', () => {
    const { inner, fault, out } = setup({ seed: 5, dropChunkRate: 0.25 });
    const chunks = tagged(4000);
    for (const c of chunks) inner.feed(c);
    const dropped = chunks.length - out.length;
    const [lo, hi] = binomialBounds(4000, 0.25);
    expect(dropped).toBeGreaterThan(lo);
    expect(dropped).toBeLessThan(hi);
    expect(fault.stats.chunksDropped).toBe(dropped);
    expect(fault.stats.bytesDropped).toBe(dropped * 16);
    const ids = out.map((c) => new DataView(c.buffer, c.byteOffset).getUint32(0));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of out)
      expect(c).toEqual(chunks[new DataView(c.buffer, c.byteOffset).getUint32(0)]);
  });

  it('rate 1 drops every chunk', () => {
    const { inner, out, fault } = setup({ seed: 5, dropChunkRate: 1 });
    for (const c of tagged(10)) inner.feed(c);
    expect(out).toEqual([]);
    expect(fault.stats.chunksDropped).toBe(10);
  });

  it('duplicates chunks at duplicateChunkRate, the copy right after the original', () => {
    const { inner, fault, out } = setup({ seed: 6, duplicateChunkRate: 0.25 });
    const chunks = tagged(4000);
    for (const c of chunks) inner.feed(c);
    const dups = out.length - chunks.length;
    const [lo, hi] = binomialBounds(4000, 0.25);
    expect(dups).toBeGreaterThan(lo);
    expect(dups).toBeLessThan(hi);
    expect(fault.stats.duplicated).toBe(dups);
    const deduped = out.filter(
      (c, i) => i === 0 || !Buffer.from(c).equals(Buffer.from(out[i - 1] ?? [])),
    );
    expect(deduped).toEqual(chunks);
  });

  it('a duplicate is a separate buffer', () => {
    const { inner, out } = setup({ seed: 6, duplicateChunkRate: 1 });
    inner.feed(Uint8Array.of(1, 2, 3));
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual(out[1]);
    expect(out[0]?.buffer).not.toBe(out[1]?.buffer);
  });

  it('drops single bytes at dropByteRate; what arrives is the input with bytes deleted', () => {
    const { inner, fault, out } = setup({ seed: 7, dropByteRate: 0.01 });
    const data = randomBytes(1 << 20, 3);
    for (let off = 0; off < data.length; off += 4096) inner.feed(data.subarray(off, off + 4096));
    const got = concat(out);
    const dropped = data.length - got.length;
    const [lo, hi] = binomialBounds(data.length, 0.01);
    expect(dropped).toBeGreaterThan(lo);
    expect(dropped).toBeLessThan(hi);
    expect(fault.stats.bytesDropped).toBe(dropped);
    expect(isSubsequence(got, data)).toBe(true);
  });

  it('rate 0 everywhere is a pass-through: same buffers, no randomness, writes untouched', async () => {
    const { inner, fault, out } = setup({ seed: 9 });
    const chunks = tagged(50);
    for (const c of chunks) inner.feed(c);
    expect(out).toHaveLength(50);
    for (const [i, c] of out.entries()) expect(c).toBe(chunks[i]);
    expect(fault.stats).toEqual({
      bytes: 800,
      bitsFlipped: 0,
      chunksDropped: 0,
      bytesDropped: 0,
      duplicated: 0,
      writesDropped: 0,
    });
    await fault.write(Uint8Array.of(1, 2, 3));
    expect(inner.written).toEqual([Uint8Array.of(1, 2, 3)]);
  });
});

describe('FaultTransport delay and disconnect (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('delays each chunk within [min, max] and never reorders', async () => {
    const { inner } = setup({ seed: 11 });
    const fault = new FaultTransport(inner, { seed: 11, delayMs: [5, 50] });
    const start = performance.now();
    const arrivals: { id: number; at: number }[] = [];
    fault.onData((c) => arrivals.push({ id: c[0] ?? -1, at: performance.now() - start }));
    const fedAt: number[] = [];
    for (let i = 0; i < 200; i++) {
      fedAt.push(performance.now() - start);
      inner.feed(Uint8Array.of(i));
      expect(arrivals.length).toBeLessThanOrEqual(i); // nothing is delivered synchronously
      await vi.advanceTimersByTimeAsync(1);
    }
    await vi.advanceTimersByTimeAsync(60);
    expect(arrivals.map((a) => a.id)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (const { id, at } of arrivals) {
      const fed = fedAt[id] ?? Number.NaN;
      expect(at - fed).toBeGreaterThanOrEqual(5);
      expect(at - fed).toBeLessThanOrEqual(51); // timers fire on whole milliseconds
    }
    // The delays really vary: not all the same.
    expect(new Set(arrivals.map((a, i) => a.at - (fedAt[i] ?? 0))).size).toBeGreaterThan(10);
  });

  it('disconnect(ms) drops reads and swallows writes for that long, then recovers', async () => {
    const { inner, fault, out } = setup({ seed: 12 });
    inner.feed(Uint8Array.of(1));
    fault.disconnect(1000);
    expect(fault.isDisconnected).toBe(true);
    inner.feed(Uint8Array.of(2, 2));
    await fault.write(Uint8Array.of(3, 3, 3));
    await vi.advanceTimersByTimeAsync(999);
    inner.feed(Uint8Array.of(4));
    await fault.write(Uint8Array.of(5));
    expect(inner.written).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(fault.isDisconnected).toBe(false);
    inner.feed(Uint8Array.of(6));
    await fault.write(Uint8Array.of(7));
    expect(out).toEqual([Uint8Array.of(1), Uint8Array.of(6)]);
    expect(inner.written).toEqual([Uint8Array.of(7)]);
    expect(fault.stats).toMatchObject({ chunksDropped: 2, bytesDropped: 3, writesDropped: 4 });
  });

  it('a chunk still in flight when the cable goes is lost', async () => {
    const { inner, fault, out } = setup({ seed: 13, delayMs: [100, 100] });
    inner.feed(Uint8Array.of(1));
    await vi.advanceTimersByTimeAsync(50);
    fault.disconnect(100);
    await vi.advanceTimersByTimeAsync(200);
    expect(out).toEqual([]);
    expect(fault.stats.chunksDropped).toBe(1);
  });

  it('close() cancels pending deliveries and refuses writes', async () => {
    const { inner, fault, out } = setup({ seed: 14, delayMs: [10, 10] });
    inner.feed(Uint8Array.of(1));
    await fault.close();
    await vi.advanceTimersByTimeAsync(100);
    expect(out).toEqual([]);
    expect(fault.isOpen).toBe(false);
    const err = await fault.write(Uint8Array.of(1)).catch((e: unknown) => e);
    expect(isWireError(err, 'LINK_CLOSED')).toBe(true);
  });
});

describe('FaultTransport on both ends of a memory pair', () => {
  it('damages both directions, each on receipt', async () => {
    const [x, y] = createMemoryTransportPair();
    const a = new FaultTransport(x, { seed: 1, bitErrorRate: 0.01 });
    const b = new FaultTransport(y, { seed: 2, bitErrorRate: 0.01 });
    const data = randomBytes(8192, 4);
    const received = (t: Transport) =>
      new Promise<Uint8Array>((resolve) => {
        const parts: Uint8Array[] = [];
        let n = 0;
        t.onData((c) => {
          parts.push(c);
          n += c.length;
          if (n >= data.length) resolve(concat(parts));
        });
      });
    const atB = received(b);
    const atA = received(a);
    await a.write(data);
    await b.write(data);
    const [gotB, gotA] = await Promise.all([atB, atA]);
    expect(gotB).not.toEqual(Buffer.from(data));
    expect(gotA).not.toEqual(Buffer.from(data));
    expect(b.stats.bitsFlipped).toBeGreaterThan(0);
    expect(a.stats.bitsFlipped).toBeGreaterThan(0);
    await a.close();
    await b.close();
  });
});

describe('FaultTransport input validation', () => {
  const inner = new FeedTransport();
  it.each([
    [{ seed: -1 }],
    [{ seed: 1.5 }],
    [{ seed: 1n << 64n }],
    [{ seed: 1, bitErrorRate: 1.5 }],
    [{ seed: 1, dropChunkRate: -0.1 }],
    [{ seed: 1, dropByteRate: Number.NaN }],
    [{ seed: 1, delayMs: [10, 5] }],
    [{ seed: 1, delayMs: [0, 1e9] }],
    [{ seed: 1, unknown: 1 }],
    [{}],
  ])('rejects %s with BAD_PARAMS', (options) => {
    let caught: unknown;
    try {
      new FaultTransport(inner, options as unknown as FaultOptions);
    } catch (e) {
      caught = e;
    }
    expect(isWireError(caught, 'BAD_PARAMS')).toBe(true);
    expect((caught as Error).message).toMatch(/^fault-transport: expected /);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, 1e12])(
    'disconnect(%s) is BAD_PARAMS',
    (ms) => {
      const fault = new FaultTransport(inner, { seed: 1 });
      expect(() => fault.disconnect(ms)).toThrow(/^fault-transport\/disconnect: expected ms in/);
    },
  );

  it('accepts a 64-bit bigint seed', () => {
    expect(() => new FaultTransport(inner, { seed: (1n << 64n) - 1n })).not.toThrow();
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isWireError } from '../src/errors.js';
import { type Clock, ThrottleTransport } from '../src/throttle-transport.js';
import type { Transport } from '../src/transport.js';

/** An inner transport that records what was released to it, and when (virtual ms). */
class RecordingTransport implements Transport {
  readonly releases: { at: number; bytes: Uint8Array }[] = [];
  private readonly data = new Set<(chunk: Uint8Array) => void>();
  private readonly closes = new Set<(error?: Error) => void>();
  open = true;
  failNext: Error | undefined;

  constructor(private readonly now: () => number) {}

  get isOpen(): boolean {
    return this.open;
  }
  async write(bytes: Uint8Array): Promise<void> {
    if (this.failNext !== undefined) throw this.failNext;
    this.releases.push({ at: this.now(), bytes: bytes.slice() });
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
    if (!this.open) return;
    this.open = false;
    for (const l of this.closes) l();
  }
  emit(chunk: Uint8Array): void {
    for (const l of this.data) l(chunk);
  }
  released(): Uint8Array {
    return Buffer.concat(this.releases.map((r) => r.bytes));
  }
}

const BAUD = 115200;
const BYTE_MS = (10 * 1000) / BAUD; // 8N1: 10 bits per byte

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

describe('ThrottleTransport with fake timers', () => {
  let inner: RecordingTransport;
  let t0: number;

  beforeEach(() => {
    vi.useFakeTimers();
    t0 = performance.now();
    inner = new RecordingTransport(() => performance.now() - t0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('releases byte N at N*10/baud seconds, within one slice, for every slice', async () => {
    const throttle = new ThrottleTransport(inner, { baudRate: BAUD });
    const sliceMs = throttle.sliceBytes * BYTE_MS;
    const n = 11520; // one second of line time
    let done = false;
    void throttle.write(bytes(n)).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(1100);
    expect(done).toBe(true);
    let released = 0;
    for (const r of inner.releases) {
      released += r.bytes.byteLength;
      const ideal = released * BYTE_MS;
      expect(r.at).toBeGreaterThanOrEqual(ideal - 1e-9); // never early: the bytes are on the line
      expect(r.at - ideal).toBeLessThan(sliceMs);
    }
    expect(released).toBe(n);
    const last = inner.releases.at(-1);
    expect(last?.at).toBeGreaterThanOrEqual(1000 - 1e-9);
    expect((last?.at ?? 0) - 1000).toBeLessThan(sliceMs);
  });

  it('cuts writes into slices of about sliceMs of line time', async () => {
    const throttle = new ThrottleTransport(inner, { baudRate: BAUD, sliceMs: 5 });
    expect(throttle.sliceBytes).toBe(Math.floor(5 / BYTE_MS));
    void throttle.write(bytes(1000));
    await vi.advanceTimersByTimeAsync(200);
    for (const r of inner.releases.slice(0, -1))
      expect(r.bytes.byteLength).toBe(throttle.sliceBytes);
  });

  it('keeps the long-run rate exact: no drift over 2000 slices', async () => {
    // 10 ms slices are 115 bytes = 9.983 ms: a naive "setTimeout(10) per slice" drifts 34 ms here.
    const throttle = new ThrottleTransport(inner, { baudRate: BAUD });
    const n = throttle.sliceBytes * 2000;
    void throttle.write(bytes(n));
    await vi.advanceTimersByTimeAsync(n * BYTE_MS + 50);
    const last = inner.releases.at(-1);
    expect(inner.released().byteLength).toBe(n);
    expect(last?.at).toBeGreaterThanOrEqual(n * BYTE_MS - 1e-6);
    expect((last?.at ?? 0) - n * BYTE_MS).toBeLessThan(1); // only the last timer's rounding
  });

  it('paces at baud/bitsPerByte for other framings (8E1 = 11 bits)', async () => {
    const throttle = new ThrottleTransport(inner, { baudRate: 9600, bitsPerByte: 11 });
    void throttle.write(bytes(960));
    await vi.advanceTimersByTimeAsync(2000);
    const last = inner.releases.at(-1);
    expect(last?.at).toBeGreaterThanOrEqual(1100 - 1e-9);
    expect((last?.at ?? 0) - 1100).toBeLessThan(throttle.sliceBytes * (11000 / 9600));
  });

  it('preserves order across many writes, each resolving when its last byte is released', async () => {
    const throttle = new ThrottleTransport(inner, { baudRate: BAUD });
    const parts = [bytes(300, 1), bytes(1, 2), bytes(0), bytes(777, 3), bytes(50, 4)];
    const resolvedAt: number[] = [];
    const writes = parts.map((p) =>
      throttle.write(p).then(() => {
        resolvedAt.push(performance.now() - t0);
      }),
    );
    await vi.advanceTimersByTimeAsync(500);
    await Promise.all(writes);
    expect(inner.released()).toEqual(Buffer.concat(parts));
    let cumulative = 0;
    parts.forEach((p, i) => {
      cumulative += p.byteLength;
      const at = resolvedAt[i] ?? Number.NaN;
      expect(at).toBeGreaterThanOrEqual(cumulative * BYTE_MS - 1e-9);
    });
    expect(resolvedAt).toEqual([...resolvedAt].sort((x, y) => x - y));
  });

  it('applies back-pressure: write() is pending until the line has carried the bytes', async () => {
    const throttle = new ThrottleTransport(inner, { baudRate: BAUD });
    let done = false;
    void throttle.write(bytes(5760)).then(() => {
      done = true;
    }); // 500 ms of line time
    await vi.advanceTimersByTimeAsync(400);
    expect(done).toBe(false);
    expect(throttle.queuedBytes).toBeGreaterThan(0);
    expect(inner.released().byteLength).toBeLessThan(5760);
    await vi.advanceTimersByTimeAsync(110);
    expect(done).toBe(true);
    expect(throttle.queuedBytes).toBe(0);
  });

  it('restarts the line clock after idle time instead of bursting', async () => {
    const throttle = new ThrottleTransport(inner, { baudRate: BAUD });
    await Promise.all([throttle.write(bytes(115)), vi.advanceTimersByTimeAsync(20)]);
    await vi.advanceTimersByTimeAsync(1000); // idle
    const start = performance.now() - t0;
    void throttle.write(bytes(1150));
    await vi.advanceTimersByTimeAsync(200);
    const second = inner.releases.filter((r) => r.at > start);
    let released = 0;
    for (const r of second) {
      released += r.bytes.byteLength;
      expect(r.at - start).toBeGreaterThanOrEqual(released * BYTE_MS - 1e-9);
    }
    expect(released).toBe(1150);
  });

  it('copies written bytes, so the caller may reuse its buffer', async () => {
    const throttle = new ThrottleTransport(inner, { baudRate: BAUD });
    const buf = bytes(500);
    const copy = buf.slice();
    void throttle.write(buf);
    buf.fill(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(inner.released()).toEqual(Buffer.from(copy));
  });

  it('passes reads through untouched', () => {
    const throttle = new ThrottleTransport(inner, { baudRate: BAUD });
    const seen: Uint8Array[] = [];
    throttle.onData((c) => seen.push(c));
    const chunk = bytes(100_000);
    inner.emit(chunk);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(chunk);
  });

  it('close() rejects pending writes with LINK_CLOSED and releases nothing more', async () => {
    const throttle = new ThrottleTransport(inner, { baudRate: BAUD });
    const pending = throttle.write(bytes(11520)).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    const before = inner.released().byteLength;
    await throttle.close();
    expect(isWireError(await pending, 'LINK_CLOSED')).toBe(true);
    await vi.advanceTimersByTimeAsync(2000);
    expect(inner.released().byteLength).toBe(before);
    expect(throttle.isOpen).toBe(false);
    const late = await throttle.write(bytes(1)).catch((e: unknown) => e);
    expect(isWireError(late, 'LINK_CLOSED')).toBe(true);
  });

  it('rejects pending writes when the inner transport closes', async () => {
    const throttle = new ThrottleTransport(inner, { baudRate: BAUD });
    const pending = throttle.write(bytes(11520)).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    await inner.close();
    expect(isWireError(await pending, 'LINK_CLOSED')).toBe(true);
  });

  it('turns an inner write failure into LINK_CLOSED for every pending write', async () => {
    const throttle = new ThrottleTransport(inner, { baudRate: BAUD });
    inner.failNext = new Error('EIO');
    const a = throttle.write(bytes(10)).catch((e: unknown) => e);
    const b = throttle.write(bytes(10)).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    const ea = await a;
    expect(isWireError(ea, 'LINK_CLOSED')).toBe(true);
    expect((ea as Error).cause).toBe(inner.failNext);
    expect(isWireError(await b, 'LINK_CLOSED')).toBe(true);
  });
});

describe('ThrottleTransport with an injected clock', () => {
  it('schedules against the injected clock only', async () => {
    let now = 0;
    const timers: { at: number; fn: () => void }[] = [];
    const clock: Clock = {
      now: () => now,
      setTimeout: (fn, ms) => {
        const t = { at: now + ms, fn };
        timers.push(t);
        return t;
      },
      clearTimeout: (h) => {
        const i = timers.indexOf(h as { at: number; fn: () => void });
        if (i >= 0) timers.splice(i, 1);
      },
    };
    const inner = new RecordingTransport(() => now);
    const throttle = new ThrottleTransport(inner, { baudRate: 1000, clock }); // 100 B/s, 1 B/slice
    let done = false;
    void throttle.write(bytes(3)).then(() => {
      done = true;
    });
    const settle = () => new Promise((r) => setImmediate(r));
    for (let step = 0; step < 10 && !done; step++) {
      await settle();
      const next = timers.shift();
      if (next === undefined) continue;
      now = next.at;
      next.fn();
    }
    await settle();
    expect(done).toBe(true);
    expect(inner.releases.map((r) => r.at)).toEqual([10, 20, 30]);
  });
});

describe('ThrottleTransport options', () => {
  const inner = new RecordingTransport(() => 0);
  it.each([
    [{ baudRate: 0 }],
    [{ baudRate: 115200.5 }],
    [{ baudRate: Number.POSITIVE_INFINITY }],
    [{ baudRate: 115200, bitsPerByte: 3 }],
    [{ baudRate: 115200, sliceMs: 0 }],
    [{ baudRate: 115200, sliceMs: -1 }],
    [{ baudRate: 115200, clock: { now: 5 } }],
    [{ baudRate: 115200, extra: true }],
  ])('rejects %j with BAD_PARAMS', (options) => {
    expect(() => new ThrottleTransport(inner, options as unknown as { baudRate: number })).toThrow(
      /^throttle-transport: expected /,
    );
    try {
      new ThrottleTransport(inner, options as unknown as { baudRate: number });
    } catch (e) {
      expect(isWireError(e, 'BAD_PARAMS')).toBe(true);
    }
  });

  it('rejects a non-Uint8Array write with BAD_PARAMS', async () => {
    const throttle = new ThrottleTransport(inner, { baudRate: 115200 });
    const err = await throttle.write('abc' as unknown as Uint8Array).catch((e: unknown) => e);
    expect(isWireError(err, 'BAD_PARAMS')).toBe(true);
  });
});

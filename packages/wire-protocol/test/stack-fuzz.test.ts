import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeCanonical } from '../src/cbor.js';
import { ERROR_CODES } from '../src/errors.js';
import { encodeFrame, MAX_ENCODED_FRAME, MAX_PAYLOAD } from '../src/frame.js';
import { createMemoryTransportPair } from '../src/memory-transport.js';
import { CHUNK_FINAL } from '../src/rpc-envelope.js';
import type { Transport } from '../src/transport.js';
import { openPair, type Pair, patternBytes, signRequest } from './helpers/stack.js';

/**
 * A bounded fuzz run through the whole receive stack of a device: hostile bytes at the frame
 * layer, hostile records through a real link, hostile chunks and CBOR through a real session.
 * After each stage the device must still answer a valid request, nothing may escape but coded
 * errors and counters, and every buffer must stay within its declared limit.
 */

/** Wraps the device's transport so the test can push bytes as if they came off the line. */
class InjectingTransport implements Transport {
  private readonly listeners = new Set<(chunk: Uint8Array) => void>();
  constructor(private readonly inner: Transport) {
    inner.onData((chunk) => {
      for (const l of this.listeners) l(chunk);
    });
  }
  get isOpen(): boolean {
    return this.inner.isOpen;
  }
  write(bytes: Uint8Array): Promise<void> {
    return this.inner.write(bytes);
  }
  onData(listener: (chunk: Uint8Array) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  onClose(listener: (error?: Error) => void): () => void {
    return this.inner.onClose(listener);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  inject(bytes: Uint8Array): void {
    for (const l of this.listeners) l(bytes);
  }
}

const FAST_RECOVERY = {
  session: { retryBackoffMs: 5, maxRetryBackoffMs: 50, handshakeTimeoutMs: 1000 },
  link: { resetIntervalMs: 50 },
  timeoutMs: 30_000,
};

/** xorshift32: reproducible mutations without pulling fast-check into the hot loop. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function mutate(base: Uint8Array, next: () => number): Uint8Array {
  const out = base.slice();
  switch (next() % 5) {
    case 0: // flip 1-4 bits
      for (let k = 1 + (next() % 4); k > 0 && out.length > 0; k--) {
        const i = next() % out.length;
        out[i] = (out[i] ?? 0) ^ (1 << (next() % 8));
      }
      return out;
    case 1: // truncate
      return out.subarray(0, next() % (out.length + 1));
    case 2: // overwrite a byte with an interesting value
      if (out.length > 0)
        out[next() % out.length] = [0x00, 0xff, 0x1b, 0x5f, 0x9f, 0xbf, 0xc0][next() % 7] ?? 0;
      return out;
    case 3: {
      // splice in random bytes
      const at = next() % (out.length + 1);
      const extra = Uint8Array.from({ length: 1 + (next() % 16) }, () => next() & 0xff);
      const joined = new Uint8Array(out.length + extra.length);
      joined.set(out.subarray(0, at));
      joined.set(extra, at);
      joined.set(out.subarray(at), at + extra.length);
      return joined;
    }
    default: // pure noise
      return Uint8Array.from({ length: next() % 64 }, () => next() & 0xff);
  }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

async function stillServes(pair: Pair): Promise<void> {
  const nonce = patternBytes(16, 99);
  const pong = await pair.coordinator.client.call('ping', { nonce });
  expect(pong.nonce).toEqual(nonce);
  const psbt = patternBytes(3000, 7);
  const signed = await pair.coordinator.client.call('sign_psbt', signRequest(psbt));
  expect(signed.signatures.length).toBeGreaterThan(0);
}

function expectNoEscapes(pair: Pair): void {
  for (const end of [pair.coordinator, pair.device]) {
    expect(end.link.stats.listenerErrors, 'a layer above the link threw').toBe(0);
    expect(end.link.stats.internalErrors).toBe(0);
    expect(end.link.stats.writeErrors).toBe(0);
  }
  const codes = Object.keys(pair.device.server.stats.errors);
  expect(codes).not.toContain('INTERNAL');
  for (const code of codes) {
    expect(ERROR_CODES[code as keyof typeof ERROR_CODES]?.kind).toMatch(/malformed|state|refused/);
  }
}

describe('whole receive stack under fuzz', () => {
  let pair: Pair | undefined;
  afterEach(async () => {
    await pair?.close();
    pair = undefined;
  });

  it('stage 1: 12,000 hostile byte strings and re-CRC-ed frames at the line', async () => {
    const [a, b] = createMemoryTransportPair();
    const line = new InjectingTransport(b);
    pair = openPair(a, line, FAST_RECOVERY);
    await stillServes(pair);
    const next = rng(0x5eed);
    // Valid-looking frames of every type with hostile fields, and mutated encodings of them.
    const frames = [
      encodeFrame({ type: 'DATA', seq: 0, ack: 0, end: true, payload: patternBytes(200, 1) }),
      encodeFrame({ type: 'ACK', ack: 3 }),
      encodeFrame({ type: 'NACK', seq: 5, ack: 5 }),
      encodeFrame({ type: 'RESET_ACK', nonce: patternBytes(8, 2) }),
    ];
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 12_000; i++) {
      const kind = next() % 4;
      let bytes: Uint8Array;
      if (kind === 0) {
        // a frame with valid COBS and CRC but hostile header fields
        bytes = encodeFrame({
          type: 'DATA',
          seq: next() & 0xff,
          ack: next() & 0xff,
          end: (next() & 1) === 1,
          payload: patternBytes(1 + (next() % MAX_PAYLOAD), i),
        });
      } else if (kind === 1) {
        bytes = encodeFrame({
          type: next() % 2 ? 'ACK' : 'NACK',
          seq: next() & 0xff,
          ack: next() & 0xff,
        } as never);
      } else {
        bytes = mutate(frames[next() % frames.length] ?? new Uint8Array(0), next);
      }
      line.inject(bytes);
      if (i % 500 === 0) {
        // give the event loop a turn so replies and timers run interleaved with the attack
        await new Promise((r) => setImmediate(r));
        expect(pair.device.link.stats.garbageBytes).toBeGreaterThanOrEqual(0);
      }
    }
    line.inject(new Uint8Array([0])); // end any partial frame
    await stillServes(pair);
    expectNoEscapes(pair);
    const s = pair.device.link.stats;
    expect(s.badFrames + s.outOfWindow + s.duplicates + s.staleAcks).toBeGreaterThan(5000);
    // Memory stays bounded: no per-input growth survives (generous bound, not a timing).
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 1024 * 1024);
    expect(MAX_ENCODED_FRAME).toBeLessThan(1100);
  });

  it('stage 2: 3,000 hostile session records through a real link', async () => {
    const [a, b] = createMemoryTransportPair();
    pair = openPair(a, b, FAST_RECOVERY);
    await stillServes(pair);
    const next = rng(0xc0ffee);
    const record = new Uint8Array([0x03, ...patternBytes(64, 3)]);
    const handshake = new Uint8Array([0x01, ...patternBytes(48, 4)]);
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 3000; i++) {
      const base = next() % 2 ? record : handshake;
      const bytes = mutate(base, next);
      if (bytes.length === 0) continue;
      sends.push(pair.coordinator.link.send(bytes).catch(() => undefined));
      if (i % 100 === 0) await Promise.all(sends.splice(0));
    }
    await Promise.all(sends);
    await stillServes(pair);
    expectNoEscapes(pair);
    const ds = pair.device.session.stats;
    expect(ds.broken + ds.handshakeFailures + ds.droppedWithoutSession).toBeGreaterThan(100);
  });

  it('stage 3: 20,000 hostile RPC chunks and CBOR documents through a real session', async () => {
    const [a, b] = createMemoryTransportPair();
    pair = openPair(a, b, FAST_RECOVERY);
    await stillServes(pair);
    const next = rng(0xbadcab);
    const envelope = encodeCanonical({
      id: 1_000_000,
      method: 'sign_psbt',
      params: signRequest(patternBytes(120, 5)),
    });
    const seeds: Uint8Array[] = [
      new Uint8Array([CHUNK_FINAL, ...envelope]),
      new Uint8Array([
        CHUNK_FINAL,
        ...encodeCanonical({ id: 2_000_000, method: 'ping', params: { nonce: new Uint8Array(4) } }),
      ]),
      new Uint8Array([
        CHUNK_FINAL,
        ...encodeCanonical({ id: 3_000_000, method: 'get_info', params: {} }),
      ]),
    ];
    // Plus arbitrary CBOR-shaped values from fast-check, each as a whole envelope.
    const arbitrary = fc.sample(
      fc.record({ id: fc.nat(), method: fc.string(), params: fc.anything({ maxDepth: 3 }) }),
      { numRuns: 500, seed: 42 },
    );
    let sent = 0;
    const batch: Promise<unknown>[] = [];
    const send = (chunk: Uint8Array) => {
      if (chunk.length === 0 || chunk.length > pair!.coordinator.session.maxMessageSize) return;
      sent++;
      batch.push(pair!.coordinator.session.send(chunk).catch(() => undefined));
    };
    for (const value of arbitrary) {
      try {
        send(new Uint8Array([CHUNK_FINAL, ...encodeCanonical(value)]));
      } catch {
        // fast-check produced a value outside the CBOR data model (a float, undefined...)
      }
    }
    while (sent < 20_000) {
      send(mutate(seeds[next() % seeds.length] ?? new Uint8Array(0), next));
      if (batch.length >= 200) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    // Hostile chunks inside a valid session never broke the session itself.
    expect(pair.device.session.stats.broken).toBe(0);
    // The fuzzer held a valid session and spent ids up to 2^32: within that session a lower id is
    // a replay (DUPLICATE_ID), by design. A tampered record breaks the session at the device,
    // whose REHANDSHAKE hint makes the coordinator open a fresh one; ids start over there.
    const handshakes = pair.coordinator.session.stats.handshakes;
    await pair.coordinator.link.send(new Uint8Array([0x03, ...patternBytes(40, 9)]));
    await until(
      () =>
        pair!.coordinator.session.stats.handshakes > handshakes && pair!.coordinator.session.isUp,
    );
    await stillServes(pair);
    expectNoEscapes(pair);
    const errors = pair.device.server.stats.errors;
    const total = Object.values(errors).reduce((x, y) => x + (y ?? 0), 0);
    expect(total).toBeGreaterThan(5000);
    expect(errors.BAD_CBOR ?? 0).toBeGreaterThan(0);
  });
});

import { z } from 'zod';
import { WireError } from './errors.js';
import { type Clock, clockSchema, systemClock } from './throttle-transport.js';
import type { Transport } from './transport.js';

/**
 * A noisy line for tests: wraps a Transport and damages the data it RECEIVES, so one wrapper on
 * each end covers both directions. All randomness comes from a seeded PRNG, so a seed and the
 * same sequence of received chunks always give the same damage.
 *
 * Per received chunk, in this order:
 *  1. during disconnect(): the chunk is lost;
 *  2. `dropChunkRate`: the whole chunk is lost;
 *  3. `dropByteRate`: each byte is lost independently;
 *  4. `bitErrorRate`: each bit of what is left flips independently;
 *  5. `duplicateChunkRate`: the (damaged) chunk is delivered twice;
 *  6. `delayMs: [min, max]`: delivery waits a uniform time in [min, max] ms, but never overtakes
 *     an earlier chunk (order is preserved, as on a serial line).
 * Independent rates use the geometric distribution of the gap to the next event, so a rate of
 * 1e-4 over megabytes costs a handful of PRNG draws rather than one per bit. Each fault kind has
 * its own PRNG stream, so changing one rate does not move the others' faults.
 *
 * disconnect(ms) also swallows WRITES (they resolve, and the bytes are lost, as on a pulled
 * cable). Faults never apply to writes otherwise.
 */

export interface FaultOptions {
  /** PRNG seed: an integer (number up to 2^53 or bigint up to 2^64). */
  readonly seed: number | bigint;
  readonly bitErrorRate?: number;
  readonly dropChunkRate?: number;
  readonly duplicateChunkRate?: number;
  readonly dropByteRate?: number;
  /** Delivery delay range in ms, inclusive; default none (deliver synchronously). */
  readonly delayMs?: readonly [number, number];
  readonly clock?: Clock;
}

export interface FaultStats {
  /** Bytes received from the inner transport (before any fault). */
  readonly bytes: number;
  readonly bitsFlipped: number;
  /** Whole chunks lost to dropChunkRate or to a disconnect. */
  readonly chunksDropped: number;
  /** Received bytes never delivered, whatever the cause (dropped chunks, dropped bytes, disconnect). */
  readonly bytesDropped: number;
  /** Chunks delivered twice. */
  readonly duplicated: number;
  /** Bytes written during a disconnect and thrown away. */
  readonly writesDropped: number;
}

/** Longest disconnect accepted: one day. */
export const MAX_DISCONNECT_MS = 86_400_000;
/** Longest delivery delay accepted: one minute. */
export const MAX_DELAY_MS = 60_000;

const rate = z.number().min(0).max(1);

const faultOptionsSchema = z
  .object({
    seed: z.union([
      z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      z
        .bigint()
        .min(0n)
        .max((1n << 64n) - 1n),
    ]),
    bitErrorRate: rate.default(0),
    dropChunkRate: rate.default(0),
    duplicateChunkRate: rate.default(0),
    dropByteRate: rate.default(0),
    delayMs: z
      .tuple([z.number().min(0).max(MAX_DELAY_MS), z.number().min(0).max(MAX_DELAY_MS)])
      .refine(([lo, hi]) => lo <= hi, 'min must not exceed max')
      .optional(),
    clock: clockSchema.default(systemClock),
  })
  .strict();

// ---------------------------------------------------------------------------------------------
// PRNG. SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
// OOPSLA 2014; constants as in Vigna's splitmix64.c) expands the seed into the state of
// xoshiro128** 1.0 (Blackman and Vigna, "Scrambled linear pseudorandom number generators", 2018;
// reference xoshiro128starstar.c), the generator that draws the numbers. Written from those
// definitions; the test checks the published first outputs of splitmix64 for seed 0.

const MASK64 = (1n << 64n) - 1n;

/** SplitMix64 as a stream of 64-bit values. */
export function splitMix64(seed: bigint): () => bigint {
  let state = seed & MASK64;
  return () => {
    state = (state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  };
}

function rotl32(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** xoshiro128**: 32-bit outputs, period 2^128 - 1. */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(words: readonly [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = words.map((w) => w >>> 0) as [
      number,
      number,
      number,
      number,
    ];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** Seed from SplitMix64, as the xoshiro authors recommend. */
  static fromSplitMix(next: () => bigint): Xoshiro128 {
    const a = next();
    const b = next();
    return new Xoshiro128([
      Number(a & 0xffffffffn),
      Number(a >> 32n),
      Number(b & 0xffffffffn),
      Number(b >> 32n),
    ]);
  }

  nextUint32(): number {
    const result = Math.imul(rotl32(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl32(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

/**
 * Gaps between independent events of probability p: how many trials pass before the next event
 * (geometric distribution on 0, 1, 2, ...), by inversion: floor(ln U / ln(1 - p)), U in (0, 1].
 */
class GeometricGaps {
  private readonly logQ: number;

  constructor(
    private readonly rng: Xoshiro128,
    private readonly p: number,
  ) {
    this.logQ = Math.log1p(-p);
  }

  next(): number {
    if (this.p <= 0) return Number.POSITIVE_INFINITY;
    if (this.p >= 1) return 0;
    const u = 1 - this.rng.nextFloat(); // (0, 1]
    const gap = Math.floor(Math.log(u) / this.logQ);
    return Number.isFinite(gap) ? Math.min(gap, Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;
  }
}

// ---------------------------------------------------------------------------------------------

interface Delivery {
  readonly chunk: Uint8Array;
  readonly at: number;
}

export class FaultTransport implements Transport {
  private readonly clock: Clock;
  private readonly options: Required<Omit<FaultOptions, 'delayMs' | 'clock' | 'seed'>> & {
    readonly delayMs: readonly [number, number] | undefined;
  };
  private readonly chunkRng: Xoshiro128;
  private readonly dupRng: Xoshiro128;
  private readonly delayRng: Xoshiro128;
  private readonly byteGaps: GeometricGaps;
  private readonly bitGaps: GeometricGaps;
  /** Bytes still to pass before the next dropped byte; bits before the next flipped bit. */
  private bytesToNextDrop: number;
  private bitsToNextFlip: number;
  private readonly listeners = new Set<(chunk: Uint8Array) => void>();
  private readonly pending: Delivery[] = [];
  private lastDeliveryAt = Number.NEGATIVE_INFINITY;
  private timer: unknown;
  private disconnectedUntil = Number.NEGATIVE_INFINITY;
  private closed = false;
  private readonly unsubscribeData: () => void;
  private readonly counters = {
    bytes: 0,
    bitsFlipped: 0,
    chunksDropped: 0,
    bytesDropped: 0,
    duplicated: 0,
    writesDropped: 0,
  };

  constructor(
    private readonly inner: Transport,
    options: FaultOptions,
  ) {
    const parsed = faultOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new WireError(
        'BAD_PARAMS',
        `fault-transport: expected {seed: integer >= 0, rates in [0, 1], delayMs?: [min <= max] within [0, ${MAX_DELAY_MS}]}, got ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    const o = parsed.data;
    this.clock = o.clock;
    this.options = {
      bitErrorRate: o.bitErrorRate,
      dropChunkRate: o.dropChunkRate,
      duplicateChunkRate: o.duplicateChunkRate,
      dropByteRate: o.dropByteRate,
      delayMs: o.delayMs,
    };
    const seeder = splitMix64(BigInt(o.seed));
    this.chunkRng = Xoshiro128.fromSplitMix(seeder);
    this.dupRng = Xoshiro128.fromSplitMix(seeder);
    this.delayRng = Xoshiro128.fromSplitMix(seeder);
    this.byteGaps = new GeometricGaps(Xoshiro128.fromSplitMix(seeder), o.dropByteRate);
    this.bitGaps = new GeometricGaps(Xoshiro128.fromSplitMix(seeder), o.bitErrorRate);
    this.bytesToNextDrop = this.byteGaps.next();
    this.bitsToNextFlip = this.bitGaps.next();
    this.unsubscribeData = inner.onData((chunk) => this.receive(chunk));
  }

  get isOpen(): boolean {
    return !this.closed && this.inner.isOpen;
  }

  get stats(): FaultStats {
    return Object.freeze({ ...this.counters });
  }

  /** True while a disconnect() is in effect. */
  get isDisconnected(): boolean {
    return this.clock.now() < this.disconnectedUntil;
  }

  /** Lose everything, both directions, for `ms` milliseconds from now. */
  disconnect(ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_DISCONNECT_MS) {
      throw new WireError(
        'BAD_PARAMS',
        `fault-transport/disconnect: expected ms in [0, ${MAX_DISCONNECT_MS}], got ${String(ms)}`,
      );
    }
    this.disconnectedUntil = Math.max(this.disconnectedUntil, this.clock.now() + ms);
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (!(bytes instanceof Uint8Array)) {
      throw new WireError(
        'BAD_PARAMS',
        `fault-transport/write: expected a Uint8Array, got ${typeof bytes}`,
      );
    }
    if (!this.isOpen)
      throw new WireError('LINK_CLOSED', 'fault-transport/write: transport is closed');
    if (this.isDisconnected) {
      this.counters.writesDropped += bytes.byteLength;
      return;
    }
    await this.inner.write(bytes);
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  onClose(listener: (error?: Error) => void): () => void {
    return this.inner.onClose(listener);
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.unsubscribeData();
      if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
      this.timer = undefined;
      this.pending.length = 0;
    }
    await this.inner.close();
  }

  private receive(chunk: Uint8Array): void {
    if (this.closed) return;
    this.counters.bytes += chunk.byteLength;
    if (this.isDisconnected || this.draw(this.chunkRng, this.options.dropChunkRate)) {
      this.counters.chunksDropped += 1;
      this.counters.bytesDropped += chunk.byteLength;
      return;
    }
    const damaged = this.flipBits(this.dropBytes(chunk));
    if (damaged.byteLength === 0) return;
    const copies = this.draw(this.dupRng, this.options.duplicateChunkRate) ? 2 : 1;
    if (copies === 2) this.counters.duplicated += 1;
    this.schedule(damaged);
    // The second copy is its own buffer, so a listener that mutates one cannot alter the other.
    if (copies === 2) this.schedule(damaged.slice());
  }

  /** One Bernoulli draw; a rate of 0 consumes no randomness (pass-through stays exact). */
  private draw(rng: Xoshiro128, p: number): boolean {
    if (p <= 0) return false;
    return rng.nextFloat() < p;
  }

  /** Remove bytes at geometric gaps. Returns the input itself when nothing is dropped. */
  private dropBytes(chunk: Uint8Array): Uint8Array {
    if (this.options.dropByteRate <= 0 || this.bytesToNextDrop >= chunk.byteLength) {
      if (this.options.dropByteRate > 0) this.bytesToNextDrop -= chunk.byteLength;
      return chunk;
    }
    const kept = new Uint8Array(chunk.byteLength);
    let keptLength = 0;
    let pos = 0;
    while (pos < chunk.byteLength) {
      const keep = Math.min(this.bytesToNextDrop, chunk.byteLength - pos);
      kept.set(chunk.subarray(pos, pos + keep), keptLength);
      keptLength += keep;
      pos += keep;
      this.bytesToNextDrop -= keep;
      if (pos < chunk.byteLength) {
        // pos is the byte to drop
        pos += 1;
        this.counters.bytesDropped += 1;
        this.bytesToNextDrop = this.byteGaps.next();
      }
    }
    return kept.subarray(0, keptLength);
  }

  /** Flip bits at geometric gaps, on a copy. Returns the input itself when nothing flips. */
  private flipBits(chunk: Uint8Array): Uint8Array {
    const bits = chunk.byteLength * 8;
    if (this.options.bitErrorRate <= 0) return chunk;
    if (this.bitsToNextFlip >= bits) {
      this.bitsToNextFlip -= bits;
      return chunk;
    }
    const out = chunk.slice();
    let bit = this.bitsToNextFlip;
    while (bit < bits) {
      const byteIndex = bit >>> 3;
      out[byteIndex] = (out[byteIndex] ?? 0) ^ (1 << (bit & 7));
      this.counters.bitsFlipped += 1;
      const gap = this.bitGaps.next();
      bit += gap + 1;
    }
    this.bitsToNextFlip = bit - bits;
    return out;
  }

  private schedule(chunk: Uint8Array): void {
    const delay = this.options.delayMs;
    if (delay === undefined && this.pending.length === 0) {
      this.emit(chunk);
      return;
    }
    const [lo, hi] = delay ?? [0, 0];
    const wanted = this.clock.now() + lo + (hi - lo) * this.delayRng.nextFloat();
    const at = Math.max(wanted, this.lastDeliveryAt);
    this.lastDeliveryAt = at;
    this.pending.push({ chunk, at });
    this.arm();
  }

  private arm(): void {
    if (this.timer !== undefined || this.closed) return;
    const head = this.pending[0];
    if (head === undefined) return;
    const wait = Math.max(0, Math.ceil(head.at - this.clock.now()));
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const now = this.clock.now();
    for (;;) {
      if (this.closed) return;
      const head = this.pending[0];
      if (head === undefined || head.at > now) break;
      this.pending.shift();
      if (this.isDisconnected) {
        // Still "on the wire" when the cable went: lost.
        this.counters.chunksDropped += 1;
        this.counters.bytesDropped += head.chunk.byteLength;
        continue;
      }
      this.emit(head.chunk);
    }
    this.arm();
  }

  private emit(chunk: Uint8Array): void {
    for (const listener of this.listeners) listener(chunk);
  }
}

import { z } from 'zod';
import { WireError } from './errors.js';
import type { Transport } from './transport.js';

/**
 * Paces WRITES as a real UART would: `baudRate / bitsPerByte` bytes per second. A pty or USB
 * gadget serial moves megabytes per second whatever the baud rate; wrapping its transport in a
 * ThrottleTransport makes tests, benches and the demo see the timing of a 115200 8N1 line.
 *
 * Model: the line transmits the accepted bytes back to back. Byte k (counting from 1) of a busy
 * period that began at time t0 has left the line at `t0 + k * bitsPerByte / baudRate` seconds.
 * A write is cut into slices of about `sliceMs` of line time; each slice is handed to the inner
 * transport when the line clock reaches the end of its last byte. Release times are computed from
 * the busy period's start and a byte count — never by adding timer delays — so timer lateness
 * does not accumulate and the long-run rate is exact. When the line falls idle, a new busy period
 * starts at the next write.
 *
 * write() resolves once its last slice has been handed to (and accepted by) the inner transport,
 * so the caller feels back-pressure like a full UART FIFO. Reads pass through untouched.
 */

/** Time source and timers; injectable so tests can drive virtual time. Milliseconds. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The process clock: monotonic `performance.now()` (a wall clock can jump when a device without
 * RTC syncs its time). Globals are looked up at call time so test fake timers apply.
 */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (callback: () => void, ms: number): unknown => setTimeout(callback, ms),
  clearTimeout: (handle: unknown): void => {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});

export interface ThrottleOptions {
  /** Line rate in baud. */
  readonly baudRate: number;
  /** Bits on the wire per byte: 10 for 8N1 (start + 8 data + stop), 11 for 8E1 / 8N2. */
  readonly bitsPerByte?: number;
  /** Line time per slice in milliseconds; default 10 (115 bytes at 115200 8N1). */
  readonly sliceMs?: number;
  readonly clock?: Clock;
}

export const THROTTLE_DEFAULTS = Object.freeze({ bitsPerByte: 10, sliceMs: 10 });

/** Validates an injected Clock (shared with fault-transport). */
export const clockSchema = z.custom<Clock>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Record<string, unknown>).now === 'function' &&
    typeof (v as Record<string, unknown>).setTimeout === 'function' &&
    typeof (v as Record<string, unknown>).clearTimeout === 'function',
  'expected {now, setTimeout, clearTimeout} functions',
);

const throttleOptionsSchema = z
  .object({
    baudRate: z.number().int().min(1).max(100_000_000),
    bitsPerByte: z.number().int().min(7).max(13).default(THROTTLE_DEFAULTS.bitsPerByte),
    sliceMs: z.number().gt(0).max(1000).default(THROTTLE_DEFAULTS.sliceMs),
    clock: clockSchema.default(systemClock),
  })
  .strict();

interface PendingWrite {
  readonly bytes: Uint8Array;
  offset: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class ThrottleTransport implements Transport {
  readonly baudRate: number;
  readonly bitsPerByte: number;
  /** Line time of one byte in milliseconds. */
  readonly byteTimeMs: number;
  /** Bytes per slice: about sliceMs of line time, at least 1. */
  readonly sliceBytes: number;
  private readonly clock: Clock;
  private readonly queue: PendingWrite[] = [];
  /** Start of the current busy period and bytes released in it (released bytes end on time). */
  private periodStart = 0;
  private periodBytes = 0;
  private pumping = false;
  private timer: unknown;
  private wake: (() => void) | undefined;
  private closed = false;
  private closeError: WireError | undefined;
  private readonly unsubscribeClose: () => void;

  constructor(
    private readonly inner: Transport,
    options: ThrottleOptions,
  ) {
    const parsed = throttleOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new WireError(
        'BAD_PARAMS',
        `throttle-transport: expected {baudRate: integer 1..1e8, bitsPerByte?: 7..13, sliceMs?: (0, 1000], clock?}, got ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    this.baudRate = parsed.data.baudRate;
    this.bitsPerByte = parsed.data.bitsPerByte;
    this.clock = parsed.data.clock;
    this.byteTimeMs = (this.bitsPerByte * 1000) / this.baudRate;
    this.sliceBytes = Math.max(1, Math.floor(parsed.data.sliceMs / this.byteTimeMs));
    this.unsubscribeClose = inner.onClose(() => {
      this.fail(new WireError('LINK_CLOSED', 'throttle-transport: inner transport closed'));
    });
  }

  get isOpen(): boolean {
    return !this.closed && this.inner.isOpen;
  }

  /** Bytes accepted but not yet released to the inner transport. */
  get queuedBytes(): number {
    let n = 0;
    for (const w of this.queue) n += w.bytes.byteLength - w.offset;
    return n;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!(bytes instanceof Uint8Array)) {
      return Promise.reject(
        new WireError(
          'BAD_PARAMS',
          `throttle-transport/write: expected a Uint8Array, got ${typeof bytes}`,
        ),
      );
    }
    if (!this.isOpen) {
      return Promise.reject(
        this.closeError ??
          new WireError('LINK_CLOSED', 'throttle-transport/write: transport is closed'),
      );
    }
    return new Promise<void>((resolve, reject) => {
      // Copy: the bytes are "on the line" now; the caller may reuse its buffer.
      this.queue.push({ bytes: bytes.slice(), offset: 0, resolve, reject });
      if (!this.pumping) void this.pump();
    });
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    return this.inner.onData(listener);
  }

  onClose(listener: (error?: Error) => void): () => void {
    return this.inner.onClose(listener);
  }

  async close(): Promise<void> {
    this.fail(new WireError('LINK_CLOSED', 'throttle-transport: closed while writing'));
    this.unsubscribeClose();
    await this.inner.close();
  }

  /** Release slices on the line clock until the queue is empty. One pump runs at a time. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      const now = this.clock.now();
      if (this.periodStart + this.periodBytes * this.byteTimeMs <= now) {
        // The line is idle: a new busy period starts now.
        this.periodStart = now;
        this.periodBytes = 0;
      }
      while (!this.closed) {
        const head = this.queue[0];
        if (head === undefined) break;
        const remaining = head.bytes.byteLength - head.offset;
        if (remaining === 0) {
          this.queue.shift();
          head.resolve();
          continue;
        }
        const n = Math.min(remaining, this.sliceBytes);
        const releaseAt = this.periodStart + (this.periodBytes + n) * this.byteTimeMs;
        await this.sleepUntil(releaseAt);
        if (this.closed) break;
        const slice = head.bytes.subarray(head.offset, head.offset + n);
        head.offset += n;
        this.periodBytes += n;
        try {
          await this.inner.write(slice);
        } catch (e) {
          const error =
            e instanceof WireError
              ? e
              : new WireError('LINK_CLOSED', 'throttle-transport/write: inner write failed', {
                  cause: e,
                });
          this.fail(error);
          break;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Wait for the clock to reach `at`, re-arming if a timer fires early. */
  private async sleepUntil(at: number): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const wait = at - this.clock.now();
      if (wait <= 0) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = this.clock.setTimeout(() => {
          this.timer = undefined;
          this.wake = undefined;
          resolve();
        }, Math.ceil(wait));
      });
    }
  }

  /** End the transport for writing: reject every pending write with `error`. */
  private fail(error: WireError): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = error;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
    for (const w of this.queue.splice(0)) w.reject(error);
  }
}

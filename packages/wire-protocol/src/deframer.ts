/**
 * Turns a byte stream with arbitrary chunk boundaries into frames. Everything between two 0x00
 * bytes is one candidate; a candidate that does not decode is counted and dropped, so the stream
 * resynchronises at the next delimiter after any garbage. Memory is bounded: at most
 * MAX_ENCODED_FRAME bytes are ever held. Time is passed in by the caller; there are no timers.
 */
import { WireError } from './errors.js';
import { decodeFrame, type Frame, MAX_ENCODED_FRAME } from './frame.js';

export interface DeframerStats {
  /** Frames decoded and returned. */
  readonly frames: number;
  /** Candidates between delimiters that failed COBS, length, version, type, flags or CRC checks. */
  readonly badFrames: number;
  /** Bytes (delimiters excluded) dropped for any reason: bad, stale or oversize candidates. */
  readonly garbageBytes: number;
  /** Partial frames dropped because no byte came for `staleMs`. */
  readonly staleDiscards: number;
  /** Runs longer than MAX_ENCODED_FRAME without a delimiter (each run counts once). */
  readonly oversizeDiscards: number;
}

export interface DeframerOptions {
  /** A partial frame older than this (no byte for staleMs) is dropped when the next byte arrives. */
  readonly staleMs: number;
}

export const DEFAULT_DEFRAMER_OPTIONS: Readonly<DeframerOptions> = Object.freeze({ staleMs: 1000 });

export class Deframer {
  private readonly buf = new Uint8Array(MAX_ENCODED_FRAME);
  private len = 0;
  /** Inside a run that overflowed the buffer: drop bytes until the next 0x00. */
  private skipping = false;
  private lastByteAt: number | undefined;
  private readonly staleMs: number;
  private counts = {
    frames: 0,
    badFrames: 0,
    garbageBytes: 0,
    staleDiscards: 0,
    oversizeDiscards: 0,
  };
  private last: WireError | undefined;

  constructor(options?: Partial<DeframerOptions>) {
    const staleMs = options?.staleMs ?? DEFAULT_DEFRAMER_OPTIONS.staleMs;
    if (typeof staleMs !== 'number' || !Number.isFinite(staleMs) || staleMs <= 0) {
      throw new WireError(
        'BAD_PARAMS',
        `deframer/options: expected staleMs > 0, got ${String(staleMs)}`,
      );
    }
    this.staleMs = staleMs;
  }

  /**
   * Feed received bytes; `nowMs` is the caller's clock (monotonic milliseconds). Returns the frames
   * completed by this chunk, in order. Never throws on any byte content.
   */
  push(chunk: Uint8Array, nowMs: number): Frame[] {
    if (!(chunk instanceof Uint8Array)) {
      throw new WireError('BAD_PARAMS', 'deframer/push: expected a Uint8Array chunk');
    }
    if (typeof nowMs !== 'number' || Number.isNaN(nowMs)) {
      throw new WireError(
        'BAD_PARAMS',
        `deframer/push: expected a time in ms, got ${String(nowMs)}`,
      );
    }
    const frames: Frame[] = [];
    if (chunk.length === 0) return frames;
    if (this.lastByteAt !== undefined && nowMs - this.lastByteAt > this.staleMs) this.dropStale();
    this.lastByteAt = nowMs;
    let pos = 0;
    while (pos < chunk.length) {
      const zero = chunk.indexOf(0, pos);
      const end = zero === -1 ? chunk.length : zero;
      this.absorb(chunk.subarray(pos, end));
      if (zero === -1) break;
      this.delimit(frames);
      pos = zero + 1;
    }
    return frames;
  }

  get stats(): DeframerStats {
    return { ...this.counts };
  }

  /** Bytes of the current partial frame (never above MAX_ENCODED_FRAME). */
  get bufferedBytes(): number {
    return this.len;
  }

  /** The reason the most recent candidate was rejected, for diagnostics. */
  get lastError(): WireError | undefined {
    return this.last;
  }

  /** Forget any partial frame (the counters stay). */
  clear(): void {
    this.len = 0;
    this.skipping = false;
  }

  private dropStale(): void {
    if (this.len === 0 && !this.skipping) return;
    this.counts.staleDiscards++;
    this.counts.garbageBytes += this.len;
    this.last = new WireError(
      'BAD_FRAME',
      `deframer: expected the rest of a frame within ${this.staleMs} ms, dropped a stale partial frame of ${this.len} bytes`,
    );
    this.clear();
  }

  private absorb(segment: Uint8Array): void {
    if (segment.length === 0) return;
    if (this.skipping) {
      this.counts.garbageBytes += segment.length;
      return;
    }
    if (segment.length > MAX_ENCODED_FRAME - this.len) {
      this.counts.oversizeDiscards++;
      this.counts.garbageBytes += this.len + segment.length;
      this.last = new WireError(
        'BAD_FRAME',
        `deframer: expected a delimiter within ${MAX_ENCODED_FRAME} bytes, got a longer run`,
      );
      this.len = 0;
      this.skipping = true;
      return;
    }
    this.buf.set(segment, this.len);
    this.len += segment.length;
  }

  private delimit(frames: Frame[]): void {
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    if (this.len === 0) return; // empty frame: a lone delimiter, ignored
    const candidate = this.buf.subarray(0, this.len);
    const n = this.len;
    this.len = 0;
    try {
      frames.push(decodeFrame(candidate)); // decodeFrame copies; the buffer can be reused
      this.counts.frames++;
    } catch (e) {
      this.counts.badFrames++;
      this.counts.garbageBytes += n;
      this.last =
        e instanceof WireError
          ? e
          : new WireError(
              'BAD_FRAME',
              `deframer: expected a frame, decoding failed: ${String(e)}`,
              { cause: e },
            );
    }
  }
}

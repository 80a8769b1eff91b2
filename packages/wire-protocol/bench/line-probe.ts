import { WireError } from '../src/errors.js';
import type { Transport } from '../src/transport.js';

/**
 * A pass-through Transport that records what crosses it: every write (time, size) and every
 * received chunk (time, size). Placed directly above the real transport (below any throttle), its
 * write log is the line's own timeline: a ThrottleTransport hands a slice down when the slice's
 * last byte has left the line, so the log tells when the line was busy and when it sat idle.
 *
 * Measurement tool for the bench and the demo; it never alters the bytes.
 */
export interface LineEvent {
  /** performance.now() when the bytes crossed the probe, ms. */
  readonly at: number;
  readonly bytes: number;
}

/** Most events kept per direction; beyond this the log stops growing (counters keep counting). */
export const MAX_PROBE_EVENTS = 1_000_000;

export class LineProbe implements Transport {
  private readonly writeLog: LineEvent[] = [];
  private readonly readLog: LineEvent[] = [];
  private written = 0;
  private read = 0;

  constructor(private readonly inner: Transport) {
    if (
      typeof inner !== 'object' ||
      inner === null ||
      typeof inner.write !== 'function' ||
      typeof inner.onData !== 'function'
    ) {
      throw new WireError('BAD_PARAMS', `line-probe: expected a Transport, got ${typeof inner}`);
    }
    inner.onData((chunk) => {
      this.read += chunk.byteLength;
      if (this.readLog.length < MAX_PROBE_EVENTS) {
        this.readLog.push({ at: performance.now(), bytes: chunk.byteLength });
      }
    });
  }

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  /** Bytes written through the probe since it was made. */
  get bytesWritten(): number {
    return this.written;
  }

  /** Bytes received through the probe since it was made. */
  get bytesRead(): number {
    return this.read;
  }

  /** Writes logged in [from, to] (ms, performance.now()). */
  writesBetween(from: number, to: number): LineEvent[] {
    return this.writeLog.filter((e) => e.at >= from && e.at <= to);
  }

  /** Received chunks logged in [from, to]. */
  readsBetween(from: number, to: number): LineEvent[] {
    return this.readLog.filter((e) => e.at >= from && e.at <= to);
  }

  /** Forget the logs (the byte counters keep running). */
  clearLog(): void {
    this.writeLog.length = 0;
    this.readLog.length = 0;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (bytes instanceof Uint8Array) {
      this.written += bytes.byteLength;
      if (this.writeLog.length < MAX_PROBE_EVENTS) {
        this.writeLog.push({ at: performance.now(), bytes: bytes.byteLength });
      }
    }
    return this.inner.write(bytes);
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    return this.inner.onData(listener);
  }

  onClose(listener: (error?: Error) => void): () => void {
    return this.inner.onClose(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

import { SerialPort } from 'serialport';
import { z } from 'zod';
import { WireError } from './errors.js';
import type { Transport } from './transport.js';

/**
 * Layer 1 over a real serial device: a UART (`/dev/ttyAMA0`, `/dev/ttyUSB0`), USB gadget serial
 * (`/dev/ttyGS0` on the device, `/dev/ttyACM0` on the host) or a pseudo-terminal.
 *
 * This is the only module of the package that imports `serialport`; it is exported separately
 * (`@keyline/wire-protocol/serial`) so that code which never touches hardware never loads the
 * native binding.
 *
 * The line is always 8N1, raw: no RTS/CTS, no XON/XOFF (0x11 and 0x13 are ordinary data bytes in
 * our frames), no echo, no canonical mode, no CR/LF translation. serialport's Linux binding
 * already clears `c_lflag` and `c_oflag` and sets `c_iflag = IGNPAR`; the flow-control options are
 * passed explicitly so that a change of default upstream cannot turn them on.
 */

/** The usual rates of a PC or Raspberry Pi UART. Any other integer in range is accepted too. */
export const STANDARD_BAUD_RATES: readonly number[] = Object.freeze([
  9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600,
]);

/** Lowest and highest rate accepted: below 1200 nothing useful fits; 4 Mbaud is the Linux top. */
export const MIN_BAUD_RATE = 1200;
export const MAX_BAUD_RATE = 4_000_000;

const serialOptionsSchema = z
  .object({
    path: z.string().min(1, 'path must be a non-empty string'),
    // The standard rates all lie in this range; other integers are allowed for odd clocks.
    baudRate: z.number().int().min(MIN_BAUD_RATE).max(MAX_BAUD_RATE),
  })
  .strict();

export interface SerialTransportOptions {
  /** Device path, e.g. `/dev/ttyAMA0`, `/dev/ttyGS0`, or a pty link from createPtyPair(). */
  readonly path: string;
  /** Line rate in baud (8N1: one byte is 10 bits on the wire). */
  readonly baudRate: number;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'options'}: ${i.message}`)
    .join('; ');
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class SerialTransport implements Transport {
  private readonly dataListeners = new Set<(chunk: Uint8Array) => void>();
  private readonly closeListeners = new Set<(error?: Error) => void>();
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Drain coalescing: one tcdrain() in flight, at most one more queued behind it. */
  private drainInFlight: Promise<void> | undefined;
  private drainQueued: Promise<void> | undefined;

  private constructor(
    private readonly port: SerialPort,
    readonly path: string,
    readonly baudRate: number,
  ) {
    port.on('data', (data: Buffer) => this.deliver(data));
    port.on('error', (error: Error) => this.finish(error));
    port.on('close', (error: Error | null | undefined) => this.finish(error ?? undefined));
  }

  /**
   * Open a serial device as 8N1 raw. Rejects with BAD_PARAMS on invalid options and with
   * LINK_CLOSED (carrying the OS error as `cause`) when the device cannot be opened.
   */
  static async open(options: SerialTransportOptions): Promise<SerialTransport> {
    const parsed = serialOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new WireError(
        'BAD_PARAMS',
        `serial-transport/open: expected {path: non-empty string, baudRate: one of ${STANDARD_BAUD_RATES.join(', ')} or an integer in [${MIN_BAUD_RATE}, ${MAX_BAUD_RATE}]}, got ${describeIssues(parsed.error)}`,
      );
    }
    const { path, baudRate } = parsed.data;
    let port: SerialPort;
    try {
      port = new SerialPort({
        path,
        baudRate,
        dataBits: 8,
        stopBits: 1,
        parity: 'none',
        rtscts: false,
        xon: false,
        xoff: false,
        xany: false,
        autoOpen: false,
      });
    } catch (e) {
      throw new WireError(
        'BAD_PARAMS',
        `serial-transport/open: serialport refused the options for ${path}: ${errorMessage(e)}`,
        { cause: e },
      );
    }
    await new Promise<void>((resolve, reject) => {
      port.open((err) => {
        if (err === null || err === undefined) {
          resolve();
          return;
        }
        reject(
          new WireError(
            'LINK_CLOSED',
            `serial-transport/open: expected to open ${path} at ${baudRate} baud, got ${err.message}`,
            { cause: err },
          ),
        );
      });
    });
    return new SerialTransport(port, path, baudRate);
  }

  get isOpen(): boolean {
    return !this.closed && this.closing === undefined && this.port.isOpen;
  }

  /** Resolves once the OS reports the bytes transmitted (tcdrain), like a UART FIFO emptying. */
  async write(bytes: Uint8Array): Promise<void> {
    if (!(bytes instanceof Uint8Array)) {
      throw new WireError(
        'BAD_PARAMS',
        `serial-transport/write: expected a Uint8Array, got ${typeof bytes}`,
      );
    }
    if (!this.isOpen) {
      throw new WireError('LINK_CLOSED', `serial-transport/write: ${this.path} is closed`);
    }
    if (bytes.byteLength === 0) return;
    // Copy: the stream may hold the buffer after write() returns, and the caller may reuse it.
    const copy = Buffer.from(bytes);
    await new Promise<void>((resolve, reject) => {
      this.port.write(copy, (err) => {
        if (err === null || err === undefined) resolve();
        else
          reject(
            new WireError(
              'LINK_CLOSED',
              `serial-transport/write: expected ${copy.byteLength} bytes written to ${this.path}, got ${err.message}`,
              { cause: err },
            ),
          );
      });
    });
    await this.drain();
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    this.dataListeners.add(listener);
    return () => {
      this.dataListeners.delete(listener);
    };
  }

  onClose(listener: (error?: Error) => void): () => void {
    this.closeListeners.add(listener);
    return () => {
      this.closeListeners.delete(listener);
    };
  }

  /** Idempotent: every call returns the same promise; close listeners fire once. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    if (this.closed) return Promise.resolve();
    this.closing = new Promise<void>((resolve) => {
      if (!this.port.isOpen) {
        this.finish(undefined);
        resolve();
        return;
      }
      this.port.close((err) => {
        // A failing close still ends the transport; the error reaches the close listeners.
        this.finish(err ?? undefined);
        resolve();
      });
    });
    return this.closing;
  }

  /** One tcdrain() covers every write that completed before it started; coalesce the rest. */
  private drain(): Promise<void> {
    if (this.drainQueued !== undefined) return this.drainQueued;
    if (this.drainInFlight === undefined) {
      const run = this.runDrain().finally(() => {
        if (this.drainInFlight === run) this.drainInFlight = undefined;
      });
      this.drainInFlight = run;
      return run;
    }
    const queued = this.drainInFlight
      .catch(() => undefined)
      .then(() => {
        this.drainQueued = undefined;
        return this.drain();
      });
    this.drainQueued = queued;
    return queued;
  }

  private runDrain(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!this.isOpen) {
        reject(new WireError('LINK_CLOSED', `serial-transport/write: ${this.path} closed`));
        return;
      }
      this.port.drain((err) => {
        if (err === null || err === undefined) resolve();
        else
          reject(
            new WireError(
              'LINK_CLOSED',
              `serial-transport/write: expected ${this.path} to drain, got ${err.message}`,
              { cause: err },
            ),
          );
      });
    });
  }

  private deliver(data: Buffer): void {
    if (this.closed) return;
    const chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    for (const listener of this.dataListeners) {
      try {
        listener(chunk);
      } catch (e) {
        // A throwing listener would otherwise escape into serialport's promise chain and become
        // an unhandled rejection; end the transport with the error instead.
        this.finish(e instanceof Error ? e : new Error(String(e)));
        return;
      }
    }
  }

  /** Mark closed and tell the listeners, once. */
  private finish(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    const wrapped =
      error === undefined || error instanceof WireError
        ? error
        : new WireError('LINK_CLOSED', `serial-transport: ${this.path} failed: ${error.message}`, {
            cause: error,
          });
    if (error !== undefined && this.port.isOpen) {
      // An error on an open port: release the device, the transport is over.
      this.port.close(() => undefined);
    }
    for (const listener of this.closeListeners) listener(wrapped);
    this.closeListeners.clear();
    this.dataListeners.clear();
  }
}

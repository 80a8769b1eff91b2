import { WireError } from '../src/errors.js';
import { FaultTransport } from '../src/fault-transport.js';
import { createMemoryTransportPair } from '../src/memory-transport.js';
import { createPtyPair, type PtyPair } from '../src/pty-pair.js';
import { SerialTransport } from '../src/serial-transport.js';
import { ThrottleTransport } from '../src/throttle-transport.js';
import type { Transport } from '../src/transport.js';
import { LineProbe } from './line-probe.js';

/**
 * The transports a bench case runs over. Each end is built bottom-up:
 *
 *   real transport (memory or serial on a socat pty)
 *     -> LineProbe      (records the line: what is written and received)
 *     -> ThrottleTransport at `baud` (paces this end's writes like a UART)   [paced cases]
 *     -> FaultTransport (damages what this end receives)                     [fault case]
 */
export type RigKind = 'memory' | 'pty' | 'pty-paced' | 'pty-paced-faults';

export interface RigOptions {
  readonly kind: RigKind;
  /** Line rate the throttles pace at (paced kinds), and the rate the serial ports are opened at. */
  readonly baud: number;
  /** Bit error rate applied on both receive sides (fault kind only). */
  readonly bitErrorRate?: number;
  /** Seed of the fault PRNGs (device side uses seed + 1). */
  readonly seed?: number;
}

export interface RigEnd {
  /** The transport the endpoint is built on (the top of the wrapper stack). */
  readonly transport: Transport;
  readonly probe: LineProbe;
  readonly fault: FaultTransport | undefined;
}

export interface Rig {
  readonly kind: RigKind;
  /** Human description of the transports, for the printed conditions. */
  readonly description: string;
  /** Line time of one byte in ms when paced, else undefined. */
  readonly byteTimeMs: number | undefined;
  readonly coordinator: RigEnd;
  readonly device: RigEnd;
  readonly pty: PtyPair | undefined;
  /** Close both transports and stop socat. Idempotent; never throws. */
  close(): Promise<void>;
}

const BITS_PER_BYTE = 10; // 8N1

export async function openRig(options: RigOptions): Promise<Rig> {
  const { kind, baud } = options;
  if (!Number.isInteger(baud) || baud < 1200 || baud > 4_000_000) {
    throw new WireError('BAD_PARAMS', `bench/rig: expected baud 1200..4000000, got ${baud}`);
  }
  if (kind === 'memory') {
    const [a, b] = createMemoryTransportPair();
    return assemble(kind, 'in-memory pair (setImmediate delivery)', undefined, a, b, options);
  }
  const pty = await createPtyPair();
  let a: SerialTransport | undefined;
  let b: SerialTransport | undefined;
  try {
    a = await SerialTransport.open({ path: pty.pathA, baudRate: baud });
    b = await SerialTransport.open({ path: pty.pathB, baudRate: baud });
  } catch (e) {
    await a?.close();
    await pty.close();
    throw e;
  }
  const what =
    kind === 'pty'
      ? 'socat pty pair + serialport (unpaced; a pty ignores the baud rate)'
      : `socat pty pair + serialport + ThrottleTransport ${baud} 8N1 on both ends` +
        (kind === 'pty-paced-faults'
          ? ` + FaultTransport BER ${options.bitErrorRate ?? 0} on both receive sides`
          : '');
  return assemble(kind, what, pty, a, b, options);
}

function assemble(
  kind: RigKind,
  description: string,
  pty: PtyPair | undefined,
  a: Transport,
  b: Transport,
  options: RigOptions,
): Rig {
  const paced = kind === 'pty-paced' || kind === 'pty-paced-faults';
  const seed = options.seed ?? 1;
  const end = (raw: Transport, endSeed: number): RigEnd => {
    const probe = new LineProbe(raw);
    let top: Transport = probe;
    if (paced) top = new ThrottleTransport(top, { baudRate: options.baud });
    let fault: FaultTransport | undefined;
    if (kind === 'pty-paced-faults') {
      fault = new FaultTransport(top, { seed: endSeed, bitErrorRate: options.bitErrorRate ?? 0 });
      top = fault;
    }
    return { transport: top, probe, fault };
  };
  const coordinator = end(a, seed);
  const device = end(b, seed + 1);
  let closing: Promise<void> | undefined;
  return {
    kind,
    description,
    byteTimeMs: paced ? (BITS_PER_BYTE * 1000) / options.baud : undefined,
    coordinator,
    device,
    pty,
    close() {
      closing ??= (async () => {
        await coordinator.transport.close().catch(() => undefined);
        await device.transport.close().catch(() => undefined);
        await pty?.close().catch(() => undefined);
      })();
      return closing;
    },
  };
}

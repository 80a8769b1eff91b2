/**
 * One device's serial line, as the demo builds it from two socat pseudo-terminal pairs and a
 * pacing relay in this process:
 *
 *   keyline-signer serve --port <device pair>/ttyA
 *        <device pair>/ttyB  ⇄  relay: bytes paced at `baud` (8N1) each way  ⇄  <coordinator pair>/ttyA
 *   keyline-coordinator (enrolled with --serial <coordinator pair>/ttyB)
 *
 * A pty moves megabytes per second whatever baud rate is set on it, so the relay releases the
 * bytes of each direction at baud/10 bytes per second through wire-protocol's ThrottleTransport:
 * both daemons see the timing of a 115200 line. The relay does not parse anything; it is the
 * cable. Both ends of each pair are opened with serialport's native binding (SerialTransport).
 *
 * socat keeps a pair alive when the program on one end closes it, so the coordinator's commands
 * (each opens the line, talks, closes) and then its daemon can use the same path one after the
 * other, as with a real serial port. When a signer process is killed, its end falls silent and
 * the line stays up, as a UART would: the coordinator notices by its own timeouts.
 */
import {
  createPtyPair,
  type FaultStats,
  FaultTransport,
  type PtyPair,
  SerialTransport,
  ThrottleTransport,
  type Transport,
} from './deps.js';

/** Line faults (`--faults`): the relay corrupts what it carries, both ways. */
export interface LineFaults {
  readonly seed: number;
  /** Bit errors per bit (default 1e-4). */
  readonly bitErrorRate?: number;
  /** Dropped bytes per byte (default 1e-5). */
  readonly dropByteRate?: number;
}

export interface LineStats {
  /** Bytes carried from the device to the coordinator. */
  readonly toCoordinator: number;
  /** Bytes carried from the coordinator to the device. */
  readonly toDevice: number;
}

export interface SerialLine {
  /** What the signer daemon opens (`--port`). */
  readonly devicePath: string;
  /** What the coordinator is enrolled with (`--serial`). */
  readonly coordinatorPath: string;
  readonly baud: number;
  stats(): LineStats;
  /** Set when one of the relay's own ports closed under it (socat gone). */
  readonly broken: string | null;
  /** Cut the line both ways for `ms` (only with faults). */
  disconnect(ms: number): void;
  /** What the fault injection did, per direction (null without faults). */
  faultStats(): { toCoordinator: FaultStats; toDevice: FaultStats } | null;
  close(): Promise<void>;
}

/** Make both pty pairs in `dir` (`<dir>/device`, `<dir>/coordinator`) and start the relay. */
export async function openSerialLine(
  dir: string,
  baud: number,
  faults?: LineFaults,
): Promise<SerialLine> {
  const opened: { close(): Promise<void> }[] = [];
  const closeAll = async () => {
    for (const o of opened.reverse()) await o.close().catch(() => undefined);
  };
  try {
    const devicePair: PtyPair = await createPtyPair(`${dir}/device`);
    opened.push(devicePair);
    const coordinatorPair: PtyPair = await createPtyPair(`${dir}/coordinator`);
    opened.push(coordinatorPair);
    const deviceSide = await SerialTransport.open({ path: devicePair.pathB, baudRate: baud });
    opened.push(deviceSide);
    const coordinatorSide = await SerialTransport.open({
      path: coordinatorPair.pathA,
      baudRate: baud,
    });
    opened.push(coordinatorSide);
    const inject = (t: Transport, seed: number) =>
      new FaultTransport(t, {
        seed,
        bitErrorRate: faults?.bitErrorRate ?? 1e-4,
        dropByteRate: faults?.dropByteRate ?? 1e-5,
      });
    const fromDevice = faults === undefined ? null : inject(deviceSide, faults.seed);
    const fromCoordinator = faults === undefined ? null : inject(coordinatorSide, faults.seed + 1);
    const toDevice = new ThrottleTransport(deviceSide, { baudRate: baud });
    const toCoordinator = new ThrottleTransport(coordinatorSide, { baudRate: baud });
    let up = 0;
    let down = 0;
    let broken: string | null = null;
    let closing = false;
    const carry = (into: ThrottleTransport, count: (n: number) => void) => (chunk: Uint8Array) => {
      count(chunk.length);
      into.write(chunk).catch((e: unknown) => {
        if (!closing)
          broken ??= `relay write failed: ${e instanceof Error ? e.message : String(e)}`;
      });
    };
    (fromDevice ?? deviceSide).onData(
      carry(toCoordinator, (n) => {
        up += n;
      }),
    );
    (fromCoordinator ?? coordinatorSide).onData(
      carry(toDevice, (n) => {
        down += n;
      }),
    );
    for (const [side, name] of [
      [deviceSide, 'device'],
      [coordinatorSide, 'coordinator'],
    ] as const) {
      side.onClose((e) => {
        if (!closing)
          broken ??= `the ${name} side closed${e === undefined ? '' : `: ${e.message}`}`;
      });
    }
    return {
      devicePath: devicePair.pathA,
      coordinatorPath: coordinatorPair.pathB,
      baud,
      stats: () => ({ toCoordinator: up, toDevice: down }),
      disconnect: (ms: number) => {
        fromDevice?.disconnect(ms);
        fromCoordinator?.disconnect(ms);
      },
      faultStats: () =>
        fromDevice === null || fromCoordinator === null
          ? null
          : { toCoordinator: fromDevice.stats, toDevice: fromCoordinator.stats },
      get broken() {
        return broken;
      },
      close: async () => {
        closing = true;
        await toDevice.close().catch(() => undefined);
        await toCoordinator.close().catch(() => undefined);
        await coordinatorPair.close();
        await devicePair.close();
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/**
 * Link demo (`pnpm demo`): a coordinator and a stand-in signer device talking over a real
 * pseudo-terminal pair (socat + serialport), each end paced like a UART at --baud (default
 * 115200 8N1). Every layer runs: transport -> link -> Noise KK session -> CBOR RPC.
 *
 * Steps: pty pair, link up, handshake (both static key fingerprints), get_info, ping, a 100 KB
 * sign_psbt with a live progress line, the reply checked against the bytes sent, counters. Then
 * (unless --no-faults) a second pair whose device end receives through a FaultTransport at
 * BER 1e-4, and a 20 KB request that still completes. Exits 0 on success.
 *
 * The device end is the echo device of the wire tests (test/helpers/stack.ts): it holds no key;
 * its "signatures" are derived from the exact PSBT bytes it received.
 */

import { spawnSync } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { equalBytes } from '@noble/ciphers/utils.js';
import { signRequestSize } from '../bench/request-size.js';
import { FaultTransport } from '../src/fault-transport.js';
import { createPtyPair, type PtyPair } from '../src/pty-pair.js';
import { SerialTransport } from '../src/serial-transport.js';
import { ThrottleTransport } from '../src/throttle-transport.js';
import type { Transport } from '../src/transport.js';
import {
  echoDeviceHandlers,
  expectedSignatures,
  openPair,
  type Pair,
  patternBytes,
  signRequest,
} from '../test/helpers/stack.js';
import { type DemoSettings, parseDemoArgs } from './args.js';
import { Narrator } from './narrator.js';
import { describeLink, describeSession, fingerprint, sameSignatures } from './report.js';

const MAIN_REQUEST_BYTES = 100 * 1024;
const FAULT_REQUEST_BYTES = 20 * 1024;
const BIT_ERROR_RATE = 1e-4;
/** Reply of the 100 KB request: a few signature entries (what a real device answers). */
const REPLY_SIGNATURES = 3;
const CALL_TIMEOUT_MS = 120_000;
/** The demo gives up (and cleans up) if it runs longer than this. */
const WATCHDOG_MS = 180_000;

interface Line {
  readonly pty: PtyPair;
  readonly coordinator: Transport;
  readonly device: Transport;
  readonly fault: FaultTransport | undefined;
  close(): Promise<void>;
}

/** A pty pair, both ends opened with serialport and paced at `baud`; optionally a noisy device side. */
async function openLine(settings: DemoSettings, withFaults: boolean): Promise<Line> {
  const pty = await createPtyPair(undefined, { socatPath: settings.socatPath });
  const opened: SerialTransport[] = [];
  try {
    for (const path of [pty.pathA, pty.pathB]) {
      opened.push(await SerialTransport.open({ path, baudRate: settings.baud }));
    }
  } catch (e) {
    for (const t of opened) await t.close();
    await pty.close();
    throw e;
  }
  const [a, b] = opened as [SerialTransport, SerialTransport];
  const coordinator = new ThrottleTransport(a, { baudRate: settings.baud });
  const paced = new ThrottleTransport(b, { baudRate: settings.baud });
  const fault = withFaults
    ? new FaultTransport(paced, { seed: 20_240_601, bitErrorRate: BIT_ERROR_RATE })
    : undefined;
  let closing: Promise<void> | undefined;
  return {
    pty,
    coordinator,
    device: fault ?? paced,
    fault,
    close() {
      closing ??= (async () => {
        await coordinator.close().catch(() => undefined);
        await (fault ?? paced).close().catch(() => undefined);
        await pty.close();
      })();
      return closing;
    },
  };
}

/** Resolves when `emitter` emits 'up' (or at once if it is up already). */
function whenUp(channel: {
  readonly isUp: boolean;
  once(event: 'up', listener: () => void): unknown;
}): Promise<void> {
  return channel.isUp ? Promise.resolve() : new Promise((resolve) => channel.once('up', resolve));
}

/** Something the demo must close on the way out, whatever happens. */
type Track = (resource: { close(): Promise<void> }) => void;

async function mainSegment(
  say: Narrator,
  settings: DemoSettings,
  line: Line,
  track: Track,
): Promise<void> {
  say.step(
    `pty pair by socat: coordinator ${line.pty.pathA} -> ${await realpath(line.pty.pathA)}, device ${line.pty.pathB} -> ${await realpath(line.pty.pathB)}`,
  );
  say.step(
    `both ends opened with serialport, 8N1 raw, writes paced at ${settings.baud} baud (${(settings.baud / 10).toLocaleString('en-US')} B/s)`,
  );
  const pair = openPair(line.coordinator, line.device, {
    handlers: echoDeviceHandlers({ replySignatures: () => REPLY_SIGNATURES }),
    timeoutMs: CALL_TIMEOUT_MS,
  });
  track(pair);
  await whenUp(pair.coordinator.link);
  say.step('link up: RESET exchange done, sequence numbers start at 0 on both sides');
  await whenUp(pair.coordinator.session);
  say.step(
    `Noise KK handshake done: coordinator static key ${fingerprint(pair.keys.coordinator.publicKey)}, device static key ${fingerprint(pair.keys.device.publicKey)} (each end pinned the other's)`,
  );

  const info = await pair.coordinator.client.call('get_info', {});
  say.step(
    `get_info: device "${info.deviceId}", firmware ${info.firmware}, protocol v${info.protocolVersion}, network ${info.network}, state ${info.state}`,
  );

  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(8));
  const pingStart = performance.now();
  const pong = await pair.coordinator.client.call('ping', { nonce });
  const rtt = performance.now() - pingStart;
  if (!equalBytes(pong.nonce, nonce))
    throw new Error('link-demo: ping came back with another nonce');
  say.step(`ping: round trip ${rtt.toFixed(1)} ms, nonce echoed, device up ${pong.uptimeMs} ms`);

  const psbt = patternBytes(MAIN_REQUEST_BYTES, 42);
  const params = signRequest(psbt);
  const size = signRequestSize(params);
  say.step(
    `sign_psbt: ${psbt.length.toLocaleString('en-US')} B PSBT -> ${size.envelopeBytes.toLocaleString('en-US')} B CBOR envelope -> ${size.chunks} records (${size.recordBytes.toLocaleString('en-US')} B) handed to the link`,
  );
  const result = await withProgress(say, pair, size.recordBytes, () =>
    pair.coordinator.client.call('sign_psbt', params),
  );
  if (!sameSignatures(result.value, expectedSignatures(psbt, REPLY_SIGNATURES))) {
    throw new Error('link-demo: the reply does not match the bytes sent');
  }
  say.step(
    `reply verified: ${result.value.signatures.length} signatures derived from the ${psbt.length.toLocaleString('en-US')} bytes sent match (round trip ${(result.ms / 1000).toFixed(2)} s, ${Math.round((psbt.length * 1000) / result.ms).toLocaleString('en-US')} B/s goodput)`,
  );
  say.detail(`coordinator link   ${describeLink(pair.coordinator.link.stats)}`);
  say.detail(`device link        ${describeLink(pair.device.link.stats)}`);
  say.detail(`coordinator session ${describeSession(pair.coordinator.session.stats)}`);
  say.detail(`device session     ${describeSession(pair.device.session.stats)}`);
}

/**
 * Runs `call` while printing the bytes the link has acknowledged. The device's link acknowledges
 * exactly the records it has delivered in order, so counting what it delivers is counting what
 * it acknowledges (give or take the ACK frame's own few milliseconds on the line).
 */
async function withProgress<T>(
  say: Narrator,
  pair: Pair,
  total: number,
  call: () => Promise<T>,
): Promise<{ value: T; ms: number }> {
  let acked = 0;
  const onRecord = (record: Uint8Array): void => {
    acked += record.length;
  };
  pair.device.link.on('message', onRecord);
  const start = performance.now();
  const show = (): void => {
    const s = (performance.now() - start) / 1000;
    const shown = Math.min(acked, total);
    say.progress(
      `acked by the link ${shown.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} B (${Math.floor((100 * shown) / total)} %), ${Math.round(shown / Math.max(s, 1e-3)).toLocaleString('en-US')} B/s, ${s.toFixed(1)} s`,
    );
  };
  const timer = setInterval(show, 250);
  try {
    const value = await call();
    show();
    return { value, ms: performance.now() - start };
  } finally {
    clearInterval(timer);
    pair.device.link.off('message', onRecord);
    say.endProgress();
  }
}

async function faultSegment(say: Narrator, line: Line, track: Track): Promise<void> {
  say.step(
    `fault segment: a second pty pair (${line.pty.pathA}, ${line.pty.pathB}); the device receives through a FaultTransport flipping bits at BER ${BIT_ERROR_RATE}`,
  );
  const pair = openPair(line.coordinator, line.device, {
    handlers: echoDeviceHandlers({ replySignatures: () => 1 }),
    timeoutMs: CALL_TIMEOUT_MS,
  });
  track(pair);
  await whenUp(pair.coordinator.session);
  say.step('link up and Noise KK handshake done on the noisy line');
  const psbt = patternBytes(FAULT_REQUEST_BYTES, 7);
  const params = signRequest(psbt);
  const size = signRequestSize(params);
  const result = await withProgress(say, pair, size.recordBytes, () =>
    pair.coordinator.client.call('sign_psbt', params),
  );
  if (!sameSignatures(result.value, expectedSignatures(psbt, 1))) {
    throw new Error('link-demo: the reply on the noisy line does not match the bytes sent');
  }
  const c = pair.coordinator.link.stats;
  const d = pair.device.link.stats;
  const f = line.fault?.stats;
  say.step(
    `noisy-line request completed and verified: ${psbt.length.toLocaleString('en-US')} B in ${(result.ms / 1000).toFixed(2)} s`,
  );
  say.detail(
    `bits flipped ${f?.bitsFlipped ?? 0} in ${(f?.bytes ?? 0).toLocaleString('en-US')} B received by the device; frames the device's deframer refused (bad CRC/COBS) ${d.badFrames}`,
  );
  say.detail(
    `coordinator retransmitted ${c.retransmits} frames (${c.nacksReceived} NACKs from the device, ${c.timeouts} timeouts); ${c.dataSent} first sends`,
  );
}

function socatMissing(path: string): boolean {
  const probe = spawnSync(path, ['-V'], { stdio: 'ignore' });
  return (probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

async function main(): Promise<number> {
  const settings = parseDemoArgs(process.argv.slice(2));
  const say = new Narrator(process.stdout);
  if (socatMissing(settings.socatPath)) {
    console.error(
      `link-demo: socat is missing (${settings.socatPath}); install it: apt-get install -y socat`,
    );
    return 2;
  }
  const open = new Set<{ close(): Promise<void> }>();
  const cleanUp = async (): Promise<void> => {
    for (const o of [...open].reverse()) await o.close().catch(() => undefined);
    open.clear();
  };
  const onSignal = (): void => {
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const watchdog = setTimeout(() => {
    console.error(`link-demo: still running after ${WATCHDOG_MS / 1000} s; giving up`);
    void cleanUp().finally(() => process.exit(1));
  }, WATCHDOG_MS);
  watchdog.unref();

  say.title(
    `Keyline link demo: coordinator <-> stand-in device over a pty pair at ${settings.baud} baud`,
  );
  const track: Track = (resource) => {
    open.add(resource);
  };
  try {
    const line = await openLine(settings, false);
    track(line);
    await mainSegment(say, settings, line, track);
    if (settings.faults) {
      const noisy = await openLine(settings, true);
      track(noisy);
      await faultSegment(say, noisy, track);
    }
    await cleanUp();
    say.step('shut down: endpoints closed, serial ports closed, socat stopped');
    return 0;
  } finally {
    await cleanUp();
    clearTimeout(watchdog);
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`link-demo failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);

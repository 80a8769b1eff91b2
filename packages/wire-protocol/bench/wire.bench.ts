/**
 * Wire benchmark (`pnpm bench`): goodput of a 100 KB sign_psbt request through all four layers
 * (transport -> link -> Noise session -> CBOR RPC), from `client.call` until the device handler
 * holds the whole request, and the full round trip with a small reply.
 *
 * Cases: (a) in-memory pair, (b) socat pty pair with serialport, unpaced, (c) the same pty pair
 * paced at 115200 8N1 by a ThrottleTransport on both ends, (d) (c) with a FaultTransport at
 * BER 1e-4 on both receive sides. A measurement, not a test: it exits non-zero only on an error.
 *
 * Flags: --json (results as JSON on stdout), --no-faults (skip d), --cases abcd (which to run),
 * --baud N (paced rate, default 115200), --size BYTES (payload, default 102400), --fragment N and
 * --window N (link maxPayload and window on both ends; defaults from DEFAULT_LINK_OPTIONS).
 */

import { CRC_SIZE, HEADER_SIZE } from '../src/frame.js';
import { DEFAULT_LINK_OPTIONS } from '../src/link.js';
import type { RpcHandlers } from '../src/rpc-server.js';
import { DATA_RECORD_OVERHEAD, SESSION_MAX_MESSAGE_BYTES } from '../src/session.js';
import {
  echoDeviceHandlers,
  expectedSignatures,
  openPair,
  type Pair,
  patternBytes,
  signRequest,
} from '../test/helpers/stack.js';
import { type Conditions, collectConditions } from './conditions.js';
import { lineTimeline } from './line-timeline.js';
import { signRequestSize } from './request-size.js';
import { openRig, type Rig, type RigKind } from './rigs.js';
import { type Summary, summarize } from './summary.js';

// ---- parameters ------------------------------------------------------------------------------

interface CasePlan {
  readonly id: string;
  readonly kind: RigKind;
  readonly label: string;
  readonly reps: number;
  /** Size of the warm-up request (bytes): the full size where it is cheap, less on a paced line. */
  readonly warmupBytes: number;
}

interface Settings {
  readonly json: boolean;
  readonly faults: boolean;
  readonly baud: number;
  readonly size: number;
  /** Link fragment size (maxPayload) and window, both ends. */
  readonly fragment: number;
  readonly window: number;
  /** Which cases to run, by id. */
  readonly cases: string;
}

const BER = 1e-4;
/** Whole-run watchdog: a bench that hangs is an error. */
const WATCHDOG_MS = 240_000;
/** Per-call timeout handed to the RPC client. */
const CALL_TIMEOUT_MS = 90_000;

function parseArgs(argv: readonly string[]): Settings {
  let json = false;
  let faults = true;
  let baud = 115_200;
  let size = 100 * 1024;
  let fragment = DEFAULT_LINK_OPTIONS.maxPayload;
  let window = DEFAULT_LINK_OPTIONS.window;
  let cases = 'abcd';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): number => {
      const text = argv[++i];
      const n = Number(text);
      if (text === undefined || !Number.isSafeInteger(n) || n <= 0) {
        throw new Error(`bench/args: expected a positive integer after ${arg}, got ${text}`);
      }
      return n;
    };
    if (arg === '--json') json = true;
    else if (arg === '--no-faults') faults = false;
    else if (arg === '--baud') baud = value();
    else if (arg === '--size') size = value();
    else if (arg === '--fragment') fragment = value();
    else if (arg === '--window') window = value();
    else if (arg === '--cases') {
      const text = argv[++i] ?? '';
      if (!/^[a-d]+$/.test(text)) {
        throw new Error(`bench/args: expected --cases made of the letters a-d, got ${text}`);
      }
      cases = text;
    } else {
      throw new Error(
        `bench/args: expected --json, --no-faults, --cases abcd, --baud N, --size N, --fragment N or --window N, got ${arg}`,
      );
    }
  }
  return { json, faults, baud, size, fragment, window, cases };
}

function plans(s: Settings): CasePlan[] {
  const paced = `pty + throttle ${s.baud}`;
  const warm = Math.min(s.size, 16 * 1024);
  const out: CasePlan[] = [
    { id: 'a', kind: 'memory', label: 'memory', reps: 7, warmupBytes: s.size },
    { id: 'b', kind: 'pty', label: 'pty (unpaced)', reps: 7, warmupBytes: s.size },
    { id: 'c', kind: 'pty-paced', label: paced, reps: 3, warmupBytes: warm },
  ];
  if (s.faults) {
    out.push({
      id: 'd',
      kind: 'pty-paced-faults',
      label: `${paced} + BER ${BER}`,
      reps: 1,
      warmupBytes: Math.min(s.size, 4 * 1024),
    });
  }
  return out.filter((p) => s.cases.includes(p.id));
}

// ---- one measured request --------------------------------------------------------------------

interface Snapshot {
  readonly at: number;
  readonly coordinatorWritten: number;
  readonly deviceWritten: number;
  readonly coordinatorLink: Readonly<Record<string, number>>;
  readonly deviceLink: Readonly<Record<string, number>>;
  readonly coordinatorRecordsOut: number;
  readonly deviceRecordsOut: number;
  readonly bitsFlipped: number;
}

function snapshot(pair: Pair, rig: Rig): Snapshot {
  const c = pair.coordinator.link.stats;
  const d = pair.device.link.stats;
  return {
    at: performance.now(),
    coordinatorWritten: rig.coordinator.probe.bytesWritten,
    deviceWritten: rig.device.probe.bytesWritten,
    coordinatorLink: { ...c },
    deviceLink: { ...d },
    coordinatorRecordsOut: pair.coordinator.session.stats.recordsOut,
    deviceRecordsOut: pair.device.session.stats.recordsOut,
    bitsFlipped:
      (rig.coordinator.fault?.stats.bitsFlipped ?? 0) + (rig.device.fault?.stats.bitsFlipped ?? 0),
  };
}

function delta(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
  k: string,
) {
  return (b[k] ?? 0) - (a[k] ?? 0);
}

interface LineBreakdown {
  /** call() until the first request byte went on the line. */
  readonly beforeLineMs: number;
  /** Line time the request's bytes needed at the paced rate. */
  readonly busyMs: number;
  /** Idle line time between the first and the last request byte. */
  readonly idleMs: number;
  /** Idle stretches of 5 ms or more: count and the largest. */
  readonly gaps: number;
  readonly largestGapMs: number;
  /** Last request byte off the line until the handler ran. */
  readonly afterLineMs: number;
}

interface RepResult {
  readonly payloadBytes: number;
  readonly requestMs: number;
  readonly roundTripMs: number;
  readonly requestGoodput: number;
  readonly roundTripGoodput: number;
  /** Bytes the coordinator wrote to its transport between call() and the handler. */
  readonly requestWireBytes: number;
  /** Bytes the device wrote between the handler and the reply's arrival. */
  readonly replyWireBytes: number;
  readonly records: number;
  readonly dataFrames: number;
  readonly framesSent: number;
  /** Both ends, whole round trip. */
  readonly retransmits: number;
  readonly timeouts: number;
  readonly nacks: number;
  /** The same split by end: [coordinator, device]. */
  readonly retransmitsBySide: readonly [number, number];
  readonly timeoutsBySide: readonly [number, number];
  readonly bitsFlipped: number;
  readonly line: LineBreakdown | undefined;
}

interface HandlerHook {
  onRequest: (() => void) | undefined;
}

async function measure(pair: Pair, rig: Rig, hook: HandlerHook, size: number, seed: number) {
  const psbt = patternBytes(size, seed);
  let atHandler: Snapshot | undefined;
  hook.onRequest = () => {
    atHandler = snapshot(pair, rig);
  };
  rig.coordinator.probe.clearLog();
  rig.device.probe.clearLog();
  const start = snapshot(pair, rig);
  const reply = await pair.coordinator.client.call('sign_psbt', signRequest(psbt), {
    timeoutMs: CALL_TIMEOUT_MS,
  });
  const end = snapshot(pair, rig);
  hook.onRequest = undefined;
  if (atHandler === undefined) throw new Error('bench: the device handler never ran');
  verifyReply(reply, psbt);
  const mid = atHandler;
  const requestMs = mid.at - start.at;
  const roundTripMs = end.at - start.at;
  const cl = (k: string) => delta(start.coordinatorLink, mid.coordinatorLink, k);
  const bySide = (k: string): [number, number] => [
    delta(start.coordinatorLink, end.coordinatorLink, k),
    delta(start.deviceLink, end.deviceLink, k),
  ];
  const all = (k: string) => bySide(k)[0] + bySide(k)[1];
  let line: LineBreakdown | undefined;
  if (rig.byteTimeMs !== undefined) {
    const t = lineTimeline(rig.coordinator.probe.writesBetween(start.at, mid.at), rig.byteTimeMs);
    if (t !== undefined) {
      line = {
        // A slice queued before call() (an ACK, a retransmit) can start the window early.
        beforeLineMs: Math.max(0, t.firstByteAt - start.at),
        busyMs: t.busyMs,
        idleMs: t.idleMs,
        gaps: t.gaps.length,
        largestGapMs: t.gaps.reduce((m, g) => Math.max(m, g.ms), 0),
        afterLineMs: mid.at - t.lastByteAt,
      };
    }
  }
  const result: RepResult = {
    payloadBytes: size,
    requestMs,
    roundTripMs,
    requestGoodput: (size * 1000) / requestMs,
    roundTripGoodput: (size * 1000) / roundTripMs,
    requestWireBytes: mid.coordinatorWritten - start.coordinatorWritten,
    replyWireBytes: end.deviceWritten - mid.deviceWritten,
    records: mid.coordinatorRecordsOut - start.coordinatorRecordsOut,
    dataFrames: cl('dataSent'),
    framesSent: cl('framesSent'),
    retransmits: all('retransmits'),
    timeouts: all('timeouts'),
    nacks: all('nacksSent'),
    retransmitsBySide: bySide('retransmits'),
    timeoutsBySide: bySide('timeouts'),
    bitsFlipped: end.bitsFlipped - start.bitsFlipped,
    line,
  };
  return result;
}

function verifyReply(
  reply: { signatures: { input: number; pubkey: Uint8Array; signature: Uint8Array }[] },
  psbt: Uint8Array,
): void {
  const want = expectedSignatures(psbt, 1).signatures[0];
  const got = reply.signatures[0];
  const same = (x: Uint8Array, y: Uint8Array) =>
    x.length === y.length && x.every((v, i) => v === y[i]);
  if (
    reply.signatures.length !== 1 ||
    want === undefined ||
    got === undefined ||
    !same(got.pubkey, want.pubkey) ||
    !same(got.signature, want.signature)
  ) {
    throw new Error('bench: the reply does not match the request bytes (corruption?)');
  }
}

// ---- one case --------------------------------------------------------------------------------

interface CaseResult {
  readonly id: string;
  readonly label: string;
  readonly transport: string;
  readonly reps: readonly RepResult[];
  readonly requestMs: Summary;
  readonly roundTripMs: Summary;
  readonly requestGoodput: Summary;
  readonly roundTripGoodput: Summary;
  /** Percent of the paced line rate (baud / 10 bytes per second); paced cases only. */
  readonly requestLinePercent: Summary | undefined;
  readonly roundTripLinePercent: Summary | undefined;
  readonly wireOverhead: Summary;
  readonly retransmits: Summary;
}

async function runCase(plan: CasePlan, s: Settings, cleanups: Set<() => Promise<void>>) {
  const rig = await openRig({ kind: plan.kind, baud: s.baud, bitErrorRate: BER, seed: 7 });
  const closeRig = () => rig.close();
  cleanups.add(closeRig);
  const hook: HandlerHook = { onRequest: undefined };
  const base = echoDeviceHandlers({ replySignatures: () => 1 });
  const handlers: RpcHandlers = {
    ...base,
    sign_psbt: async (params, ctx) => {
      hook.onRequest?.();
      return base.sign_psbt(params, ctx);
    },
  };
  let pair: Pair | undefined;
  try {
    pair = openPair(rig.coordinator.transport, rig.device.transport, {
      handlers,
      timeoutMs: CALL_TIMEOUT_MS,
      link: { maxPayload: s.fragment, window: s.window },
    });
    await pair.coordinator.client.call('ping', { nonce: new Uint8Array([1]) });
    await measure(pair, rig, hook, plan.warmupBytes, 999); // warm-up, discarded
    const reps: RepResult[] = [];
    for (let i = 0; i < plan.reps; i++) reps.push(await measure(pair, rig, hook, s.size, i + 1));
    const lineRate = s.baud / 10;
    const paced = rig.byteTimeMs !== undefined;
    const result: CaseResult = {
      id: plan.id,
      label: plan.label,
      transport: rig.description,
      reps,
      requestMs: summarize(reps.map((r) => r.requestMs)),
      roundTripMs: summarize(reps.map((r) => r.roundTripMs)),
      requestGoodput: summarize(reps.map((r) => r.requestGoodput)),
      roundTripGoodput: summarize(reps.map((r) => r.roundTripGoodput)),
      requestLinePercent: paced
        ? summarize(reps.map((r) => (100 * r.requestGoodput) / lineRate))
        : undefined,
      roundTripLinePercent: paced
        ? summarize(reps.map((r) => (100 * r.roundTripGoodput) / lineRate))
        : undefined,
      wireOverhead: summarize(reps.map((r) => r.requestWireBytes / r.payloadBytes)),
      retransmits: summarize(reps.map((r) => r.retransmits)),
    };
    return result;
  } finally {
    await pair?.close().catch(() => undefined);
    await rig.close();
    cleanups.delete(closeRig);
  }
}

// ---- the request's bytes, layer by layer -----------------------------------------------------

interface LayerBytes {
  readonly payload: number;
  readonly envelope: number;
  readonly chunks: number;
  readonly rpcBytes: number;
  readonly records: number;
  readonly recordBytes: number;
  readonly dataFrames: number;
  readonly frameHeaderBytes: number;
  readonly cobsAndDelimiterBytes: number;
  readonly wireBytes: number;
}

function layerBytes(size: number, rep: RepResult): LayerBytes {
  const r = signRequestSize(signRequest(patternBytes(size, 1)));
  const frameHeaderBytes = rep.dataFrames * (HEADER_SIZE + CRC_SIZE);
  return {
    payload: size,
    envelope: r.envelopeBytes,
    chunks: r.chunks,
    rpcBytes: r.rpcBytes,
    records: rep.records,
    recordBytes: r.recordBytes,
    dataFrames: rep.dataFrames,
    frameHeaderBytes,
    cobsAndDelimiterBytes: rep.requestWireBytes - r.recordBytes - frameHeaderBytes,
    wireBytes: rep.requestWireBytes,
  };
}

// ---- output ----------------------------------------------------------------------------------

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fix = (n: number, d = 1) => n.toFixed(d);
const range = (s: Summary, f: (n: number) => string) =>
  s.n === 1 ? f(s.median) : `${f(s.median)} [${f(s.min)}–${f(s.max)}]`;

function printConditions(c: Conditions, s: Settings): void {
  console.log(
    'Keyline wire benchmark: a sign_psbt request through transport -> link -> Noise KK -> CBOR RPC',
  );
  console.log(`  node ${c.node} on ${c.platform}`);
  console.log(`  cpu  ${c.cpu} x ${c.cores} cores, load average ${c.loadAverage.join(' / ')}`);
  console.log(`  date ${c.date}`);
  console.log(
    `  link fragment (maxPayload) ${s.fragment} B, window ${s.window} frames, rto ${DEFAULT_LINK_OPTIONS.rtoMs}..${DEFAULT_LINK_OPTIONS.rtoMaxMs} ms; session record <= ${SESSION_MAX_MESSAGE_BYTES} B + ${DATA_RECORD_OVERHEAD}; RPC chunk window 8`,
  );
  console.log(
    `  request ${int(s.size)} B PSBT (goodput counts these bytes only); reply 1 signature (~130 B); paced line ${s.baud} 8N1 = ${int(s.baud / 10)} B/s`,
  );
  console.log(
    '  request = call() until the device handler holds the request; round trip = call() until the reply is verified',
  );
  console.log('');
}

function printTable(results: readonly CaseResult[]): void {
  const pct = (x: Summary | undefined) => (x === undefined ? '-' : range(x, (n) => fix(n)));
  table(
    'REQUEST: call() until the device handler holds the whole request',
    [
      'case',
      'reps',
      'ms median [range]',
      'goodput B/s median [range]',
      '% of line',
      'wire/payload',
      'retransmits',
    ],
    results.map((r) => [
      `(${r.id}) ${r.label}`,
      String(r.reps.length),
      range(r.requestMs, (n) => fix(n, 0)),
      range(r.requestGoodput, int),
      pct(r.requestLinePercent),
      fix(r.wireOverhead.median, 4),
      range(r.retransmits, (n) => fix(n, 0)),
    ]),
  );
  table(
    'ROUND TRIP: call() until the 1-signature reply is back and verified',
    ['case', 'reps', 'ms median [range]', 'goodput B/s median [range]', '% of line'],
    results.map((r) => [
      `(${r.id}) ${r.label}`,
      String(r.reps.length),
      range(r.roundTripMs, (n) => fix(n, 0)),
      range(r.roundTripGoodput, int),
      pct(r.roundTripLinePercent),
    ]),
  );
}

function table(title: string, head: readonly string[], body: readonly string[][]): void {
  const rows = [head, ...body];
  const widths = head.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  console.log(title);
  for (const [j, row] of rows.entries()) {
    console.log(`  ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd());
    if (j === 0) console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  }
  console.log('');
}

function printBreakdown(r: CaseResult, layers: LayerBytes, s: Settings): void {
  const lineRate = s.baud / 10;
  const pct = (n: number) => `${fix((100 * n) / layers.wireBytes)} %`;
  console.log(`Where the line time of (${r.id}) goes (median rep):`);
  console.log('  bytes of one request on the coordinator -> device line:');
  console.log(
    `    payload (PSBT)                         ${int(layers.payload).padStart(9)}  ${pct(layers.payload)}`,
  );
  console.log(
    `    + CBOR envelope (id, method, fields)   ${int(layers.envelope - layers.payload).padStart(9)}`,
  );
  console.log(
    `    + RPC chunk flags (${layers.chunks} chunks)          ${int(layers.chunks).padStart(9)}`,
  );
  console.log(
    `    + session type + tag (${layers.records} records x 17) ${int(layers.recordBytes - layers.rpcBytes).padStart(9)}`,
  );
  console.log(
    `    + frame header + CRC (${layers.dataFrames} frames x 11)  ${int(layers.frameHeaderBytes).padStart(9)}`,
  );
  console.log(
    `    + COBS + delimiters (+ any retransmits) ${int(layers.cobsAndDelimiterBytes).padStart(8)}`,
  );
  console.log(
    `    = on the line                          ${int(layers.wireBytes).padStart(9)}  overhead x${fix(layers.wireBytes / layers.payload, 4)}`,
  );
  const ceiling = (100 * layers.payload) / layers.wireBytes;
  console.log(
    `  => framing alone caps goodput at ${fix(ceiling)} % of the line (${int((lineRate * layers.payload) / layers.wireBytes)} B/s)`,
  );
  printLineTime(r);
}

/** Where the median request's time went on a paced line: before, busy, idle, after. */
function printLineTime(r: CaseResult): void {
  const rep = medianRep(r);
  if (rep?.line !== undefined) {
    const l = rep.line;
    const total = rep.requestMs;
    const share = (ms: number) =>
      `${fix(ms, 0).padStart(6)} ms  ${fix((100 * ms) / total).padStart(5)} %`;
    console.log(`  time of the median request of (${r.id}):`);
    console.log(`    call() -> first byte on the line (encode, encrypt)  ${share(l.beforeLineMs)}`);
    console.log(`    line busy sending (incl. retransmits)               ${share(l.busyMs)}`);
    console.log(
      `    line idle between first and last byte               ${share(l.idleMs)}   (${l.gaps} gaps >= 5 ms, largest ${fix(l.largestGapMs, 0)} ms)`,
    );
    console.log(`    last byte off the line -> handler runs              ${share(l.afterLineMs)}`);
    console.log(`    total                                               ${share(total)}`);
  }
  console.log('');
}

function medianRep(r: CaseResult): RepResult | undefined {
  const sorted = [...r.reps].sort((x, y) => x.requestMs - y.requestMs);
  return sorted[(sorted.length - 1) >> 1];
}

// ---- main ------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const settings = parseArgs(process.argv.slice(2));
  const conditions = collectConditions();
  const cleanups = new Set<() => Promise<void>>();
  const cleanAll = async () => {
    for (const c of [...cleanups]) await c().catch(() => undefined);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void cleanAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const watchdog = setTimeout(() => {
    console.error(
      `bench: expected to finish within ${WATCHDOG_MS / 1000} s, still running; aborting`,
    );
    void cleanAll().finally(() => process.exit(1));
  }, WATCHDOG_MS);
  watchdog.unref();

  if (!settings.json) printConditions(conditions, settings);
  const results: CaseResult[] = [];
  try {
    for (const plan of plans(settings)) {
      const started = performance.now();
      if (!settings.json) process.stdout.write(`running (${plan.id}) ${plan.label} ... `);
      results.push(await runCase(plan, settings, cleanups));
      if (!settings.json) console.log(`${fix((performance.now() - started) / 1000)} s`);
    }
  } finally {
    await cleanAll();
    clearTimeout(watchdog);
  }

  const paced = results.find((r) => r.id === 'c');
  const pacedRep = paced === undefined ? undefined : medianRep(paced);
  const layers = pacedRep === undefined ? undefined : layerBytes(settings.size, pacedRep);
  if (settings.json) {
    console.log(JSON.stringify({ conditions, settings, layers, cases: results }, null, 2));
    return 0;
  }
  console.log('');
  printTable(results);
  if (paced !== undefined && layers !== undefined) printBreakdown(paced, layers, settings);
  for (const r of results) {
    const retx = r.reps.filter((x) => x.retransmits > 0);
    if (retx.length === 0) continue;
    const side = (x: RepResult) =>
      `coordinator ${x.retransmitsBySide[0]} (${x.timeoutsBySide[0]} on timeout), device ${x.retransmitsBySide[1]} (${x.timeoutsBySide[1]} on timeout)`;
    console.log(`retransmits in (${r.id}), per round trip: ${r.reps.map(side).join('; ')}`);
    if (r.id === 'd') {
      printLineTime(r);
      console.log(
        `  (d) is a FAULT run (BER ${BER} on both receive sides), not the line-rate target; bits flipped per round trip: ${r.reps.map((x) => x.bitsFlipped).join(', ')}`,
      );
    }
  }
  console.log('');
  const target = paced?.requestLinePercent?.median;
  if (target !== undefined) {
    console.log(
      `target: >= 95 % of the line at ${settings.baud} for the request: measured ${fix(target)} % -> ${target >= 95 ? 'MET' : 'NOT MET'}`,
    );
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const text = e instanceof Error ? e.message : String(e);
    const usage = text.startsWith('bench/args:');
    console.error(`bench failed: ${usage || !(e instanceof Error) ? text : (e.stack ?? text)}`);
    process.exit(1);
  },
);

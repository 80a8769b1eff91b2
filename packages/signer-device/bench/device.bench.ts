/**
 * `pnpm bench` (device part): the whole device signing path against lean references on 2-of-3
 * P2WSH PSBTs with 1, 10, 100 and 500 inputs, in one run. A measurement, not a test: it prints
 * ms per input, the per-step breakdown, the ratio device / lean-noble (target <= 4x) and the
 * linearity per-input(500) / per-input(10) (target <= 1.2x), each MET or NOT MET, with the
 * conditions. `--json` prints the results as JSON instead. See docs/device-bench.md.
 */

import { performance } from 'node:perf_hooks';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { type BenchWallet, freshVerifyContext, makeBenchWallet } from './bench-wallet.js';
import {
  closeBenchState,
  DEVICE_STEPS,
  type DeviceRun,
  type DeviceStep,
  openBenchState,
  runDevicePath,
} from './device-path.js';
import { LeanKeyring, type LeanSigner, leanSign, nobleSign, tinySign } from './lean.js';
import { measureMicroOps, modelPerInput } from './micro-ops.js';
import { type BenchRequest, buildBenchRequest } from './psbt-builder.js';
import {
  type BenchResult,
  formatReport,
  type SizeResult,
  type StepResult,
  TARGETS,
  toJson,
  type Verdict,
} from './report.js';
import { conditions, loadNow, median } from './stats.js';
import { verifyBreakdown } from './verify-breakdown.js';

const SIZES = Object.freeze([1, 10, 100, 500]);
/** Device path repetitions per size (fresh state dir and cold caches each), lean repetitions. */
const DEVICE_REPS: Readonly<Record<number, number>> = Object.freeze({
  1: 11,
  10: 9,
  100: 5,
  500: 3,
});
const LEAN_REPS: Readonly<Record<number, number>> = Object.freeze({
  1: 51,
  10: 31,
  100: 11,
  500: 5,
});

const json = process.argv.includes('--json');
const log = (msg: string): void => {
  if (!json) process.stderr.write(`${msg}\n`);
};

async function deviceOnce(w: BenchWallet, req: BenchRequest): Promise<DeviceRun> {
  const ctx = freshVerifyContext(w); // not timed: a new wallet object, cold derivation cache
  const state = await openBenchState(); // not timed: a first signing on a new state dir
  try {
    return await runDevicePath(w, ctx, req, state);
  } finally {
    await closeBenchState(state);
  }
}

function leanOnce(req: BenchRequest, keys: LeanKeyring, signer: LeanSigner): number {
  const t = performance.now();
  leanSign(req.tx, req.lean, keys, signer);
  return performance.now() - t;
}

/** Outside the timing: the references sign exactly what the device signed (RFC 6979). */
function crossCheck(run: DeviceRun, req: BenchRequest, keys: LeanKeyring): void {
  const noble = leanSign(req.tx, req.lean, keys, nobleSign);
  const tiny = leanSign(req.tx, req.lean, keys, tinySign);
  run.signatures.forEach((s, i) => {
    const compact = secp256k1.Signature.fromBytes(s.signature.subarray(0, -1), 'der').toBytes(
      'compact',
    );
    const same = (x: Uint8Array | undefined): boolean =>
      x !== undefined && x.length === compact.length && x.every((b, k) => b === compact[k]);
    if (!same(noble[i]) || !same(tiny[i])) {
      throw new Error(`bench: input ${i}: the references did not sign what the device signed`);
    }
  });
}

async function measureSize(
  w: BenchWallet,
  req: BenchRequest,
  keys: LeanKeyring,
): Promise<SizeResult> {
  const n = req.inputs;
  const reps = DEVICE_REPS[n] ?? 3;
  const runs: DeviceRun[] = [];
  for (let r = 0; r < reps; r++) runs.push(await deviceOnce(w, req));
  const first = runs[0];
  if (first === undefined) throw new Error('bench: no run');
  crossCheck(first, req, keys);
  const leanReps = LEAN_REPS[n] ?? 5;
  const noble: number[] = [];
  const tiny: number[] = [];
  for (let r = 0; r < leanReps; r++) {
    noble.push(leanOnce(req, keys, nobleSign));
    tiny.push(leanOnce(req, keys, tinySign));
  }
  const stepMedians = Object.fromEntries(
    DEVICE_STEPS.map((s) => [s, median(runs.map((x) => x.stepMs[s]))]),
  ) as Record<DeviceStep, number>;
  const stepSum = Object.values(stepMedians).reduce((a, b) => a + b, 0);
  const steps = Object.fromEntries(
    DEVICE_STEPS.map((s): [DeviceStep, StepResult] => [
      s,
      { ms: stepMedians[s], perInputMs: stepMedians[s] / n, share: stepMedians[s] / stepSum },
    ]),
  ) as Record<DeviceStep, StepResult>;
  const total = median(runs.map((x) => x.totalMs));
  const nobleMs = median(noble);
  const tinyMs = median(tiny);
  return {
    inputs: n,
    psbtBytes: req.psbt.length,
    prevTxBytes: req.prevTxBytes,
    deviceReps: reps,
    leanReps,
    device: { totalMs: total, perInputMs: total / n, steps },
    leanNoble: { totalMs: nobleMs, perInputMs: nobleMs / n },
    leanTiny: { totalMs: tinyMs, perInputMs: tinyMs / n },
    ratioDeviceVsNoble: total / nobleMs,
    ratioDeviceVsTiny: total / tinyMs,
    verifySteps: verifyBreakdown(req.psbt, freshVerifyContext(w)),
  };
}

function verdicts(sizes: readonly SizeResult[]): BenchResult['verdicts'] {
  const at = (n: number): SizeResult | undefined => sizes.find((s) => s.inputs === n);
  const judged = sizes.filter((s) => TARGETS.ratioJudgedAt.includes(s.inputs));
  const worst = judged.reduce((a, s) => Math.max(a, s.ratioDeviceVsNoble), 0);
  const from = at(TARGETS.linearityFrom);
  const to = at(TARGETS.linearityTo);
  const lin = (pick: (s: SizeResult) => number): number =>
    from !== undefined && to !== undefined ? pick(to) / pick(from) : Number.NaN;
  const ratio: Verdict = {
    measured: worst,
    target: TARGETS.deviceVsLeanNoble,
    met: worst > 0 && worst <= TARGETS.deviceVsLeanNoble,
    note: `worst of ${TARGETS.ratioJudgedAt.join(', ')} inputs`,
  };
  const linDevice = lin((s) => s.device.perInputMs);
  return {
    deviceVsLeanNoble: ratio,
    linearityDevice: {
      measured: linDevice,
      target: TARGETS.linearity,
      met: Number.isFinite(linDevice) && linDevice <= TARGETS.linearity,
      note: 'device path',
    },
    linearityLeanNoble: lin((s) => s.leanNoble.perInputMs),
    linearityLeanTiny: lin((s) => s.leanTiny.perInputMs),
  };
}

async function main(): Promise<void> {
  const wall = performance.now();
  const cond = conditions();
  log('bench: setting up the wallet and building PSBTs...');
  const w = makeBenchWallet();
  const max = Math.max(...SIZES);
  const keys = LeanKeyring.derive(max);
  try {
    const requests = SIZES.map((n) => buildBenchRequest(w, n));
    log('bench: warming up...');
    const warm = requests.find((r) => r.inputs === 10) ?? requests[0];
    if (warm === undefined) throw new Error('bench: no request');
    for (let i = 0; i < 3; i++) await deviceOnce(w, warm);
    for (let i = 0; i < 10; i++) {
      leanOnce(warm, keys, nobleSign);
      leanOnce(warm, keys, tinySign);
    }
    const sizes: SizeResult[] = [];
    for (const req of requests) {
      log(`bench: ${req.inputs} input(s)...`);
      sizes.push(await measureSize(w, req, keys));
    }
    log('bench: primitives...');
    const microOps = measureMicroOps();
    cond.loadEnd = loadNow();
    const result: BenchResult = {
      conditions: cond,
      sizes,
      verdicts: verdicts(sizes),
      microOps,
      model: modelPerInput(microOps),
      wallMs: performance.now() - wall,
    };
    process.stdout.write(`${json ? toJson(result) : formatReport(result)}\n`);
  } finally {
    keys.wipe();
    w.device.lock();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(
    `bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exitCode = 1;
});

/** The bench's result shape, its targets, and a plain-text table printer. */
import type { DeviceStep } from './device-path.js';
import type { MicroOps } from './micro-ops.js';
import type { Conditions } from './stats.js';
import type { VerifyStep } from './verify-breakdown.js';

/** Targets as frozen data: device/lean-noble per input, and per-input(500)/per-input(10). */
export const TARGETS = Object.freeze({
  deviceVsLeanNoble: 4,
  linearity: 1.2,
  /** Sizes the ratio target is judged at (1 input is all fixed cost: fsyncs, audit entries). */
  ratioJudgedAt: Object.freeze([10, 100, 500]),
  linearityFrom: 10,
  linearityTo: 500,
});

export interface StepResult {
  readonly ms: number;
  readonly perInputMs: number;
  /** Share of the sum of step medians. */
  readonly share: number;
}

export interface SizeResult {
  readonly inputs: number;
  readonly psbtBytes: number;
  readonly prevTxBytes: number;
  readonly deviceReps: number;
  readonly leanReps: number;
  readonly device: {
    readonly totalMs: number;
    readonly perInputMs: number;
    readonly steps: Readonly<Record<DeviceStep, StepResult>>;
  };
  readonly leanNoble: { readonly totalMs: number; readonly perInputMs: number };
  readonly leanTiny: { readonly totalMs: number; readonly perInputMs: number };
  readonly ratioDeviceVsNoble: number;
  readonly ratioDeviceVsTiny: number;
  /** verifyPsbt's own steps, one cold pass (diagnostic). */
  readonly verifySteps: Readonly<Record<VerifyStep, number>>;
}

export interface Verdict {
  readonly measured: number;
  readonly target: number;
  readonly met: boolean;
  readonly note: string;
}

export interface BenchResult {
  readonly conditions: Conditions;
  readonly sizes: readonly SizeResult[];
  readonly verdicts: {
    readonly deviceVsLeanNoble: Verdict;
    readonly linearityDevice: Verdict;
    readonly linearityLeanNoble: number;
    readonly linearityLeanTiny: number;
  };
  readonly microOps: MicroOps;
  /** Per-input cost predicted from the micro-ops (ms), by primitive. */
  readonly model: Readonly<Record<string, number>>;
  readonly wallMs: number;
}

const f = (n: number, d = 3): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const met = (v: Verdict): string => (v.met ? 'MET' : 'NOT MET');

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(width[i] ?? 0) : c.padStart(width[i] ?? 0))).join('  ');
  return [line(head), width.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatReport(r: BenchResult): string {
  const c = r.conditions;
  const out: string[] = [];
  out.push('# @keyline/signer-device benchmark: 2-of-3 P2WSH sign_psbt, device path vs lean');
  out.push(
    `date ${c.date} | node ${c.node} ${c.platform} | cpu ${c.cpu} x ${c.cores} cores | ${c.memGiB} GiB | state in ${c.stateDir} | load(1m) ${f(c.loadStart, 2)} -> ${f(c.loadEnd, 2)} | wall ${f(r.wallMs / 1000, 1)} s`,
  );
  out.push('');
  out.push('## ms per input (medians)');
  out.push(
    table(
      [
        'inputs',
        'psbt KiB',
        'reps dev/lean',
        'device',
        'lean noble',
        'lean tiny',
        'dev/noble',
        'dev/tiny',
      ],
      r.sizes.map((s) => [
        String(s.inputs),
        f(s.psbtBytes / 1024, 1),
        `${s.deviceReps}/${s.leanReps}`,
        f(s.device.perInputMs),
        f(s.leanNoble.perInputMs),
        f(s.leanTiny.perInputMs),
        `${f(s.ratioDeviceVsNoble, 1)}x`,
        `${f(s.ratioDeviceVsTiny, 1)}x`,
      ]),
    ),
  );
  out.push('');
  const steps = Object.keys(r.sizes[0]?.device.steps ?? {}) as DeviceStep[];
  out.push('## device path by step: ms per input (share of the path)');
  out.push(
    table(
      ['step', ...r.sizes.map((s) => `${s.inputs} in`)],
      steps.map((st) => [
        st,
        ...r.sizes.map((s) => {
          const x = s.device.steps[st];
          return `${f(x.perInputMs)} (${f(100 * x.share, 1)}%)`;
        }),
      ]),
    ),
  );
  out.push('');
  const vsteps = Object.keys(r.sizes[0]?.verifySteps ?? {}) as VerifyStep[];
  out.push('## inside verifyPsbt (one cold pass, diagnostic): ms per input');
  out.push(
    table(
      ['verify step', ...r.sizes.map((s) => `${s.inputs} in`)],
      vsteps.map((st) => [st, ...r.sizes.map((s) => f(s.verifySteps[st] / s.inputs))]),
    ),
  );
  out.push('');
  out.push('## primitives (ms per op, this run)');
  out.push(
    table(
      ['op', 'ms'],
      Object.entries(r.microOps).map(([k, v]) => [k, f(v, 4)]),
    ),
  );
  out.push('');
  const modelSum = Object.values(r.model).reduce((a, b) => a + b, 0);
  out.push('## per-input model of the device path from the primitives');
  out.push(
    table(
      ['where', 'ms/input'],
      [...Object.entries(r.model).map(([k, v]) => [k, f(v)]), ['sum', f(modelSum)]],
    ),
  );
  out.push('');
  const v = r.verdicts;
  out.push('## targets');
  out.push(
    `device / lean-noble per input <= ${v.deviceVsLeanNoble.target}x: worst ${f(v.deviceVsLeanNoble.measured, 1)}x (${v.deviceVsLeanNoble.note}) -> ${met(v.deviceVsLeanNoble)}`,
  );
  out.push(
    `linearity per-input(${TARGETS.linearityTo})/per-input(${TARGETS.linearityFrom}) <= ${v.linearityDevice.target}x: device ${f(v.linearityDevice.measured, 2)}x -> ${met(v.linearityDevice)} (lean noble ${f(v.linearityLeanNoble, 2)}x, lean tiny ${f(v.linearityLeanTiny, 2)}x)`,
  );
  return out.join('\n');
}

/** JSON with numbers rounded to 4 decimals (no bigint in results). */
export function toJson(r: BenchResult): string {
  return JSON.stringify(
    r,
    (_k, val: unknown) =>
      typeof val === 'number' && Number.isFinite(val) ? Math.round(val * 1e4) / 1e4 : val,
    2,
  );
}

/** Small measurement helpers: medians, repeated timing, and the conditions of a run. */
import { arch, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** Median ms per call of `f` over `reps` rounds of `inner` calls each (after one warm-up round). */
export function timeOp(f: (i: number) => unknown, inner: number, reps: number): number {
  for (let i = 0; i < inner; i++) f(i);
  const rounds: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    for (let i = 0; i < inner; i++) f(i);
    rounds.push((performance.now() - t) / inner);
  }
  return median(rounds);
}

export interface Conditions {
  readonly date: string;
  readonly node: string;
  readonly platform: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memGiB: number;
  /** Where the state directories and audit logs are made (real files, fsync'd). */
  readonly stateDir: string;
  /** 1-minute load average at the start and at the end of the run. */
  readonly loadStart: number;
  loadEnd: number;
}

export function conditions(): Conditions {
  const c = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${arch()}`,
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    stateDir: tmpdir(),
    loadStart: loadavg()[0] ?? 0,
    loadEnd: Number.NaN,
  };
}

export function loadNow(): number {
  return loadavg()[0] ?? 0;
}

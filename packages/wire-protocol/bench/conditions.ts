import os from 'node:os';

/** The machine and moment a measurement was taken on, printed with every result. */
export interface Conditions {
  readonly node: string;
  readonly platform: string;
  readonly cpu: string;
  readonly cores: number;
  readonly date: string;
  /** 1, 5 and 15 minute load averages when the run started. */
  readonly loadAverage: readonly [number, number, number];
}

export function collectConditions(): Conditions {
  const cpus = os.cpus();
  const [one = 0, five = 0, fifteen = 0] = os.loadavg();
  return Object.freeze({
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    date: new Date().toISOString(),
    loadAverage: Object.freeze([round2(one), round2(five), round2(fifteen)] as const),
  });
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

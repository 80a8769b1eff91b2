/**
 * Running `packages/demo` as a child process for the end-to-end tests: spawned detached (in a
 * process group of its own, as a terminal would run it), output collected, and stopped on the
 * way out if it is still running (SIGTERM, then SIGKILL to the whole group after 30 s).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const DEMO_DIR = join(import.meta.dirname, '..', '..', 'packages', 'demo');
export const RESULT_PREFIX = 'KEYLINE_DEMO_RESULT ';
/** A hang guard for a whole run, not a timing assertion. */
export const RUN_LIMIT_MS = 10 * 60_000;

export interface DemoRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
  /** The parsed `KEYLINE_DEMO_RESULT` line, or undefined when there is none. */
  readonly line: string | undefined;
}

export function demoProcess() {
  let child: ChildProcess | null = null;
  return {
    async run(args: readonly string[]): Promise<DemoRun> {
      const started = Date.now();
      const c = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
        cwd: DEMO_DIR,
        env: { ...process.env, NODE_OPTIONS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      child = c;
      let stdout = '';
      let stderr = '';
      c.stdout?.setEncoding('utf8').on('data', (t: string) => {
        stdout += t;
      });
      c.stderr?.setEncoding('utf8').on('data', (t: string) => {
        stderr += t;
      });
      const code = await new Promise<number | null>((resolve) => c.once('exit', (n) => resolve(n)));
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      return { code, stdout, stderr, seconds: Math.round((Date.now() - started) / 1000), line };
    },
    /** For afterAll: only if the run did not end by itself. */
    async stop(): Promise<void> {
      const c = child;
      if (c === null || c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
      c.kill('SIGTERM');
      const ended = await Promise.race([
        new Promise<boolean>((resolve) => c.once('exit', () => resolve(true))),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 30_000)),
      ]);
      if (!ended) process.kill(-c.pid, 'SIGKILL');
    },
  };
}

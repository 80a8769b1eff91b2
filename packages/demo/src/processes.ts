/**
 * Child processes of the demo: every one is spawned through the Supervisor, which keeps its output
 * (stdout as text, stderr as JSON log records plus a tail), can wait for a line or a log record
 * with a timeout, and kills whatever is still running on every exit path — `killAll()` is
 * synchronous so that it also runs from a `process.on('exit')` hook.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { DemoError, waitFor } from './wait.js';

/** An executable and the arguments that come before the command's own (node + script). */
export interface Tool {
  readonly file: string;
  readonly prefix: readonly string[];
  readonly label: string;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export type LogRecord = Readonly<Record<string, unknown>>;

/** Most log records kept per child (the oldest are dropped past it). */
const MAX_RECORDS = 50_000;
/** Characters of stderr kept for error messages. */
const TAIL_CHARS = 8_000;

export class ChildHandle {
  #stdout = '';
  #stderrTail = '';
  #pending = '';
  readonly #records: LogRecord[] = [];
  #dropped = 0;
  #exit: Exit | null = null;
  readonly exited: Promise<Exit>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    files: { out: WriteStream; err: WriteStream } | null,
  ) {
    this.exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
      child.once('error', (e) => {
        this.#stderrTail += `\nspawn error: ${e.message}`;
        this.#exit ??= { code: null, signal: null };
        resolve(this.#exit);
      });
    });
    child.stdout?.setEncoding('utf8').on('data', (t: string) => {
      this.#stdout += t;
      files?.out.write(t);
    });
    child.stderr?.setEncoding('utf8').on('data', (t: string) => {
      this.#stderrTail = (this.#stderrTail + t).slice(-TAIL_CHARS);
      files?.err.write(t);
      this.#parse(t);
    });
    void this.exited.then(() => {
      files?.out.end();
      files?.err.end();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
  get exit(): Exit | null {
    return this.#exit;
  }
  get running(): boolean {
    return this.#exit === null;
  }
  stdout(): string {
    return this.#stdout;
  }
  stderrTail(): string {
    return this.#stderrTail;
  }
  /** JSON log records written on stderr so far (the oldest may have been dropped). */
  records(): readonly LogRecord[] {
    return this.#records;
  }
  get droppedRecords(): number {
    return this.#dropped;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.#exit === null) this.child.kill(signal);
  }

  /** Wait until stdout matches `pattern`; fails early when the process exits first. */
  waitForStdout(pattern: RegExp, what: string, timeoutMs: number): Promise<RegExpMatchArray> {
    return waitFor(
      `${this.name}: ${what}`,
      async () => {
        const m = this.#stdout.match(pattern);
        if (m !== null) return { done: true, value: m };
        if (this.#exit !== null) throw this.#exitedError(what);
        return { done: false, state: 'not printed yet' };
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  /** Wait for a JSON log record satisfying `test`; fails early when the process exits first. */
  waitForLog(test: (r: LogRecord) => boolean, what: string, timeoutMs: number): Promise<LogRecord> {
    return waitFor(
      `${this.name}: ${what}`,
      async () => {
        const hit = this.#records.find(test);
        if (hit !== undefined) return { done: true, value: hit };
        if (this.#exit !== null) throw this.#exitedError(what);
        return { done: false, state: 'not logged yet' };
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  #exitedError(what: string): DemoError {
    return new DemoError(
      `demo/${this.name}: expected ${what}, got an exit (code ${String(this.#exit?.code)}, signal ${String(this.#exit?.signal)}); stderr tail:\n${this.#stderrTail.slice(-2000)}`,
    );
  }

  #parse(text: string): void {
    const lines = (this.#pending + text).split('\n');
    this.#pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
      this.#records.push(value as LogRecord);
      if (this.#records.length > MAX_RECORDS) {
        this.#records.shift();
        this.#dropped += 1;
      }
    }
  }
}

export interface SpawnOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Copy stdout/stderr to `<logDir>/<name>.out|.err` (never for outputs holding secrets). */
  readonly logToFiles?: boolean;
}

export interface RunOptions extends SpawnOptions {
  /** Text written to stdin, which is then closed. */
  readonly input?: string;
  readonly timeoutMs: number;
  /** The command must fail (an attack the demo shows being refused): exit 0 is the error. */
  readonly expectFailure?: boolean;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class Supervisor {
  readonly #children = new Set<ChildHandle>();

  constructor(private readonly logDir: string | null) {}

  /** Start a long-running child (a daemon). */
  spawn(name: string, tool: Tool, args: readonly string[], options: SpawnOptions = {}) {
    const child = spawn(tool.file, [...tool.prefix, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const files =
      options.logToFiles === true && this.logDir !== null
        ? {
            out: createWriteStream(join(this.logDir, `${name}.out`), { mode: 0o600 }),
            err: createWriteStream(join(this.logDir, `${name}.err`), { mode: 0o600 }),
          }
        : null;
    const handle = new ChildHandle(name, child, files);
    this.#children.add(handle);
    void handle.exited.then(() => this.#children.delete(handle));
    return handle;
  }

  /**
   * Run a command to completion; a non-zero exit (a zero one with `expectFailure`) or the timeout
   * is a DemoError with its stderr.
   */
  async run(
    name: string,
    tool: Tool,
    args: readonly string[],
    options: RunOptions,
  ): Promise<RunResult> {
    const child = spawn(tool.file, [...tool.prefix, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const handle = new ChildHandle(name, child, null);
    this.#children.add(handle);
    if (options.input !== undefined) child.stdin?.end(options.input);
    const timer = setTimeout(() => handle.kill('SIGKILL'), options.timeoutMs);
    const exit = await handle.exited;
    clearTimeout(timer);
    this.#children.delete(handle);
    const result = { code: exit.code ?? -1, stdout: handle.stdout(), stderr: handle.stderrTail() };
    if (exit.signal === 'SIGKILL' && exit.code === null) {
      throw new DemoError(
        `demo/${name}: expected ${tool.label} ${args[0] ?? ''} to finish within ${options.timeoutMs / 1000} s, got no exit (killed)`,
      );
    }
    if (options.expectFailure === true) {
      if (exit.code === 0) {
        throw new DemoError(
          `demo/${name}: expected ${tool.label} ${args.slice(0, 2).join(' ')} to be refused, got exit 0: ${result.stdout.trim().slice(0, 400)}`,
        );
      }
      return result;
    }
    if (exit.code !== 0) {
      throw new DemoError(
        `demo/${name}: expected ${tool.label} ${args.slice(0, 2).join(' ')} to exit 0, got ${String(exit.code ?? exit.signal)}; stderr: ${result.stderr.trim().slice(-1500)}`,
      );
    }
    return result;
  }

  /** The children still running. */
  get running(): readonly ChildHandle[] {
    return [...this.#children].filter((c) => c.running);
  }

  /** SIGKILL everything still running (synchronous: safe in an 'exit' hook). */
  killAll(): void {
    for (const c of this.#children) c.kill('SIGKILL');
  }
}

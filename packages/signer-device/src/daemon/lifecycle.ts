/**
 * The daemon's lifecycle: in-flight work tracking, ordered shutdown, signals and crashes.
 *
 * - `run(name, work)` runs one unit of work (an RPC) and refuses new work once closing.
 * - `onShutdown(name, hook)`: async hooks, run in reverse registration order, each with a timeout.
 * - `onWipe(name, hook)`: synchronous hooks (wipe keys), run on every exit path — graceful,
 *   forced, crash — because on a crash only synchronous code is reliable.
 * - First SIGTERM/SIGINT: graceful (drain in-flight work or abandon it at `drainMs`, async hooks,
 *   wipe hooks, exit 0). Second signal or `deadlineMs`: wipe hooks, exit 1. `uncaughtException`/
 *   `unhandledRejection`: log, wipe hooks, exit 70.
 * `process` is injected so tests drive every path without ending the test runner.
 * docs/daemon.md §5.
 */
import { SignerError } from '../errors.js';
import type { DaemonLogger } from './logger.js';

export const EXIT_CODES = Object.freeze({
  /** Graceful shutdown completed. */
  ok: 0,
  /** Second signal or shutdown deadline: forced exit after the wipe hooks. */
  forced: 1,
  /** Uncaught exception or unhandled rejection (EX_SOFTWARE). */
  crash: 70,
});

export const LIFECYCLE_DEFAULTS = Object.freeze({
  /** How long in-flight work may take to finish after the first signal before it is abandoned. */
  drainMs: 5_000,
  /** How long each async shutdown hook may take. */
  hookTimeoutMs: 2_000,
  /** Whole graceful shutdown; past it the exit is forced. */
  deadlineMs: 15_000,
});

export type LifecycleEvent = 'SIGTERM' | 'SIGINT' | 'uncaughtException' | 'unhandledRejection';
const EVENTS: readonly LifecycleEvent[] = Object.freeze([
  'SIGTERM',
  'SIGINT',
  'uncaughtException',
  'unhandledRejection',
]);

/** The part of `process` the lifecycle uses. In production: `process` itself. */
export interface ProcessPort {
  on(event: LifecycleEvent, listener: (...args: unknown[]) => void): unknown;
  removeListener(event: LifecycleEvent, listener: (...args: unknown[]) => void): unknown;
  /** Never returns in production; a test double records the code and returns. */
  exit(code: number): void;
}

export interface LifecycleOptions {
  readonly process?: ProcessPort;
  readonly logger?: DaemonLogger;
  readonly drainMs?: number;
  readonly hookTimeoutMs?: number;
  readonly deadlineMs?: number;
}

export type LifecycleState = 'running' | 'closing' | 'exited';

interface AsyncHook {
  readonly name: string;
  readonly run: () => Promise<void> | void;
  readonly timeoutMs: number;
}
interface WipeHook {
  readonly name: string;
  readonly run: () => void;
}

const PLACE = 'daemon/lifecycle';

/** The real process, seen through its EventEmitter side (its typed overloads take one event each). */
function nodeProcessPort(): ProcessPort {
  const emitter: NodeJS.EventEmitter = process;
  return {
    on: (event, listener) => emitter.on(event, listener),
    removeListener: (event, listener) => emitter.removeListener(event, listener),
    exit: (code) => process.exit(code),
  };
}

const silentLogger: DaemonLogger = {
  fatal: () => {},
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
};

function checkMs(name: string, ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw new SignerError(
      'BAD_CONFIG',
      `${PLACE}: expected ${name} a positive integer of ms, got ${String(ms)}`,
    );
  }
  return ms;
}

type Outcome = 'done' | 'timeout';

function withTimeout(promise: Promise<unknown>, ms: number): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise.then(() => 'done' as const), timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

export class Lifecycle {
  readonly #process: ProcessPort;
  readonly #log: DaemonLogger;
  readonly #drainMs: number;
  readonly #hookTimeoutMs: number;
  readonly #deadlineMs: number;
  readonly #hooks: AsyncHook[] = [];
  readonly #wipes: WipeHook[] = [];
  readonly #inFlight = new Map<Promise<unknown>, { name: string; controller: AbortController }>();
  readonly #listeners = new Map<LifecycleEvent, (...args: unknown[]) => void>();
  #state: LifecycleState = 'running';
  #wiped = false;
  #shutdown: Promise<void> | undefined;
  #deadline: ReturnType<typeof setTimeout> | undefined;

  constructor(options: LifecycleOptions = {}) {
    this.#process = options.process ?? nodeProcessPort();
    this.#log = options.logger ?? silentLogger;
    this.#drainMs = checkMs('drainMs', options.drainMs ?? LIFECYCLE_DEFAULTS.drainMs);
    this.#hookTimeoutMs = checkMs(
      'hookTimeoutMs',
      options.hookTimeoutMs ?? LIFECYCLE_DEFAULTS.hookTimeoutMs,
    );
    this.#deadlineMs = checkMs('deadlineMs', options.deadlineMs ?? LIFECYCLE_DEFAULTS.deadlineMs);
  }

  get state(): LifecycleState {
    return this.#state;
  }

  /** True once shutdown began: new work is refused. */
  get closing(): boolean {
    return this.#state !== 'running';
  }

  /** Names of the work units in flight (for logs and tests). */
  get inFlight(): readonly string[] {
    return [...this.#inFlight.values()].map((w) => w.name);
  }

  #checkName(name: string, taken: readonly { name: string }[]): void {
    if (typeof name !== 'string' || name.length === 0 || name.length > 64) {
      throw new SignerError('BAD_CONFIG', `${PLACE}: expected a hook name of 1..64 characters`);
    }
    if (taken.some((h) => h.name === name)) {
      throw new SignerError(
        'BAD_CONFIG',
        `${PLACE}: expected a new hook name, got "${name}" twice`,
      );
    }
    if (this.closing) {
      throw new SignerError(
        'BAD_CONFIG',
        `${PLACE}: expected to register "${name}" before shutdown`,
      );
    }
  }

  /** Register an async shutdown hook (close the port, flush state...). Reverse order at shutdown. */
  onShutdown(
    name: string,
    hook: () => Promise<void> | void,
    options: { timeoutMs?: number } = {},
  ): void {
    this.#checkName(name, this.#hooks);
    const timeoutMs = checkMs('timeoutMs', options.timeoutMs ?? this.#hookTimeoutMs);
    this.#hooks.push({ name, run: hook, timeoutMs });
  }

  /** Register a synchronous wipe hook (zero keys). Runs once, on every exit path, reverse order. */
  onWipe(name: string, hook: () => void): void {
    this.#checkName(name, this.#wipes);
    this.#wipes.push({ name, run: hook });
  }

  /**
   * Run one unit of work. Refused (LOCKED, `reason: 'shutting_down'`) once closing. The signal
   * is aborted when shutdown abandons in-flight work at `drainMs`.
   */
  run<T>(name: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.closing) {
      return Promise.reject(
        new SignerError(
          'LOCKED',
          `${PLACE}: expected a running daemon for "${name}", got one shutting down`,
          {
            reason: 'shutting_down',
          },
        ),
      );
    }
    const controller = new AbortController();
    const promise = Promise.resolve().then(() => work(controller.signal));
    const tracked = promise.finally(() => this.#inFlight.delete(tracked));
    // The tracking promise's own rejection is the caller's to handle through `promise`.
    tracked.catch(() => {});
    this.#inFlight.set(tracked, { name, controller });
    return promise;
  }

  /** Install the signal and crash handlers on the process. */
  install(): void {
    if (this.#listeners.size > 0) return;
    const handlers: Record<LifecycleEvent, (...args: unknown[]) => void> = {
      SIGTERM: () => this.#onSignal('SIGTERM'),
      SIGINT: () => this.#onSignal('SIGINT'),
      uncaughtException: (error: unknown) => this.crash(error, 'uncaughtException'),
      unhandledRejection: (reason: unknown) => this.crash(reason, 'unhandledRejection'),
    };
    for (const event of EVENTS) {
      this.#process.on(event, handlers[event]);
      this.#listeners.set(event, handlers[event]);
    }
  }

  /** Remove the handlers `install` added. */
  uninstall(): void {
    for (const [event, listener] of this.#listeners) this.#process.removeListener(event, listener);
    this.#listeners.clear();
  }

  #onSignal(signal: 'SIGTERM' | 'SIGINT'): void {
    if (this.#state === 'exited') return;
    if (this.#state === 'closing') {
      this.forceExit(`second signal ${signal}`);
      return;
    }
    this.#log.info({ signal }, 'shutdown requested');
    void this.shutdown(signal);
  }

  /**
   * Graceful shutdown: refuse new work, wait up to `drainMs` for in-flight work then abort it,
   * run async hooks (reverse order, each with its timeout, failures logged and passed over),
   * run wipe hooks, exit 0. Past `deadlineMs` the exit is forced. Idempotent.
   */
  shutdown(reason = 'requested'): Promise<void> {
    if (this.#shutdown !== undefined) return this.#shutdown;
    if (this.#state !== 'running') return Promise.resolve();
    this.#state = 'closing';
    this.#deadline = setTimeout(
      () => this.forceExit(`shutdown deadline (${this.#deadlineMs} ms)`),
      this.#deadlineMs,
    );
    this.#shutdown = this.#graceful(reason);
    return this.#shutdown;
  }

  async #graceful(reason: string): Promise<void> {
    try {
      await this.#drain();
      for (const hook of [...this.#hooks].reverse()) {
        if (this.#state === 'exited') return;
        await this.#runHook(hook);
      }
    } catch (error) {
      this.#log.error({ err: error }, 'shutdown step failed');
    }
    if (this.#state === 'exited') return;
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#runWipes();
    this.#state = 'exited';
    this.#log.info({ reason, code: EXIT_CODES.ok }, 'shutdown complete');
    this.#process.exit(EXIT_CODES.ok);
  }

  async #drain(): Promise<void> {
    const pending = [...this.#inFlight.keys()];
    if (pending.length === 0) return;
    const outcome = await withTimeout(Promise.allSettled(pending), this.#drainMs);
    if (outcome === 'timeout') {
      const abandoned = this.inFlight;
      for (const { controller } of this.#inFlight.values()) controller.abort();
      this.#log.warn({ abandoned }, 'in-flight work abandoned at the drain deadline');
    }
  }

  async #runHook(hook: AsyncHook): Promise<void> {
    try {
      const outcome = await withTimeout(Promise.resolve().then(hook.run), hook.timeoutMs);
      if (outcome === 'timeout')
        this.#log.warn({ hook: hook.name, timeoutMs: hook.timeoutMs }, 'shutdown hook timed out');
    } catch (error) {
      this.#log.error({ hook: hook.name, err: error }, 'shutdown hook failed');
    }
  }

  /** Run every wipe hook once, in reverse order; one failing does not stop the others. */
  #runWipes(): void {
    if (this.#wiped) return;
    this.#wiped = true;
    for (const hook of [...this.#wipes].reverse()) {
      try {
        hook.run();
      } catch (error) {
        try {
          this.#log.error({ hook: hook.name, err: error }, 'wipe hook failed');
        } catch {
          // logging must not stop the next wipe
        }
      }
    }
  }

  /** Forced exit: wipe hooks synchronously, exit 1. */
  forceExit(reason: string): void {
    if (this.#state === 'exited') return;
    this.#state = 'exited';
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    try {
      this.#log.warn({ reason, code: EXIT_CODES.forced }, 'forced exit');
    } catch {
      // the wipe below must run whatever the logger does
    } finally {
      this.#runWipes();
      this.#process.exit(EXIT_CODES.forced);
    }
  }

  /** Crash path (uncaught exception, unhandled rejection): log, wipe hooks, exit 70. */
  crash(error: unknown, origin: string): void {
    if (this.#state === 'exited') return;
    this.#state = 'exited';
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    try {
      this.#log.fatal({ err: error, origin, code: EXIT_CODES.crash }, 'crash');
    } catch {
      // the wipe below must run whatever the logger does
    } finally {
      this.#runWipes();
      this.#process.exit(EXIT_CODES.crash);
    }
  }
}

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXIT_CODES, Lifecycle, type ProcessPort } from '../../src/daemon/lifecycle.js';
import type { DaemonLogger } from '../../src/daemon/logger.js';
import { isSignerError } from '../../src/errors.js';

type Listener = (...args: unknown[]) => void;

class FakeProcess implements ProcessPort {
  readonly listeners = new Map<string, Listener[]>();
  readonly exits: number[] = [];
  constructor(private readonly events: string[]) {}
  on(event: string, listener: Listener): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
  }
  removeListener(event: string, listener: Listener): void {
    this.listeners.set(
      event,
      (this.listeners.get(event) ?? []).filter((l) => l !== listener),
    );
  }
  exit(code: number): void {
    this.exits.push(code);
    this.events.push(`exit ${code}`);
  }
  emit(event: string, ...args: unknown[]): void {
    for (const l of this.listeners.get(event) ?? []) l(...args);
  }
}

function recordingLogger(events: string[]): DaemonLogger {
  const at =
    (level: string) =>
    (_obj: object, msg?: string): void =>
      void events.push(`log ${level} ${msg ?? ''}`);
  return {
    fatal: at('fatal'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
  };
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function setup(options: { drainMs?: number; hookTimeoutMs?: number; deadlineMs?: number } = {}) {
  const events: string[] = [];
  const proc = new FakeProcess(events);
  const lifecycle = new Lifecycle({
    process: proc,
    logger: recordingLogger(events),
    drainMs: options.drainMs ?? 1000,
    hookTimeoutMs: options.hookTimeoutMs ?? 500,
    deadlineMs: options.deadlineMs ?? 10_000,
  });
  lifecycle.install();
  return { events, proc, lifecycle, steps: () => events.filter((e) => !e.startsWith('log ')) };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const flush = () => vi.advanceTimersByTimeAsync(0);

describe('Lifecycle: graceful shutdown', () => {
  it('runs async hooks in reverse registration order, then wipe hooks, then exits 0', async () => {
    const { proc, lifecycle, steps } = setup();
    const events = steps;
    const log: string[] = [];
    lifecycle.onShutdown('open serial', () => void log.push('close serial'));
    lifecycle.onShutdown('state', async () => {
      await Promise.resolve();
      log.push('flush state');
    });
    lifecycle.onWipe('session keys', () => void log.push('wipe session'));
    lifecycle.onWipe('signing key', () => void log.push('wipe key'));
    proc.emit('SIGTERM');
    expect(lifecycle.closing).toBe(true);
    await flush();
    expect(log).toEqual(['flush state', 'close serial', 'wipe key', 'wipe session']);
    expect(proc.exits).toEqual([EXIT_CODES.ok]);
    expect(lifecycle.state).toBe('exited');
    expect(events()).toEqual(['exit 0']);
  });

  it('refuses new work once closing, with LOCKED shutting_down', async () => {
    const { proc, lifecycle } = setup();
    await expect(lifecycle.run('ping', async () => 'pong')).resolves.toBe('pong');
    const slow = deferred();
    lifecycle.onShutdown('slow', () => slow.promise);
    proc.emit('SIGINT');
    const refused = await lifecycle.run('sign_psbt', async () => 'signed').catch((e: unknown) => e);
    expect(isSignerError(refused, 'LOCKED')).toBe(true);
    expect((refused as { detail: { reason: string } }).detail.reason).toBe('shutting_down');
    slow.resolve();
    await flush();
    expect(proc.exits).toEqual([0]);
  });

  it('lets in-flight work finish before the hooks run', async () => {
    const { proc, lifecycle, events } = setup();
    const work = deferred<string>();
    lifecycle.onShutdown('close', () => void events.push('hook'));
    const result = lifecycle.run('sign_psbt', () => work.promise);
    expect(lifecycle.inFlight).toEqual(['sign_psbt']);
    proc.emit('SIGTERM');
    await flush();
    expect(events).not.toContain('hook');
    events.push('work done');
    work.resolve('signed');
    await expect(result).resolves.toBe('signed');
    await flush();
    expect(events.filter((e) => !e.startsWith('log'))).toEqual(['work done', 'hook', 'exit 0']);
  });

  it('abandons in-flight work at drainMs: its signal is aborted, then hooks run', async () => {
    const { proc, lifecycle, events } = setup({ drainMs: 1000 });
    let signal: AbortSignal | undefined;
    lifecycle.onShutdown('close', () => void events.push('hook'));
    void lifecycle.run('stuck', (s) => {
      signal = s;
      return new Promise(() => {});
    });
    proc.emit('SIGTERM');
    await vi.advanceTimersByTimeAsync(999);
    expect(signal?.aborted).toBe(false);
    expect(proc.exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(signal?.aborted).toBe(true);
    expect(events).toContain('log warn in-flight work abandoned at the drain deadline');
    expect(proc.exits).toEqual([0]);
    expect(events.indexOf('hook')).toBeLessThan(events.indexOf('exit 0'));
  });

  it('gives each hook its timeout, then moves on; a failing hook does not stop the others', async () => {
    const { proc, lifecycle, events } = setup({ hookTimeoutMs: 500 });
    lifecycle.onShutdown('first registered', () => void events.push('first'));
    lifecycle.onShutdown('throws', () => {
      throw new Error('port already closed');
    });
    lifecycle.onShutdown('hangs', () => new Promise(() => {}), { timeoutMs: 200 });
    lifecycle.onWipe('key', () => void events.push('wipe'));
    proc.emit('SIGTERM');
    await vi.advanceTimersByTimeAsync(199);
    expect(events).not.toContain('first');
    await vi.advanceTimersByTimeAsync(1);
    expect(events.filter((e) => !e.startsWith('log info'))).toEqual([
      'log warn shutdown hook timed out',
      'log error shutdown hook failed',
      'first',
      'wipe',
      'exit 0',
    ]);
  });

  it('shutdown() is idempotent and exits once', async () => {
    const { proc, lifecycle } = setup();
    const a = lifecycle.shutdown('lock command');
    const b = lifecycle.shutdown('again');
    expect(a).toBe(b);
    await a;
    expect(proc.exits).toEqual([0]);
  });
});

describe('Lifecycle: forced exit', () => {
  it('a second signal wipes synchronously and exits 1, skipping the remaining hooks', async () => {
    const { proc, lifecycle, events } = setup();
    const slow = deferred();
    lifecycle.onShutdown('never reached', () => void events.push('early hook'));
    lifecycle.onShutdown('slow', () => slow.promise);
    lifecycle.onWipe('key', () => void events.push('wipe'));
    proc.emit('SIGTERM');
    await flush();
    proc.emit('SIGINT');
    // synchronous: the wipe and the exit happened inside the signal handler
    expect(events.slice(-2)).toEqual(['wipe', 'exit 1']);
    slow.resolve();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(proc.exits).toEqual([1]);
    expect(events).not.toContain('early hook');
    expect(events.filter((e) => e === 'wipe')).toHaveLength(1);
  });

  it('the deadline forces exit 1 with the wipe', async () => {
    const { proc, lifecycle, events } = setup({ hookTimeoutMs: 5000, deadlineMs: 8000 });
    lifecycle.onShutdown('a', () => new Promise(() => {}));
    lifecycle.onShutdown('b', () => new Promise(() => {}));
    lifecycle.onWipe('key', () => void events.push('wipe'));
    proc.emit('SIGTERM');
    await vi.advanceTimersByTimeAsync(7999);
    expect(proc.exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(proc.exits).toEqual([1]);
    expect(events.slice(-2)).toEqual(['wipe', 'exit 1']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(proc.exits).toEqual([1]);
  });
});

describe('Lifecycle: crash', () => {
  for (const event of ['uncaughtException', 'unhandledRejection']) {
    it(`${event}: logs, runs every wipe hook, exits 70`, () => {
      const { proc, lifecycle, events } = setup();
      lifecycle.onShutdown('async', () => void events.push('async hook'));
      lifecycle.onWipe('session', () => void events.push('wipe session'));
      lifecycle.onWipe('broken', () => {
        throw new Error('wipe failed');
      });
      lifecycle.onWipe('key', () => void events.push('wipe key'));
      proc.emit(event, new Error('boom'));
      expect(events).toEqual([
        'log fatal crash',
        'wipe key',
        'log error wipe hook failed',
        'wipe session',
        'exit 70',
      ]);
      proc.emit('SIGTERM');
      proc.emit(event, new Error('again'));
      expect(proc.exits).toEqual([70]);
    });
  }

  it('wipes even when the logger throws', () => {
    const events: string[] = [];
    const proc = new FakeProcess(events);
    const throwing = (): void => {
      throw new Error('log sink gone');
    };
    const lifecycle = new Lifecycle({
      process: proc,
      logger: { fatal: throwing, error: throwing, warn: throwing, info: throwing, debug: throwing },
    });
    lifecycle.install();
    lifecycle.onWipe('key', () => void events.push('wipe'));
    proc.emit('uncaughtException', new Error('boom'));
    expect(events).toEqual(['wipe', 'exit 70']);
  });

  it('a crash during graceful shutdown still wipes and exits 70', async () => {
    const { proc, lifecycle, events } = setup();
    lifecycle.onShutdown('slow', () => new Promise(() => {}));
    lifecycle.onWipe('key', () => void events.push('wipe'));
    proc.emit('SIGTERM');
    await flush();
    proc.emit('unhandledRejection', new Error('late'));
    expect(proc.exits).toEqual([70]);
    expect(events.filter((e) => e === 'wipe')).toHaveLength(1);
  });
});

describe('Lifecycle: registration', () => {
  it('refuses duplicate names, bad timeouts and registration after closing', () => {
    const { lifecycle } = setup();
    lifecycle.onWipe('key', () => {});
    expect(() => lifecycle.onWipe('key', () => {})).toThrow(/twice/);
    expect(() => lifecycle.onShutdown('x', () => {}, { timeoutMs: 0 })).toThrow(/positive integer/);
    void lifecycle.shutdown();
    expect(() => lifecycle.onShutdown('late', () => {})).toThrow(/before shutdown/);
  });

  it('uninstall removes every listener it added', () => {
    const { proc, lifecycle } = setup();
    expect([...proc.listeners.values()].flat()).toHaveLength(4);
    lifecycle.uninstall();
    expect([...proc.listeners.values()].flat()).toHaveLength(0);
  });
});

describe('Lifecycle in a real process', () => {
  const lifecyclePath = fileURLToPath(new URL('../../src/daemon/lifecycle.ts', import.meta.url));
  const root = fileURLToPath(new URL('../../../../', import.meta.url));
  const run = (body: string) =>
    spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import(${JSON.stringify(lifecyclePath)}).then((m) => { const l = new m.Lifecycle(); l.install();` +
          `l.onWipe('key', () => process.stdout.write('wiped;')); ${body} });`,
      ],
      { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, encoding: 'utf8', timeout: 30_000 },
    );

  it('an uncaught exception wipes and exits 70', () => {
    const r = run("setTimeout(() => { throw new Error('boom'); }, 0);");
    expect(r.stdout).toBe('wiped;');
    expect(r.status).toBe(70);
  });

  it('SIGTERM runs the hooks and exits 0', () => {
    const r = run(
      "l.onShutdown('close', () => process.stdout.write('closed;')); setInterval(() => {}, 1000);" +
        "process.kill(process.pid, 'SIGTERM');",
    );
    expect(r.stdout).toBe('closed;wiped;');
    expect(r.status).toBe(0);
  });
});

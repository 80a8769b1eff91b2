import { type ChildProcess, spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WireError } from './errors.js';

/**
 * DEV/TEST TOOL — not for production. Makes a real pseudo-terminal pair with `socat`, so that
 * SerialTransport, benches and the demo run over the kernel's tty layer and serialport's native
 * binding without hardware. What one end writes, the other end reads. A pty ignores the baud rate
 * (it moves megabytes per second): wrap the transports in ThrottleTransport to see a 115200 line.
 *
 * Runs `socat -d -d pty,raw,echo=0,link=<dir>/ttyA pty,raw,echo=0,link=<dir>/ttyB` and resolves
 * once socat reports its transfer loop started and both links exist.
 */

export interface PtyPair {
  /** Symlink to the first pty (`<dir>/ttyA`). */
  readonly pathA: string;
  /** Symlink to the second pty (`<dir>/ttyB`). */
  readonly pathB: string;
  /** Stop socat and remove the links (and the directory when createPtyPair made it). Idempotent. */
  close(): Promise<void>;
}

export interface PtyPairOptions {
  /** socat executable; default `socat` from PATH. */
  readonly socatPath?: string;
  /** How long to wait for socat to be ready; default 5000 ms. */
  readonly readyTimeoutMs?: number;
}

const DEFAULT_READY_TIMEOUT_MS = 5000;
/** After SIGTERM, how long socat gets before SIGKILL. */
const KILL_GRACE_MS = 2000;
/** Keep only the tail of socat's log for error messages. */
const STDERR_KEEP_CHARS = 4096;
/** Characters that socat's address parser treats specially (or that have no place in a path). */
const SOCAT_UNSAFE = /[,:!"'\\[\](){}\s\0]/;

/** Live socat children, killed if the process exits without closing them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

function fail(message: string, cause?: unknown): WireError {
  return new WireError('LINK_CLOSED', `pty-pair: ${message}`, { cause });
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Spawn socat and wait for the pair. `dir` (created if missing) receives the `ttyA`/`ttyB` links;
 * by default a fresh temporary directory, removed again by close().
 */
export async function createPtyPair(dir?: string, options: PtyPairOptions = {}): Promise<PtyPair> {
  if (
    dir !== undefined &&
    (typeof dir !== 'string' || dir.length === 0 || SOCAT_UNSAFE.test(dir))
  ) {
    throw new WireError(
      'BAD_PARAMS',
      `pty-pair: expected dir to be a non-empty path without spaces or any of ,:!"'\\()[]{}, got ${JSON.stringify(dir)}`,
    );
  }
  const socatPath = options.socatPath ?? 'socat';
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  if (typeof socatPath !== 'string' || socatPath.length === 0) {
    throw new WireError('BAD_PARAMS', `pty-pair: expected socatPath to be a non-empty string`);
  }
  if (!Number.isFinite(readyTimeoutMs) || readyTimeoutMs <= 0 || readyTimeoutMs > 600_000) {
    throw new WireError(
      'BAD_PARAMS',
      `pty-pair: expected readyTimeoutMs in (0, 600000], got ${String(readyTimeoutMs)}`,
    );
  }

  const ownDir = dir === undefined;
  const base = ownDir ? await mkdtemp(join(tmpdir(), 'keyline-pty-')) : dir;
  if (SOCAT_UNSAFE.test(base)) {
    await rm(base, { recursive: true, force: true });
    throw new WireError('BAD_PARAMS', `pty-pair: temporary directory ${base} is not socat-safe`);
  }
  if (!ownDir) await mkdir(base, { recursive: true });
  const pathA = join(base, 'ttyA');
  const pathB = join(base, 'ttyB');
  if ((await exists(pathA)) || (await exists(pathB))) {
    throw new WireError('BAD_PARAMS', `pty-pair: expected ${base} to hold no ttyA/ttyB, got some`);
  }

  const cleanupFiles = async (): Promise<void> => {
    if (ownDir) await rm(base, { recursive: true, force: true });
    else {
      await rm(pathA, { force: true });
      await rm(pathB, { force: true });
    }
  };

  const child = spawn(
    socatPath,
    ['-d', '-d', `pty,raw,echo=0,link=${pathA}`, `pty,raw,echo=0,link=${pathB}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  installExitHook();
  live.add(child);

  let log = '';
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      live.delete(child);
      resolve();
    });
    // A spawn failure (ENOENT) emits 'error' and never 'exit'.
    child.once('error', () => {
      exited = true;
      live.delete(child);
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, KILL_GRACE_MS);
      await exitPromise;
      clearTimeout(timer);
    }
    await cleanupFiles();
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          fail(
            `socat was not ready within ${readyTimeoutMs} ms; its log: ${log.trim() || '(empty)'}`,
          ),
        );
      }, readyTimeoutMs);
      let settled = false;
      const settle = (error?: WireError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error === undefined) resolve();
        else reject(error);
      };
      child.once('error', (e: NodeJS.ErrnoException) => {
        settle(
          e.code === 'ENOENT'
            ? fail(`socat not found (${socatPath}); install it, e.g. apt-get install socat`, e)
            : fail(`could not start socat: ${e.message}`, e),
        );
      });
      child.once('exit', (code, signal) => {
        settle(
          fail(
            `socat exited before the pair was ready (code ${String(code)}, signal ${String(signal)}); its log: ${log.trim() || '(empty)'}`,
          ),
        );
      });
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (text: string) => {
        log = (log + text).slice(-STDERR_KEEP_CHARS);
        if (settled || !log.includes('starting data transfer loop')) return;
        void Promise.all([exists(pathA), exists(pathB)]).then(([a, b]) => {
          if (a && b) settle();
          else
            settle(
              fail(`socat started but the links are missing (${pathA}: ${a}, ${pathB}: ${b})`),
            );
        });
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }

  // Do not let a forgotten pair keep the event loop alive; the exit hook kills socat then.
  child.unref();
  if (child.stderr instanceof Socket) child.stderr.unref();

  let closing: Promise<void> | undefined;
  return {
    pathA,
    pathB,
    close(): Promise<void> {
      closing ??= stop();
      return closing;
    },
  };
}

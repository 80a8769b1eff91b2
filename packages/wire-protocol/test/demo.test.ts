import { spawn } from 'node:child_process';
import { lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The link demo (`pnpm demo`) run as a child process, as a user would run it: a real socat pty
// pair, serialport on both ends, all four layers, then the noisy-line segment. 921600 baud keeps
// it to a few seconds.

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = join(packageDir, '..', '..', 'node_modules', '.bin', 'tsx');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the demo to completion (event-driven: resolves on the child's 'close'). */
function runDemo(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, ['demo/link-demo.ts', ...args], {
      cwd: packageDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      stdout += t;
    });
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      stderr += t;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

describe('link demo', () => {
  it('runs every step over a pty pair, verifies the replies and cleans up', async () => {
    const run = await runDemo(['--baud', '921600']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/link up: RESET exchange done/);
    expect(run.stdout).toMatch(
      /Noise KK handshake done: coordinator static key [0-9a-f]{16}…, device static key [0-9a-f]{16}…/,
    );
    expect(run.stdout).toMatch(/get_info: device "echo-device"/);
    expect(run.stdout).toMatch(/ping: round trip [\d.]+ ms, nonce echoed/);
    expect(run.stdout).toContain(
      'reply verified: 3 signatures derived from the 102,400 bytes sent match',
    );
    expect(run.stdout).toMatch(/noisy-line request completed and verified: 20,480 B/);
    expect(run.stdout).toMatch(/bits flipped [1-9]\d*/);
    expect(run.stdout).toContain('shut down: endpoints closed, serial ports closed, socat stopped');
    // socat's pty links (and their temporary directories) are gone.
    const links = [...run.stdout.matchAll(/(\/\S+\/tty[AB])\b/g)].map((m) => m[1] ?? '');
    expect(links.length).toBeGreaterThanOrEqual(4);
    for (const link of links) expect(await exists(link)).toBe(false);
  });

  it('exits non-zero and says how to install socat when it is missing', async () => {
    const run = await runDemo(['--socat', '/nonexistent/socat', '--no-faults']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('apt-get install -y socat');
    expect(run.stdout).toBe('');
  });

  it('refuses a baud rate out of range before touching any port', async () => {
    const run = await runDemo(['--baud', '12']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'link-demo/args: expected --baud an integer in 1200..4000000, got 12',
    );
  });
});

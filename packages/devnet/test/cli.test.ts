import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PKG = join(import.meta.dirname, '..');
const BIN = join(PKG, 'bin', 'keyline-devnet.js');
const BUILT = join(PKG, 'dist', 'cli', 'main.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const st = statSync(full);
    newest = Math.max(newest, st.isDirectory() ? newestSource(full) : st.mtimeMs);
  }
  return newest;
}

let dir: string;
let child: ChildProcess | null = null;

beforeAll(() => {
  // The CLI runs from dist: build it when missing or older than the sources (CI builds first).
  if (!existsSync(BUILT) || statSync(BUILT).mtimeMs < newestSource(join(PKG, 'src'))) {
    execFileSync('pnpm', ['--filter', '@keyline/devnet', 'build'], { cwd: PKG, stdio: 'ignore' });
  }
  dir = mkdtempSync(join(tmpdir(), 'keyline-devnet-cli-'));
}, 120_000);

afterAll(() => {
  if (child !== null && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function firstLine(proc: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    rl.once('line', (line) => {
      rl.close();
      resolve(line);
    });
    proc.once('exit', (code) =>
      reject(new Error(`keyline-devnet exited with ${code} before printing its line`)),
    );
  });
}

describe('keyline-devnet CLI', () => {
  it('prints its JSON line, serves getblockcount, and exits 0 on SIGTERM after writing the data file', async () => {
    const dataFile = join(dir, 'chain.json');
    child = spawn(
      process.execPath,
      [BIN, '--port', '0', '--rpcpassword', 'pw', '--data-file', dataFile],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const started = JSON.parse(await firstLine(child)) as {
      url: string;
      rpcUser: string;
      rpcPassword: string;
    };
    expect(started).toEqual({
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/),
      rpcUser: 'keyline',
      rpcPassword: 'pw',
    });
    const auth = `Basic ${Buffer.from(`${started.rpcUser}:${started.rpcPassword}`).toString('base64')}`;
    const res = await fetch(started.url, {
      method: 'POST',
      headers: { authorization: auth },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getblockcount' }),
    });
    expect(await res.json()).toEqual({ jsonrpc: '2.0', result: 0, id: 1 });
    const exited = new Promise<number | null>((resolve) =>
      child?.once('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(dataFile)).toBe(true);
  });

  it('refuses a bad option with a non-zero exit', () => {
    expect(() =>
      execFileSync(process.execPath, [BIN, '--port', 'abc'], { stdio: 'pipe' }),
    ).toThrow();
  });
});

/** In-process harness for the CLI: a fake console, captured output, temp directories. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from '../../src/cli/cli-io.js';
import { run } from '../../src/cli/main.js';

export const NOW = 1_800_000_000;
export const PASS = 'correct horse battery staple';
export const BACKUP_PASS = 'vault passphrase, a different one';
export const WEAK = '--insecure-test-kdf';

export interface Harness {
  readonly io: CliIo;
  readonly out: () => string;
  readonly err: () => string;
  /** Passphrases answered to console prompts, in order. */
  readonly prompts: string[];
}

export interface HarnessOptions {
  passphrases?: string[];
  secretLine?: string;
  stdin?: string;
  now?: number;
}

/** Every text the CLI printed in a test file (checked for secrets at the end). */
export const ALL_OUTPUT: string[] = [];

export function harness(options: HarnessOptions = {}): Harness {
  let out = '';
  let err = '';
  const queue = [...(options.passphrases ?? [])];
  const prompts: string[] = [];
  const io: CliIo = {
    stdout: {
      write: (s: string) => {
        out += s;
        ALL_OUTPUT.push(s);
      },
    },
    stderr: {
      write: (s: string) => {
        err += s;
        ALL_OUTPUT.push(s);
      },
    },
    readStdin: async () => options.stdin ?? '',
    readPassphrase: async (prompt: string) => {
      prompts.push(prompt);
      const next = queue.shift();
      if (next === undefined) throw new Error(`test: no passphrase left for prompt ${prompt}`);
      return new TextEncoder().encode(next);
    },
    readSecretLine: async () => {
      if (options.secretLine === undefined) throw new Error('test: no secret line');
      return options.secretLine;
    },
    now: () => options.now ?? NOW,
    env: {},
  };
  return { io, out: () => out, err: () => err, prompts };
}

export async function runCli(
  argv: string[],
  options: HarnessOptions = {},
): Promise<{ code: number; out: string; err: string; prompts: string[] }> {
  const h = harness(options);
  const code = await run(argv, h.io);
  return { code, out: h.out(), err: h.err(), prompts: h.prompts };
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'keyline-cli-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A 0600 passphrase file (the automation path). */
export function passphraseFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, `${text}\n`, { mode: 0o600 });
  return path;
}

/** Pulls the 24 numbered words out of keygen's stdout. */
export function wordsFrom(stdout: string): string {
  const words: string[] = [];
  for (const m of stdout.matchAll(/\b\d{1,2}\. ([a-z]+)/g)) words.push(m[1] ?? '');
  return words.join(' ');
}

/** Runs keygen in `dir` with console passphrases; returns its stdout. */
export async function keygenIn(dir: string, network = 'regtest'): Promise<string> {
  const r = await runCli(['keygen', '--network', network, '--out', dir, WEAK], {
    passphrases: [PASS, PASS, BACKUP_PASS, BACKUP_PASS],
  });
  if (r.code !== 0) throw new Error(`keygen failed: ${r.err}`);
  return r.out;
}

export function field(stdout: string, label: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith(`${label} `));
  if (line === undefined) throw new Error(`test: no line ${label}`);
  return line.slice(label.length).trim();
}

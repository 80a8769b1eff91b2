/**
 * What a CLI command may touch besides its files: standard output and error, standard input, the
 * console passphrase prompt and the clock. `run(argv, io)` takes all of them injected so that the
 * tests run every command in-process; `processIo()` is the real terminal. docs/cli.md §5.
 */
import { readConsolePassphrase } from '../daemon/console-passphrase.js';

export interface CliWriter {
  write(text: string): unknown;
}

export interface CliIo {
  readonly stdout: CliWriter;
  readonly stderr: CliWriter;
  /** All of standard input as text (for `--challenge -`). */
  readStdin(): Promise<string>;
  /** One passphrase typed on the console with echo off; NFKC UTF-8 bytes the caller wipes. */
  readPassphrase(prompt: string): Promise<Uint8Array>;
  /** One line typed on the console with echo off (recovery words); the caller drops it soon. */
  readSecretLine(prompt: string): Promise<string>;
  /** Unix seconds. */
  now(): number;
  /** Environment variables (only the test-only switch is read). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The real process: stdout/stderr, stdin, `/dev/tty` for passphrases, the system clock. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    readStdin: () => readAll(process.stdin),
    readPassphrase: (prompt) => readConsolePassphrase({ prompt }),
    readSecretLine: async (prompt) => {
      const bytes = await readConsolePassphrase({ prompt, maxBytes: 1024 });
      try {
        return new TextDecoder().decode(bytes);
      } finally {
        bytes.fill(0);
      }
    },
    now: () => Math.floor(Date.now() / 1000),
    env: process.env,
  };
}

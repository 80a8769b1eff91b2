/**
 * The holder's passphrase, read on the device's own console — never over the coordinator link.
 * `readConsolePassphrase` opens the controlling terminal (`/dev/tty`) or uses an injected stream
 * pair, turns echo off (raw mode), and feeds the bytes to a `PassphraseEditor`; the result is an
 * NFKC-normalised UTF-8 `Uint8Array` that the caller wipes. `readPassphraseFile` is the
 * automation/test path (never production: config refuses it on mainnet). docs/daemon.md §3.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { isatty, ReadStream, WriteStream } from 'node:tty';
import { SignerError } from '../errors.js';
import {
  MAX_PASSPHRASE_BYTES,
  normalizePassphrase,
  PassphraseEditor,
} from './passphrase-editor.js';

/** The terminal's input side: a Readable in raw mode (tty.ReadStream, or a fake in tests). */
export interface ConsoleInput {
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  resume(): unknown;
  pause(): unknown;
  /** Required: without raw mode the terminal would echo the passphrase. */
  setRawMode?(mode: boolean): unknown;
  readonly isRaw?: boolean;
}
export interface ConsoleOutput {
  write(text: string): unknown;
}

export interface ConsolePassphraseOptions {
  /** Both or neither: default is the controlling terminal, `/dev/tty`. */
  readonly input?: ConsoleInput;
  readonly output?: ConsoleOutput;
  readonly prompt?: string;
  /** Abort reading (e.g. the daemon is shutting down). */
  readonly signal?: AbortSignal;
  readonly maxBytes?: number;
}

const PLACE = 'daemon/console-passphrase';

function aborted(why: string): SignerError {
  return new SignerError('IO', `${PLACE}: expected a passphrase line, got ${why}`, {
    reason: 'aborted',
  });
}

interface Terminal {
  readonly input: ConsoleInput;
  readonly output: ConsoleOutput;
  close(): void;
}

function openControllingTerminal(): Terminal {
  let readFd = -1;
  let writeFd = -1;
  try {
    readFd = openSync('/dev/tty', constants.O_RDONLY | constants.O_NOCTTY);
    writeFd = openSync('/dev/tty', constants.O_WRONLY | constants.O_NOCTTY);
  } catch (e) {
    if (readFd >= 0) closeSync(readFd);
    const code = (e as { code?: unknown }).code;
    throw new SignerError(
      'IO',
      `${PLACE}: expected a controlling terminal at /dev/tty, got ${typeof code === 'string' ? code : 'an error'}`,
      {},
      { cause: e },
    );
  }
  if (!isatty(readFd)) {
    closeSync(readFd);
    closeSync(writeFd);
    throw new SignerError('IO', `${PLACE}: expected /dev/tty to be a terminal`);
  }
  const input = new ReadStream(readFd);
  const output = new WriteStream(writeFd);
  return {
    input,
    output,
    close: () => {
      input.destroy();
      output.destroy();
    },
  };
}

function resolveTerminal(options: ConsolePassphraseOptions): Terminal {
  if (options.input === undefined && options.output === undefined) return openControllingTerminal();
  if (options.input === undefined || options.output === undefined) {
    throw new SignerError('BAD_CONFIG', `${PLACE}: expected both input and output, got one`);
  }
  return { input: options.input, output: options.output, close: () => {} };
}

/**
 * Read one passphrase line from the console with echo off. Resolves with NFKC-normalised UTF-8
 * bytes (the caller wipes them). Rejects with IO `reason: 'aborted'` on Ctrl-C, Ctrl-D, end of
 * input or the signal; WRONG_PASSPHRASE `reason: 'too_long' | 'empty' | 'invalid_utf8'`. Every
 * byte typed is wiped on every path; raw mode is restored.
 */
export async function readConsolePassphrase(
  options: ConsolePassphraseOptions = {},
): Promise<Uint8Array> {
  const max = options.maxBytes ?? MAX_PASSPHRASE_BYTES;
  if (options.signal?.aborted) throw aborted('an aborted signal');
  const editor = new PassphraseEditor(max);
  const terminal = resolveTerminal(options);
  const { input, output } = terminal;
  if (typeof input.setRawMode !== 'function') {
    terminal.close();
    throw new SignerError(
      'IO',
      `${PLACE}: expected a terminal that can turn echo off (raw mode), got a plain stream`,
    );
  }
  const wasRaw = input.isRaw === true;
  let raw: Uint8Array;
  try {
    input.setRawMode(true);
    output.write(options.prompt ?? 'Passphrase: ');
    raw = await new Promise<Uint8Array>((resolve, reject) => {
      const cleanup = (): void => {
        input.removeListener('data', onData);
        input.removeListener('end', onEnd);
        input.removeListener('close', onEnd);
        input.removeListener('error', onError);
        options.signal?.removeEventListener('abort', onAbort);
        input.pause();
      };
      const fail = (error: SignerError): void => {
        cleanup();
        editor.wipe();
        reject(error);
      };
      const onData = (chunk: Uint8Array | string): void => {
        const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
        let status: ReturnType<PassphraseEditor['feed']>;
        try {
          status = editor.feed(bytes);
        } finally {
          bytes.fill(0);
        }
        if (status === 'done') {
          cleanup();
          resolve(editor.take());
        } else if (status === 'aborted') {
          fail(aborted('Ctrl-C or Ctrl-D'));
        } else if (status === 'too_long') {
          fail(
            new SignerError(
              'WRONG_PASSPHRASE',
              `${PLACE}: expected at most ${max} bytes, got more`,
              { reason: 'too_long' },
            ),
          );
        }
      };
      const onEnd = (): void => fail(aborted('the end of input'));
      const onError = (e: Error): void =>
        fail(
          new SignerError(
            'IO',
            `${PLACE}: expected to read the terminal, got an error`,
            {},
            { cause: e },
          ),
        );
      const onAbort = (): void => fail(aborted('an abort signal'));
      input.on('data', onData);
      input.on('end', onEnd);
      input.on('close', onEnd);
      input.on('error', onError);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      input.resume();
    });
  } finally {
    editor.wipe();
    try {
      input.setRawMode(wasRaw);
      output.write('\n');
    } finally {
      terminal.close();
    }
  }
  return normalizePassphrase(raw, max);
}

export interface PassphraseFileOptions {
  /** The uid that must own the file; default: the daemon's own (`process.getuid()`). */
  readonly expectedUid?: number;
  readonly maxBytes?: number;
}

/**
 * Read a passphrase from a file — for automation and tests only, never production. The file must
 * be a regular file (symlinks refused), owned by the daemon's user, mode 0600 or stricter (no
 * group/other bits), hold one line of at most `maxBytes` bytes (a single trailing LF or CRLF is
 * dropped) without control bytes, so that it is a passphrase the console could also type.
 * Returns NFKC-normalised bytes; the read buffer is wiped.
 */
export function readPassphraseFile(path: string, options: PassphraseFileOptions = {}): Uint8Array {
  const place = 'daemon/passphrase-file';
  const max = options.maxBytes ?? MAX_PASSPHRASE_BYTES;
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0')) {
    throw new SignerError('BAD_CONFIG', `${place}: expected an absolute path, got ${typeof path}`);
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ELOOP') {
      throw new SignerError(
        'BAD_CONFIG',
        `${place}: ${path}: expected a regular file, got a symlink`,
      );
    }
    throw new SignerError(
      'IO',
      `${place}: ${path}: expected a readable file, got ${typeof code === 'string' ? code : 'an error'}`,
      {},
      { cause: e },
    );
  }
  const buffer = new Uint8Array(max + 3);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new SignerError('BAD_CONFIG', `${place}: ${path}: expected a regular file`);
    }
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new SignerError(
        'BAD_CONFIG',
        `${place}: ${path}: expected mode 0600 or stricter, got 0${mode.toString(8)}`,
      );
    }
    const uid = options.expectedUid ?? process.getuid?.();
    if (uid !== undefined && st.uid !== uid) {
      throw new SignerError(
        'BAD_CONFIG',
        `${place}: ${path}: expected a file owned by uid ${uid}, got uid ${st.uid}`,
      );
    }
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length === buffer.length) break;
    }
    if (length > 0 && buffer[length - 1] === 0x0a) length--;
    if (length > 0 && buffer[length - 1] === 0x0d) length--;
    if (length > max) {
      throw new SignerError(
        'WRONG_PASSPHRASE',
        `${place}: expected at most ${max} bytes, got more`,
        {
          reason: 'too_long',
        },
      );
    }
    const line = buffer.subarray(0, length);
    if (line.some((b) => b < 0x20 || b === 0x7f)) {
      throw new SignerError(
        'WRONG_PASSPHRASE',
        `${place}: expected one line without control bytes, got control bytes`,
        { reason: 'control_bytes' },
      );
    }
    return normalizePassphrase(line.slice(), max);
  } finally {
    buffer.fill(0);
    closeSync(fd);
  }
}

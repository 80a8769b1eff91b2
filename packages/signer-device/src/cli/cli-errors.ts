/**
 * Exit codes and error printing of the `keyline-signer` CLI. Every failure is printed as one
 * line `CODE: message` on stderr (the SignerError code, then its message, which starts with the
 * place). Messages of this package never carry key material; the words and passphrases never
 * reach an error. docs/cli.md §4.
 */
import { CommanderError } from 'commander';
import { isSignerError, SignerError } from '../errors.js';
import type { CliWriter } from './cli-io.js';

/** 0 success, 1 refused or failed (bad file, wrong passphrase, I/O...), 2 bad usage. */
export const EXIT_CODES = Object.freeze({ ok: 0, failed: 1, usage: 2 } as const);
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The code under which usage errors are printed (no closer code in the table). */
export const USAGE_CODE = 'BAD_CONFIG';

/** A bad command line (missing/invalid option): printed as BAD_CONFIG, exit code 2. */
export function usageError(place: string, message: string): SignerError {
  return new SignerError('BAD_CONFIG', `cli/${place}: ${message}`, { usage: true });
}

export function isUsageError(e: unknown): boolean {
  return isSignerError(e) && e.detail.usage === true;
}

/** Prints the error and returns the exit code for it. */
export function reportError(stderr: CliWriter, e: unknown): ExitCode {
  if (e instanceof CommanderError) {
    // commander already printed its message through `outputError` (see main.ts).
    return e.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
  }
  if (isSignerError(e)) {
    const where = typeof e.detail.seq === 'number' ? ` (seq ${e.detail.seq})` : '';
    const reason = typeof e.detail.reason === 'string' ? ` [reason ${e.detail.reason}]` : '';
    stderr.write(`${e.code}: ${e.message}${reason}${where}\n`);
    return isUsageError(e) ? EXIT_CODES.usage : EXIT_CODES.failed;
  }
  // Not ours: name only. Library messages are not reviewed for what they may quote.
  const name = e instanceof Error ? e.name : typeof e;
  stderr.write(`IO: cli: expected the command to finish, got an unexpected ${name}\n`);
  return EXIT_CODES.failed;
}

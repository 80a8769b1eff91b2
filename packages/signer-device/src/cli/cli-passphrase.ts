/**
 * Passphrases for the CLI: typed on the console with echo off (the default), or read from a 0600
 * file with `--passphrase-file` (automation and tests only). A new passphrase is typed twice and
 * the two must match. The result is a `Uint8Array` the key-file functions consume (zero).
 */
import { equalBytes } from '@noble/ciphers/utils.js';
import { readPassphraseFile } from '../daemon/console-passphrase.js';
import { SignerError } from '../errors.js';
import type { CliIo } from './cli-io.js';
import { absolutePath } from './cli-options.js';

export interface PassphraseSource {
  readonly io: CliIo;
  /** When set, the passphrase is read from this file instead of the console. */
  readonly file?: string;
}

/** A passphrase that opens an existing file. */
export async function existingPassphrase(src: PassphraseSource, what: string): Promise<Uint8Array> {
  if (src.file !== undefined) return readPassphraseFile(absolutePath(src.file));
  return src.io.readPassphrase(`Passphrase of ${what}: `);
}

/** A new passphrase: from the file, or typed twice on the console (must match). */
export async function newPassphrase(src: PassphraseSource, what: string): Promise<Uint8Array> {
  if (src.file !== undefined) return readPassphraseFile(absolutePath(src.file));
  const first = await src.io.readPassphrase(`New passphrase for ${what}: `);
  let second: Uint8Array | undefined;
  try {
    second = await src.io.readPassphrase(`Repeat the passphrase for ${what}: `);
    if (first.length !== second.length || !equalBytes(first, second)) {
      throw new SignerError(
        'WRONG_PASSPHRASE',
        `cli/passphrase: expected the same passphrase twice for ${what}, got two different ones`,
        { reason: 'mismatch' },
      );
    }
    return first;
  } catch (e) {
    first.fill(0);
    throw e;
  } finally {
    second?.fill(0);
  }
}

/** Refuses a key file of another kind before any passphrase is asked. */
export function assertKind(place: string, actual: string, expected: string): void {
  if (actual !== expected) {
    throw new SignerError(
      'BAD_KEY_FILE',
      `cli/${place}: expected a ${expected} file, got ${actual}`,
    );
  }
}

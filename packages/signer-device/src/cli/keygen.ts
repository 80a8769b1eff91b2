/**
 * `keyline-signer keygen --network <n> --out <dir>`: a new device key. Writes `device-key.json`
 * (holder passphrase) and `device-backup.json` (a different, vault passphrase) to `<dir>`, never
 * overwriting; prints the public facts the coordinator pins, then the 24 recovery words ONCE.
 * The words go to stdout only (never a file, never stderr), and only after both files are on
 * disk. docs/cli.md §2.1.
 */
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Command } from 'commander';
import { z } from 'zod';
import { type DevicePublicResult, keygen } from '../keystore/ceremony.js';
import { writeKeyFile } from '../keystore/key-file.js';
import { assertAbsent, assertDirectory } from './cli-files.js';
import type { CliIo } from './cli-io.js';
import { addCommonOptions, commonOptionsSchema, kdfSettings, parseOptions } from './cli-options.js';
import { newPassphrase } from './cli-passphrase.js';

export const KEY_FILE_NAME = 'device-key.json';
export const BACKUP_FILE_NAME = 'device-backup.json';

const PLACE = 'keygen';

export const keygenOptionsSchema = commonOptionsSchema.extend({
  out: z.string().min(1).max(4096),
  backupPassphraseFile: z.string().min(1).max(4096).optional(),
});

/** The public facts, one `label value` line each (what the operator copies to the coordinator). */
export function formatDevicePublic(r: DevicePublicResult): string {
  return [
    `network           ${r.network}`,
    `fingerprint       ${r.fingerprint}`,
    `path              ${r.path}`,
    `account xpub      ${r.xpub}`,
    `key origin        ${r.keyOrigin}`,
    `link public key   ${bytesToHex(r.linkPublicKey)}`,
    `audit public key  ${bytesToHex(r.auditPublicKey)}`,
  ].join('\n');
}

export const WORDS_WARNING = [
  '!!! RECOVERY WORDS: shown ONCE, never stored by this program.',
  '!!! Write them on paper now, check every word, keep the paper offline.',
  '!!! Anyone who reads them can rebuild this key. Clear the screen afterwards.',
].join('\n');

/** Numbered words, 4 per line. */
export function formatWords(words: string): string {
  const list = words.split(' ');
  const lines: string[] = [];
  for (let i = 0; i < list.length; i += 4) {
    lines.push(
      list
        .slice(i, i + 4)
        .map((w, j) => `${String(i + j + 1).padStart(2, ' ')}. ${w.padEnd(9, ' ')}`)
        .join(' ')
        .trimEnd(),
    );
  }
  return lines.join('\n');
}

export async function runKeygen(raw: unknown, io: CliIo): Promise<void> {
  const opts = parseOptions(PLACE, keygenOptionsSchema, raw);
  const kdf = kdfSettings(PLACE, opts);
  const dir = await assertDirectory(`cli/${PLACE}`, opts.out);
  const keyPath = join(dir, KEY_FILE_NAME);
  const backupPath = join(dir, BACKUP_FILE_NAME);
  await assertAbsent(`cli/${PLACE}`, keyPath);
  await assertAbsent(`cli/${PLACE}`, backupPath);

  const passphrase = await newPassphrase(
    { io, file: opts.passphraseFile },
    'the device key file (holder)',
  );
  let backupPassphrase: Uint8Array;
  try {
    backupPassphrase = await newPassphrase(
      { io, file: opts.backupPassphraseFile },
      'the vault backup file (a different passphrase)',
    );
  } catch (e) {
    passphrase.fill(0);
    throw e;
  }
  // keygen consumes (zeroes) both passphrases on every path.
  const result = keygen({ network: opts.network, passphrase, backupPassphrase, ...kdf });
  await writeKeyFile(keyPath, result.keyFile);
  await writeKeyFile(backupPath, result.backupFile);
  io.stdout.write(
    `${formatDevicePublic(result)}\nkey file          ${keyPath}\nbackup file       ${backupPath}\n\n`,
  );
  io.stdout.write(`${WORDS_WARNING}\n${formatWords(result.words)}\n${WORDS_WARNING}\n`);
}

export function registerKeygen(program: Command, io: CliIo): void {
  addCommonOptions(
    program
      .command('keygen')
      .description(
        'make a new device key: device-key.json + device-backup.json, print the xpub and the words once',
      )
      .requiredOption('--out <dir>', 'existing directory for the two files (never overwritten)')
      .option(
        '--backup-passphrase-file <path>',
        'AUTOMATION/TESTS ONLY: the backup passphrase from a 0600 file',
      ),
  ).action((opts: unknown) => runKeygen(opts, io));
}

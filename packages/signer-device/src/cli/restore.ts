/**
 * `keyline-signer restore --network <n> (--from-backup <file> | --words-from-console) --out <dir>
 * [--expect-xpub <xpub>]`: rebuilds `device-key.json` under a new holder passphrase from the vault
 * backup (its passphrase) or from the 24 words typed on the console (echo off). With
 * `--expect-xpub` the restored key must be the one pinned at enrollment. docs/cli.md §2.2.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { type RestoreSource, restore } from '../keystore/ceremony.js';
import { readKeyFile, writeKeyFile } from '../keystore/key-file.js';
import { usageError } from './cli-errors.js';
import { assertAbsent, assertDirectory } from './cli-files.js';
import type { CliIo } from './cli-io.js';
import {
  absolutePath,
  addCommonOptions,
  commonOptionsSchema,
  kdfSettings,
  parseOptions,
} from './cli-options.js';
import { existingPassphrase, newPassphrase } from './cli-passphrase.js';
import { formatDevicePublic, KEY_FILE_NAME } from './keygen.js';

const PLACE = 'restore';

export const restoreOptionsSchema = commonOptionsSchema.extend({
  out: z.string().min(1).max(4096),
  fromBackup: z.string().min(1).max(4096).optional(),
  wordsFromConsole: z.boolean().optional(),
  backupPassphraseFile: z.string().min(1).max(4096).optional(),
  expectXpub: z
    .string()
    .regex(/^[xt]pub[1-9A-HJ-NP-Za-km-z]{100,112}$/, 'expected an xpub/tpub')
    .optional(),
});

export async function runRestore(raw: unknown, io: CliIo): Promise<void> {
  const opts = parseOptions(PLACE, restoreOptionsSchema, raw);
  const kdf = kdfSettings(PLACE, opts);
  const fromWords = opts.wordsFromConsole === true;
  if (fromWords === (opts.fromBackup !== undefined)) {
    throw usageError(PLACE, 'expected exactly one of --from-backup <file> or --words-from-console');
  }
  const dir = await assertDirectory(`cli/${PLACE}`, opts.out);
  const keyPath = join(dir, KEY_FILE_NAME);
  await assertAbsent(`cli/${PLACE}`, keyPath);

  let from: RestoreSource;
  if (opts.fromBackup !== undefined) {
    const backup = await readKeyFile(absolutePath(opts.fromBackup), kdf);
    const backupPassphrase = await existingPassphrase(
      { io, file: opts.backupPassphraseFile },
      'the vault backup',
    );
    from = { backup, backupPassphrase };
  } else {
    io.stderr.write('Type the 24 recovery words separated by spaces (not echoed).\n');
    from = { words: await io.readSecretLine('Recovery words: ') };
  }
  let newPass: Uint8Array;
  try {
    newPass = await newPassphrase(
      { io, file: opts.passphraseFile },
      'the restored device key file',
    );
  } catch (e) {
    if ('backupPassphrase' in from) from.backupPassphrase.fill(0);
    throw e;
  }
  // restore consumes (zeroes) every passphrase on every path.
  const result = restore({
    network: opts.network,
    from,
    newPassphrase: newPass,
    ...(opts.expectXpub === undefined ? {} : { expectedXpub: opts.expectXpub }),
    ...kdf,
  });
  await writeKeyFile(keyPath, result.keyFile);
  const matched = opts.expectXpub === undefined ? '' : 'xpub matches     --expect-xpub\n';
  io.stdout.write(`${formatDevicePublic(result)}\nkey file          ${keyPath}\n${matched}`);
}

export function registerRestore(program: Command, io: CliIo): void {
  addCommonOptions(
    program
      .command('restore')
      .description('rebuild device-key.json from the vault backup or the 24 words')
      .requiredOption('--out <dir>', 'existing directory for device-key.json (never overwritten)')
      .option('--from-backup <file>', 'the device-backup.json from the vault')
      .option('--words-from-console', 'type the 24 words on the console instead')
      .option('--expect-xpub <xpub>', 'refuse unless the restored key has this account xpub')
      .option(
        '--backup-passphrase-file <path>',
        'AUTOMATION/TESTS ONLY: the backup passphrase from a 0600 file',
      ),
  ).action((opts: unknown) => runRestore(opts, io));
}

/**
 * `keyline-signer holder-keygen --network <n> --out <file> --id <name>` and `officer-keygen`
 * (same options): a new Ed25519 key sealed under a passphrase in a `holder-key`/`officer-key`
 * file (never overwriting), and its pinning record printed as JSON: `{role, name, keyId,
 * publicKey}`. `keyId` (hex of the first 8 bytes of sha256(publicKey)) is what the devices pin
 * and what signed approvals name; `name` is the operator's label only. docs/cli.md §2.3.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { generateHolderKey } from '../keystore/holder-key.js';
import { writeKeyFile } from '../keystore/key-file.js';
import { assertAbsent } from './cli-files.js';
import type { CliIo } from './cli-io.js';
import {
  absolutePath,
  addCommonOptions,
  commonOptionsSchema,
  kdfSettings,
  parseOptions,
} from './cli-options.js';
import { newPassphrase } from './cli-passphrase.js';

export const holderKeygenOptionsSchema = commonOptionsSchema.extend({
  out: z.string().min(1).max(4096),
  id: z
    .string()
    .regex(/^[\x21-\x7e]{1,64}$/, 'expected printable ASCII without spaces, 1..64 characters'),
});

export type HolderRole = 'holder' | 'officer';

export async function runHolderKeygen(role: HolderRole, raw: unknown, io: CliIo): Promise<void> {
  const place = `${role}-keygen`;
  const opts = parseOptions(place, holderKeygenOptionsSchema, raw);
  const kdf = kdfSettings(place, opts);
  const path = absolutePath(opts.out);
  await assertAbsent(`cli/${place}`, path);
  const passphrase = await newPassphrase(
    { io, file: opts.passphraseFile },
    `the ${role} key of ${opts.id}`,
  );
  let key: ReturnType<typeof generateHolderKey> | undefined;
  try {
    key = generateHolderKey(role === 'holder' ? 'holder-key' : 'officer-key');
    const file = key.seal(passphrase, kdf); // consumes the passphrase
    await writeKeyFile(path, file);
    const record = {
      role,
      name: opts.id,
      keyId: key.keyId,
      publicKey: Buffer.from(key.publicKey).toString('hex'),
    };
    io.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
    io.stderr.write(`${role} key file written to ${path}\n`);
  } finally {
    passphrase.fill(0);
    key?.wipe();
  }
}

export function registerHolderKeygen(program: Command, io: CliIo, role: HolderRole): void {
  const what =
    role === 'holder'
      ? 'a key holder key (signs activations, pause, resume)'
      : 'a risk officer key (signs policies, pause)';
  addCommonOptions(
    program
      .command(`${role}-keygen`)
      .description(`make ${what}: an encrypted key file, print the public key and key id`)
      .requiredOption('--out <file>', 'path of the new key file (never overwritten)')
      .requiredOption('--id <name>', 'a label for the person (printed in the pinning record)'),
  ).action((opts: unknown) => runHolderKeygen(role, opts, io));
}

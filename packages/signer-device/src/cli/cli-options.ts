/**
 * Option handling shared by the commands: the common options every command takes (`--network`,
 * `--passphrase-file`, the hidden test-only KDF switch), zod validation of what commander
 * collected (a failure is a usage error, exit code 2), and the KDF settings that follow.
 * docs/cli.md §3.
 */
import { isAbsolute, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import type { KdfParams } from '../keystore/key-file-format.js';
import { usageError } from './cli-errors.js';

export const NETWORK_CHOICES = Object.freeze(['mainnet', 'testnet', 'signet', 'regtest'] as const);

/**
 * The hidden switch that lowers scrypt to N = 2^10 when sealing AND opening files. Test-only: a
 * file made with it is about 128 times cheaper to brute-force than a default one. Refused on
 * mainnet. Not shown by --help; documented in docs/cli.md §3 as test-only.
 */
export const INSECURE_TEST_KDF_FLAG = '--insecure-test-kdf';
export const TEST_KDF: KdfParams = Object.freeze({ N: 2 ** 10, r: 8, p: 1 });

/** What commander hands an action for the common options. */
export const commonOptionsSchema = z.object({
  network: z.enum(NETWORK_CHOICES),
  passphraseFile: z.string().min(1).max(4096).optional(),
  insecureTestKdf: z.boolean().optional(),
});
export type CommonOptions = z.output<typeof commonOptionsSchema>;

/** Adds --network (required), --passphrase-file and the hidden test switch. */
export function addCommonOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--network <network>', 'the network of the keys and documents')
        .choices(NETWORK_CHOICES)
        .makeOptionMandatory(),
    )
    .option(
      '--passphrase-file <path>',
      'AUTOMATION/TESTS ONLY: read the passphrase from a 0600 file instead of the console',
    )
    .addOption(new Option(INSECURE_TEST_KDF_FLAG, 'tests only: weak scrypt').hideHelp());
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 4)
    .map((i) => `${i.path.length === 0 ? '(options)' : `--${i.path.join('.')}`}: ${i.message}`)
    .join('; ');
}

/** Validates an action's options with `schema`; a mismatch is a usage error naming the options. */
export function parseOptions<S extends z.ZodType>(
  place: string,
  schema: S,
  raw: unknown,
): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    throw usageError(place, `expected valid options, got ${describeIssues(r.error)}`);
  }
  return r.data;
}

export interface KdfSettings {
  readonly kdf?: KdfParams;
  readonly allowWeakKdfForTests?: boolean;
}

/** KDF settings for sealing and opening: the defaults, or the weak test ones (never mainnet). */
export function kdfSettings(place: string, common: CommonOptions): KdfSettings {
  if (common.insecureTestKdf !== true) return {};
  if (common.network === 'mainnet') {
    throw usageError(
      place,
      `expected ${INSECURE_TEST_KDF_FLAG} only off mainnet, got it with --network mainnet`,
    );
  }
  return { kdf: TEST_KDF, allowWeakKdfForTests: true };
}

/** An absolute path for a path typed relative to the working directory. */
export function absolutePath(path: string): string {
  return isAbsolute(path) ? path : resolve(path);
}

/** An integer option given as decimal text (commander passes strings). */
export const decimalInt = (max: number) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, 'expected a decimal integer without leading zeros')
    .transform(Number)
    .pipe(z.number().int().min(0).max(max));

/** Lower-case or upper-case hex of exactly `n` bytes, returned as bytes. */
export const hexOfBytes = (n: number) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${2 * n}}$`), `expected ${n} bytes as ${2 * n} hex digits`)
    .transform((s) => Uint8Array.from(Buffer.from(s, 'hex')));

/**
 * `keyline-signer sign-activation --network <n> --key <holder file> --challenge <text | ->`: the
 * second holder signs the activation challenge a device's console shows (the printed
 * `KEYLINE ACTIVATION v1` block; `-` reads it from stdin). The block's checksum is checked
 * before anything is signed; the content is echoed on stderr so the holder sees which device and
 * expiry they approve. Prints the signed activation as JSON, byte fields in lower-case hex:
 * `{deviceId, challenge, bootNonce, expiresAt, holderKeyId, signature}`. docs/cli.md §2.4.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { type SignedActivation, signActivation } from '../device/activation.js';
import { parseActivationDisplay } from '../device/activation-display.js';
import { SignerError } from '../errors.js';
import { openHolderKey } from '../keystore/holder-key.js';
import { readKeyFile } from '../keystore/key-file.js';
import type { CliIo } from './cli-io.js';
import {
  absolutePath,
  addCommonOptions,
  commonOptionsSchema,
  kdfSettings,
  parseOptions,
} from './cli-options.js';
import { assertKind, existingPassphrase } from './cli-passphrase.js';

const PLACE = 'sign-activation';

export const signActivationOptionsSchema = commonOptionsSchema.extend({
  key: z.string().min(1).max(4096),
  challenge: z.string().min(1).max(4096),
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The JSON form of a signed activation (hex byte fields). */
export function signedActivationToJson(s: SignedActivation): Record<string, string | number> {
  return {
    deviceId: s.deviceId,
    challenge: hex(s.challenge),
    bootNonce: hex(s.bootNonce),
    expiresAt: s.expiresAt,
    holderKeyId: s.holderKeyId,
    signature: hex(s.signature),
  };
}

/** Parses the JSON form back (for the coordinator side and the tests). */
export const signedActivationJson = z.strictObject({
  deviceId: z.string(),
  challenge: z.string().regex(/^[0-9a-f]{64}$/),
  bootNonce: z.string().regex(/^[0-9a-f]{64}$/),
  expiresAt: z.number().int().min(0),
  holderKeyId: z.string(),
  signature: z.string().regex(/^[0-9a-f]{128}$/),
});

export function signedActivationFromJson(value: unknown): SignedActivation {
  const r = signedActivationJson.safeParse(value);
  if (!r.success) {
    throw new SignerError(
      'BAD_SIGNED_DOCUMENT',
      `cli/${PLACE}: expected a signed activation in JSON form, got a problem at ${r.error.issues[0]?.path.join('.') ?? '?'}`,
    );
  }
  const j = r.data;
  const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
  return {
    deviceId: j.deviceId,
    challenge: bytes(j.challenge),
    bootNonce: bytes(j.bootNonce),
    expiresAt: j.expiresAt,
    holderKeyId: j.holderKeyId,
    signature: bytes(j.signature),
  };
}

export async function runSignActivation(raw: unknown, io: CliIo): Promise<void> {
  const opts = parseOptions(PLACE, signActivationOptionsSchema, raw);
  const kdf = kdfSettings(PLACE, opts);
  const text = opts.challenge === '-' ? await io.readStdin() : opts.challenge;
  const pending = parseActivationDisplay(text); // checksum checked: BAD_SIGNED_DOCUMENT
  const now = io.now();
  io.stderr.write(
    `Activating device ${pending.deviceId}, challenge valid until ${new Date(
      pending.expiresAt * 1000,
    ).toISOString()} (${pending.expiresAt}).\n`,
  );
  if (now >= pending.expiresAt) {
    io.stderr.write('warning: this challenge has already expired; the device will refuse it.\n');
  }
  const file = await readKeyFile(absolutePath(opts.key), kdf);
  assertKind(PLACE, file.kind, 'holder-key');
  const passphrase = await existingPassphrase({ io, file: opts.passphraseFile }, 'your holder key');
  const holder = openHolderKey(file, passphrase, 'holder-key', kdf); // consumes the passphrase
  try {
    const signed = signActivation(pending, holder);
    io.stdout.write(`${JSON.stringify(signedActivationToJson(signed), null, 2)}\n`);
  } finally {
    holder.wipe();
  }
}

export function registerSignActivation(program: Command, io: CliIo): void {
  addCommonOptions(
    program
      .command('sign-activation')
      .description("sign a device's activation challenge with your holder key (second holder)")
      .requiredOption('--key <file>', 'your holder key file')
      .requiredOption(
        '--challenge <text>',
        'the KEYLINE ACTIVATION v1 block the device shows, or - to read it from stdin',
      ),
  ).action((opts: unknown) => runSignActivation(opts, io));
}

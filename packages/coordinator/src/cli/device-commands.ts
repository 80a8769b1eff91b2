/**
 * `device enroll` / `device list`, and sending one operator request (a policy, a wallet
 * registration) to every enrolled device over its serial line.
 */
import { readFileSync } from 'node:fs';
import { SerialTransport } from '@keyline/wire-protocol/serial';
import { hexToBytes } from '@noble/hashes/utils.js';
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { CoordinatorConfig } from '../daemon/config.js';
import { readSecretKeyFile } from '../daemon/key-files.js';
import { type EnrolledDevice, enrolledDevices } from '../daemon/wallet-from-devices.js';
import { CoordinatorError } from '../errors.js';
import { issuesWhere } from '../risk/config.js';
import { DeviceLink } from '../signing/device-link.js';
import type { Database } from '../storage/database.js';
import type { Schema } from '../storage/schema.js';
import type { CliIo } from './main.js';

/** `[fingerprint/48'/coin'/0'/2']xpub`, as `keyline-signer keygen` prints it. */
const KEY_ORIGIN =
  /^\[([0-9a-f]{8})\/48['h]\/(0|1)['h]\/0['h]\/2['h]\]([1-9A-HJ-NP-Za-km-z]{100,120})$/;

const enrollSchema = z.strictObject({
  config: z.string(),
  id: z.string().regex(/^[\x21-\x7e]{1,64}$/, 'expected 1..64 printable ASCII characters'),
  serial: z.string().min(1).max(4096),
  baud: z.coerce.number().int().min(1200).max(4_000_000),
  linkKey: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'expected the device link public key as 64 hex characters'),
  keyOrigin: z.string().regex(KEY_ORIGIN, "expected [fingerprint/48'/coin'/0'/2']xpub"),
});

const bundleSchema = z.looseObject({
  document: z
    .string()
    .regex(/^([0-9a-f]{2})+$/)
    .optional(),
  approvals: z
    .array(
      z.strictObject({
        keyId: z.string().min(1).max(64),
        signature: z.string().regex(/^[0-9a-f]{128}$/),
      }),
    )
    .min(1)
    .max(16),
});

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`));
const activationFile = z.strictObject({
  deviceId: z.string().min(1).max(64),
  challenge: hex(64),
  bootNonce: hex(64),
  expiresAt: z.number().int().min(0),
  holderKeyId: z.string().min(1).max(64),
  signature: hex(128),
});

type WithConfig = <T>(
  path: string,
  io: CliIo,
  fn: (c: CoordinatorConfig) => Promise<T>,
) => Promise<T>;
type WithDb = <T>(c: CoordinatorConfig, fn: (d: Database) => Promise<T>) => Promise<T>;

export function deviceCommand(
  program: Command,
  io: CliIo,
  withConfig: WithConfig,
  withDb: WithDb,
  json: (x: unknown) => string,
): void {
  const device = program.command('device').description('enrolled signer devices');
  device
    .command('enroll')
    .description(
      'pin a signer device: its serial line, its link public key and its account key origin',
    )
    .requiredOption('--config <file>')
    .requiredOption('--id <id>', 'the device id (as in the device policy)')
    .requiredOption('--serial <path>', 'serial device path, e.g. /dev/ttyACM0')
    .option('--baud <n>', 'line speed', '115200')
    .requiredOption(
      '--link-key <hex>',
      "the device's link public key (keyline-signer keygen output)",
    )
    .requiredOption(
      '--key-origin <origin>',
      "[fingerprint/48'/coin'/0'/2']xpub (keyline-signer keygen output)",
    )
    .action((raw: unknown) => {
      const parsed = enrollSchema.safeParse(raw);
      if (!parsed.success)
        throw new CoordinatorError(
          'BAD_CONFIG',
          `device enroll: expected valid options, got issues at ${issuesWhere(parsed.error)}`,
        );
      const o = parsed.data;
      return withConfig(o.config, io, (c) =>
        withDb(c, async (d) => {
          const m = KEY_ORIGIN.exec(o.keyOrigin);
          const [fp, coin, xpub] = [m?.[1], m?.[2], m?.[3]];
          if (fp === undefined || coin === undefined || xpub === undefined)
            throw new CoordinatorError('BAD_CONFIG', 'device enroll: bad key origin');
          if ((coin === '0') !== (c.network === 'mainnet')) {
            throw new CoordinatorError(
              'BAD_CONFIG',
              `device enroll: expected coin type ${c.network === 'mainnet' ? 0 : 1} for ${c.network}, got ${coin}`,
            );
          }
          const existing = await enrolledDevices(d.db);
          if (existing.length >= 3)
            throw new CoordinatorError(
              'BAD_CONFIG',
              'device enroll: expected fewer than three enrolled devices, got three (2-of-3)',
            );
          await d.db
            .insertInto('devices')
            .values({
              id: o.id,
              link_public_key: hexToBytes(o.linkKey),
              serial_path: o.serial,
              baud: BigInt(o.baud),
              fingerprint: hexToBytes(fp),
              xpub,
              state: 'enrolled',
              last_seen: null,
              policy_version: null,
              enrolled_at: BigInt(Date.now()),
            })
            .execute()
            .catch((e: unknown) => {
              throw new CoordinatorError(
                'DUPLICATE',
                `device enroll: expected a new device id and link key, got a duplicate (${e instanceof Error ? e.message.slice(0, 120) : ''})`,
              );
            });
          io.stdout.write(json({ enrolled: o.id, devices: existing.length + 1 }));
        }),
      );
    });
  device
    .command('activate')
    .description(
      "send a second holder's signed activation (keyline-signer sign-activation output) to a device",
    )
    .requiredOption('--config <file>')
    .requiredOption('--id <id>', 'the enrolled device id')
    .requiredOption('--activation <file>', 'the signed activation JSON')
    .action((o: { config: string; id: string; activation: string }) =>
      withConfig(o.config, io, (c) =>
        withDb(c, async (d) => {
          const parsed = activationFile.safeParse(JSON.parse(readFileSync(o.activation, 'utf8')));
          if (!parsed.success) {
            throw new CoordinatorError(
              'BAD_CONFIG',
              `device activate: expected a signed activation at ${o.activation}, got issues at ${issuesWhere(parsed.error)}`,
            );
          }
          const a = parsed.data;
          const result = await callOne(c, d.db, o.id, 'activate', {
            activation: {
              deviceId: a.deviceId,
              challenge: hexToBytes(a.challenge),
              bootNonce: hexToBytes(a.bootNonce),
              expiresAt: a.expiresAt,
              holderKeyId: a.holderKeyId,
              signature: hexToBytes(a.signature),
            },
          });
          io.stdout.write(json({ device: o.id, ...result }));
        }),
      ),
    );
  device
    .command('list')
    .requiredOption('--config <file>')
    .action((o: { config: string }) =>
      withConfig(o.config, io, (c) =>
        withDb(c, async (d) => {
          const rows = await d.db.selectFrom('devices').selectAll().orderBy('id').execute();
          io.stdout.write(
            json(
              rows.map((r) => ({
                id: r.id,
                serial: r.serial_path,
                baud: r.baud,
                state: r.state,
                lastSeen: r.last_seen,
                policyVersion: r.policy_version,
                xpub: r.xpub,
              })),
            ),
          );
        }),
      ),
    );
}

/** Open one enrolled device's line, make one call, close. */
export async function callOne(
  c: CoordinatorConfig,
  db: Kysely<Schema>,
  id: string,
  method: 'activate',
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const dev = (await enrolledDevices(db)).find((x) => x.id === id);
  if (dev === undefined) {
    throw new CoordinatorError(
      'NOT_FOUND',
      `device: expected an enrolled device '${id}', got none`,
    );
  }
  const key = readSecretKeyFile(c.keys.linkKeyFile, 'link');
  const link = serialLink(dev, key);
  try {
    return (await link.call(method, body as never)) as Record<string, unknown>;
  } finally {
    await link.close();
    key.fill(0);
  }
}

/** A link to one enrolled device over its serial line (the CLI owns the line while it runs). */
function serialLink(dev: EnrolledDevice, key: Uint8Array): DeviceLink {
  return new DeviceLink(
    {
      deviceId: dev.id,
      serialPath: dev.serialPath,
      baud: dev.baud,
      linkPublicKey: dev.linkPublicKey,
    },
    {
      coordinatorKey: key,
      open: (path, baud) => SerialTransport.open({ path, baudRate: baud }),
      now: Date.now,
    },
  );
}

/**
 * Send `register_wallet` or `update_policy` to every enrolled device, with the approvals (and,
 * for a policy, the document) read from a bundle file. Returns each device's answer or error.
 */
export async function sendToDevices(
  c: CoordinatorConfig,
  db: Kysely<Schema>,
  method: 'register_wallet' | 'update_policy',
  params:
    | ((approvals: { keyId: string; signature: Uint8Array }[]) => Record<string, unknown>)
    | null,
  bundlePath: string,
): Promise<Record<string, unknown>> {
  const parsed = bundleSchema.safeParse(JSON.parse(readFileSync(bundlePath, 'utf8')));
  if (!parsed.success)
    throw new CoordinatorError(
      'BAD_CONFIG',
      `${method}: expected a bundle file at ${bundlePath}, got issues at ${issuesWhere(parsed.error)}`,
    );
  const approvals = parsed.data.approvals.map((a) => ({
    keyId: a.keyId,
    signature: hexToBytes(a.signature),
  }));
  let body: Record<string, unknown>;
  if (params !== null) body = params(approvals);
  else {
    if (parsed.data.document === undefined)
      throw new CoordinatorError('BAD_CONFIG', `${method}: expected a document in the bundle`);
    body = { document: hexToBytes(parsed.data.document), approvals };
  }
  const key = readSecretKeyFile(c.keys.linkKeyFile, 'link');
  const out: Record<string, unknown> = {};
  try {
    for (const dev of await enrolledDevices(db)) {
      const link = serialLink(dev, key);
      try {
        out[dev.id] = await link.call(method, body as never);
      } catch (e) {
        out[dev.id] = { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
      } finally {
        await link.close();
      }
    }
  } finally {
    key.fill(0);
  }
  return out;
}

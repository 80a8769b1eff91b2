/**
 * `keyline-signer policy verify --network <n> --bundle <file> --officers <pinned.json>
 * --threshold <M> --device <id> [--now <unix s>] [--current-version <v> --current-hash <hex>]`:
 * runs the device's own check (`verifyPolicyUpdate`) on a bundle, offline, so officers learn
 * before the coordinator does whether a device would accept it. `pinned.json` is the officer list
 * the devices pin: `[{"keyId": "...", "publicKey": "<64 hex>"}, ...]`. Refusals exit 1 with the
 * device's code and reason (UNAUTHORIZED THRESHOLD_NOT_MET, STALE_POLICY ...). docs/cli.md §3.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { SignerError } from '../errors.js';
import { type CurrentPolicy, MAX_APPROVALS, verifyPolicyUpdate } from '../policy/signed-policy.js';
import { usageError } from './cli-errors.js';
import { readTextFile } from './cli-files.js';
import type { CliIo } from './cli-io.js';
import {
  addCommonOptions,
  commonOptionsSchema,
  decimalInt,
  hexOfBytes,
  parseOptions,
} from './cli-options.js';
import { MAX_BUNDLE_FILE_BYTES, parseBundleFile, toHex } from './policy-files.js';

const PLACE = 'policy-verify';
const MAX_OFFICERS = 32;

export const policyVerifyOptionsSchema = commonOptionsSchema.extend({
  bundle: z.string().min(1).max(4096),
  officers: z.string().min(1).max(4096),
  threshold: decimalInt(MAX_OFFICERS).pipe(z.number().min(1)),
  device: z.string().regex(/^[\x21-\x7e]{1,64}$/, 'expected a device id'),
  now: decimalInt(2 ** 40).optional(),
  currentVersion: decimalInt(Number.MAX_SAFE_INTEGER).optional(),
  currentHash: hexOfBytes(32).optional(),
});

export const pinnedOfficersJson = z
  .array(
    z.strictObject({
      keyId: z.string().regex(/^[\x21-\x7e]{1,64}$/),
      publicKey: z.string().regex(/^[0-9a-f]{64}$/, 'expected 32 bytes as lower-case hex'),
    }),
  )
  .min(1)
  .max(MAX_OFFICERS);

async function readOfficers(path: string) {
  const text = await readTextFile(`cli/${PLACE}`, path, 64 * 1024);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SignerError(
      'BAD_CONFIG',
      `cli/${PLACE}: ${path}: expected JSON, got text that does not parse`,
    );
  }
  const r = pinnedOfficersJson.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new SignerError(
      'BAD_CONFIG',
      `cli/${PLACE}: ${path}: expected [{keyId, publicKey}] (1..${MAX_OFFICERS}), got a problem at '${i?.path.join('.') ?? ''}': ${i?.message ?? 'invalid'}`,
    );
  }
  return r.data.map((o) => ({
    keyId: o.keyId,
    publicKey: Uint8Array.from(Buffer.from(o.publicKey, 'hex')),
  }));
}

export async function runPolicyVerify(raw: unknown, io: CliIo): Promise<void> {
  const opts = parseOptions(PLACE, policyVerifyOptionsSchema, raw);
  if ((opts.currentVersion === undefined) !== (opts.currentHash === undefined)) {
    throw usageError(PLACE, 'expected --current-version and --current-hash together, or neither');
  }
  const current: CurrentPolicy | null =
    opts.currentVersion === undefined || opts.currentHash === undefined
      ? null
      : { version: opts.currentVersion, hash: opts.currentHash };
  const officers = await readOfficers(opts.officers);
  const bundle = parseBundleFile(
    `cli/${PLACE}`,
    await readTextFile(`cli/${PLACE}`, opts.bundle, MAX_BUNDLE_FILE_BYTES),
  );
  if (bundle.approvals.length > MAX_APPROVALS) {
    throw new SignerError(
      'BAD_SIGNED_DOCUMENT',
      `cli/${PLACE}: expected at most ${MAX_APPROVALS} approvals`,
    );
  }
  const now = opts.now ?? io.now();
  const verified = verifyPolicyUpdate(
    { documentBytes: bundle.documentBytes, approvals: bundle.approvals },
    { officers, threshold: opts.threshold, network: opts.network },
    current,
    opts.device,
    now,
  );
  io.stdout.write(
    `${[
      `OK: device ${opts.device} would accept this policy (checked at ${now})`,
      `policy version  ${verified.document.version}`,
      `document sha256 ${toHex(verified.hash)}`,
      `signers         ${verified.signers.join(', ')} (${verified.signers.length} of threshold ${opts.threshold})`,
      `expires         ${verified.document.expiresAt}`,
    ].join('\n')}\n`,
  );
}

export function registerPolicyVerify(policy: Command, io: CliIo): void {
  addCommonOptions(
    policy
      .command('verify')
      .description('check a bundle exactly as a device would (M-of-N officers, chain, expiry)')
      .requiredOption('--bundle <file>', 'the bundle from `policy bundle`')
      .requiredOption('--officers <file>', 'pinned officers: [{keyId, publicKey}] JSON')
      .requiredOption('--threshold <M>', 'distinct officer signatures required')
      .requiredOption('--device <id>', 'the device id to check for')
      .option('--now <seconds>', 'unix time to check expiry at (default: this clock)')
      .option('--current-version <v>', "the device's current policy version")
      .option('--current-hash <hex>', "the device's current policy hash (sha256, 64 hex)"),
  ).action((opts: unknown) => runPolicyVerify(opts, io));
}

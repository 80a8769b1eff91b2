/**
 * `keyline-signer policy sign --network <n> --key <officer file> --document <policy.json>
 * [--out <file>]`: converts the JSON policy to its canonical CBOR bytes, shows what is being
 * approved (version, network, devices, validity, hash) on stderr, and signs
 * "keyline/policy/v1" || sha256(bytes) with the officer key. The approval file goes to --out
 * (never overwritten) or stdout. A document for another network than --network is refused
 * (WRONG_NETWORK). docs/cli.md §3.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { SignerError } from '../errors.js';
import { openHolderKey } from '../keystore/holder-key.js';
import { readKeyFile } from '../keystore/key-file.js';
import { policyApprovalMessage } from '../policy/signed-policy.js';
import { readTextFile, writeNewFile } from './cli-files.js';
import type { CliIo } from './cli-io.js';
import {
  absolutePath,
  addCommonOptions,
  commonOptionsSchema,
  kdfSettings,
  parseOptions,
} from './cli-options.js';
import { assertKind, existingPassphrase } from './cli-passphrase.js';
import { approvalToJson, toHex } from './policy-files.js';
import { type EncodedPolicy, encodePolicyJson, MAX_POLICY_JSON_BYTES } from './policy-json.js';

const PLACE = 'policy-sign';

export const policySignOptionsSchema = commonOptionsSchema.extend({
  key: z.string().min(1).max(4096),
  document: z.string().min(1).max(4096),
  out: z.string().min(1).max(4096).optional(),
});

/** What the officer approves, one `label value` line each. */
export function describePolicy(p: EncodedPolicy): string {
  const iso = (t: number) => new Date(t * 1000).toISOString();
  return [
    `policy version  ${p.version}`,
    `network         ${p.network}`,
    `devices         ${p.devices.join(', ')}`,
    `issued          ${iso(p.issuedAt)} (${p.issuedAt})`,
    `expires         ${iso(p.expiresAt)} (${p.expiresAt})`,
    `document sha256 ${toHex(p.hash)}`,
  ].join('\n');
}

/** Reads and encodes a JSON policy, refusing one for another network. */
export async function loadPolicyJson(
  place: string,
  path: string,
  network: string,
): Promise<EncodedPolicy> {
  const text = await readTextFile(`cli/${place}`, path, MAX_POLICY_JSON_BYTES);
  const policy = encodePolicyJson(`cli/${place}`, text);
  if (policy.network !== network) {
    throw new SignerError(
      'WRONG_NETWORK',
      `cli/${place}: expected a ${network} policy, got one for ${policy.network}`,
      { expected: network, got: policy.network },
    );
  }
  return policy;
}

export async function runPolicySign(raw: unknown, io: CliIo): Promise<void> {
  const opts = parseOptions(PLACE, policySignOptionsSchema, raw);
  const kdf = kdfSettings(PLACE, opts);
  const policy = await loadPolicyJson(PLACE, opts.document, opts.network);
  io.stderr.write(`Approving:\n${describePolicy(policy)}\n`);
  const file = await readKeyFile(absolutePath(opts.key), kdf);
  assertKind(PLACE, file.kind, 'officer-key');
  const passphrase = await existingPassphrase(
    { io, file: opts.passphraseFile },
    'your officer key',
  );
  const officer = openHolderKey(file, passphrase, 'officer-key', kdf); // consumes the passphrase
  let text: string;
  try {
    const signature = officer.sign(policyApprovalMessage(policy.hash));
    text = approvalToJson(policy.hash, { keyId: officer.keyId, signature });
  } finally {
    officer.wipe();
  }
  if (opts.out === undefined) {
    io.stdout.write(text);
  } else {
    await writeNewFile(`cli/${PLACE}`, opts.out, text);
    io.stdout.write(`approval written to ${absolutePath(opts.out)}\n`);
  }
}

export function registerPolicySign(policy: Command, io: CliIo): void {
  addCommonOptions(
    policy
      .command('sign')
      .description('approve a policy document (JSON form) with your officer key')
      .requiredOption('--key <file>', 'your officer key file')
      .requiredOption('--document <file>', 'the policy document, JSON form (docs/cli.md)')
      .option('--out <file>', 'write the approval here (never overwritten) instead of stdout'),
  ).action((opts: unknown) => runPolicySign(opts, io));
}

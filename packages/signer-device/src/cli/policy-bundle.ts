/**
 * `keyline-signer policy bundle --network <n> --document <policy.json> --approval <file>...
 * --out <file>`: re-encodes the JSON policy, checks that every approval names this document's
 * hash and that no officer appears twice, and writes the bundle (document bytes + approvals)
 * the coordinator sends with `update_policy`. Signatures are NOT checked here (the pinned keys
 * are): run `policy verify` on the bundle before it leaves the room. docs/cli.md §3.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { SignerError } from '../errors.js';
import { MAX_APPROVALS } from '../policy/signed-policy.js';
import { readTextFile, writeNewFile } from './cli-files.js';
import type { CliIo } from './cli-io.js';
import {
  absolutePath,
  addCommonOptions,
  commonOptionsSchema,
  parseOptions,
} from './cli-options.js';
import {
  type ApprovalFile,
  bundleToJson,
  MAX_APPROVAL_FILE_BYTES,
  parseApprovalFile,
  toHex,
} from './policy-files.js';
import { describePolicy, loadPolicyJson } from './policy-sign.js';

const PLACE = 'policy-bundle';

export const policyBundleOptionsSchema = commonOptionsSchema.extend({
  document: z.string().min(1).max(4096),
  approval: z.array(z.string().min(1).max(4096)).min(1).max(MAX_APPROVALS),
  out: z.string().min(1).max(4096),
});

export async function runPolicyBundle(raw: unknown, io: CliIo): Promise<void> {
  const opts = parseOptions(PLACE, policyBundleOptionsSchema, raw);
  const policy = await loadPolicyJson(PLACE, opts.document, opts.network);
  const hash = toHex(policy.hash);
  const approvals: ApprovalFile[] = [];
  for (const path of opts.approval) {
    const text = await readTextFile(`cli/${PLACE}`, path, MAX_APPROVAL_FILE_BYTES);
    const a = parseApprovalFile(`cli/${PLACE}: ${path}`, text);
    if (a.documentHash !== hash) {
      throw new SignerError(
        'BAD_SIGNED_DOCUMENT',
        `cli/${PLACE}: ${path}: expected an approval of document ${hash}, got one of ${a.documentHash}`,
      );
    }
    if (approvals.some((b) => b.keyId === a.keyId)) {
      throw new SignerError(
        'BAD_SIGNED_DOCUMENT',
        `cli/${PLACE}: ${path}: expected one approval per officer, got a second one by ${a.keyId}`,
      );
    }
    approvals.push(a);
  }
  await writeNewFile(`cli/${PLACE}`, opts.out, bundleToJson(policy.bytes, approvals));
  io.stdout.write(
    `${describePolicy(policy)}\napprovals       ${approvals.map((a) => a.keyId).join(', ')}\nbundle written to ${absolutePath(opts.out)}\n`,
  );
}

export function registerPolicyBundle(policy: Command, io: CliIo): void {
  addCommonOptions(
    policy
      .command('bundle')
      .description('combine a policy document and its officer approvals into one bundle')
      .requiredOption('--document <file>', 'the policy document, JSON form')
      .requiredOption(
        '--approval <file...>',
        'approval files from `policy sign` (repeat or list several)',
      )
      .requiredOption('--out <file>', 'the bundle file (never overwritten)'),
  ).action((opts: unknown) => runPolicyBundle(opts, io));
}

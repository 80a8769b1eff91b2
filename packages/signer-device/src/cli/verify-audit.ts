/**
 * `keyline-signer verify-audit --network <n> --export <file> --audit-key <hex> [--from-seq <n>]`:
 * verifies an exported audit range — the deterministic CBOR of a `get_audit_log` result
 * `{entries, head}`, stored as received — against the device's audit public key (printed at
 * keygen). Prints the verified head, or exits 1 with AUDIT_CHAIN_BROKEN and the first seq where
 * the chain breaks. `--from-seq` is the seq the range was requested from (so a dropped first
 * entry is caught). docs/cli.md §2.6.
 */
import { decodeStrict } from '@keyline/wire-protocol';
import type { Command } from 'commander';
import { z } from 'zod';
import { verifyAuditChain } from '../audit/audit-verify.js';
import { SignerError } from '../errors.js';
import { readBoundedFile } from './cli-files.js';
import type { CliIo } from './cli-io.js';
import {
  addCommonOptions,
  commonOptionsSchema,
  decimalInt,
  hexOfBytes,
  parseOptions,
} from './cli-options.js';
import { toHex } from './policy-files.js';

const PLACE = 'verify-audit';
/** The wire's CBOR limit bounds one export page. */
export const MAX_AUDIT_EXPORT_BYTES = 8 * 1024 * 1024 + 64 * 1024;

export const verifyAuditOptionsSchema = commonOptionsSchema.extend({
  export: z.string().min(1).max(4096),
  auditKey: hexOfBytes(32),
  fromSeq: decimalInt(Number.MAX_SAFE_INTEGER).optional(),
});

export async function runVerifyAudit(raw: unknown, io: CliIo): Promise<void> {
  const opts = parseOptions(PLACE, verifyAuditOptionsSchema, raw);
  const bytes = await readBoundedFile(`cli/${PLACE}`, opts.export, MAX_AUDIT_EXPORT_BYTES);
  let decoded: unknown;
  try {
    decoded = decodeStrict(bytes);
  } catch {
    throw new SignerError(
      'BAD_AUDIT_LOG',
      `cli/${PLACE}: expected the strict CBOR of a get_audit_log result, got bytes it refuses`,
    );
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) {
    throw new SignerError('BAD_AUDIT_LOG', `cli/${PLACE}: expected a map {entries, head}`);
  }
  const keys = Object.keys(decoded).sort().join(',');
  if (keys !== 'entries,head') {
    throw new SignerError(
      'BAD_AUDIT_LOG',
      `cli/${PLACE}: expected exactly the keys entries, head; got ${keys}`,
    );
  }
  const { entries, head } = decoded as { entries: unknown; head: unknown };
  if (!Array.isArray(entries)) {
    throw new SignerError('BAD_AUDIT_LOG', `cli/${PLACE}: expected entries as an array`);
  }
  const range = verifyAuditChain(
    entries,
    head,
    opts.auditKey,
    opts.fromSeq === undefined ? {} : { fromSeq: opts.fromSeq },
  );
  io.stdout.write(
    `${[
      'OK: audit range verifies under the audit key',
      `entries    ${range.count}${range.firstSeq === null ? '' : ` (seq ${range.firstSeq}..${range.headSeq})`}`,
      `head seq   ${range.headSeq}`,
      `head hash  ${toHex(range.headHash)}`,
    ].join('\n')}\n`,
  );
}

export function registerVerifyAudit(program: Command, io: CliIo): void {
  addCommonOptions(
    program
      .command('verify-audit')
      .description('verify an exported audit log range (hash chain + signed head)')
      .requiredOption('--export <file>', 'CBOR of a get_audit_log result {entries, head}')
      .requiredOption('--audit-key <hex>', "the device's audit public key (64 hex, from keygen)")
      .option('--from-seq <n>', 'the seq the range was requested from'),
  ).action((opts: unknown) => runVerifyAudit(opts, io));
}

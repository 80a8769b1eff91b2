import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeCanonical } from '@keyline/wire-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { auditPublicKeyOf } from '../../src/audit/audit-entry.js';
import { logWith, SEED } from '../audit/fixtures.js';
import { runCli, tempDir } from './helpers.js';

const dirs: (() => void)[] = [];
const fresh = () => {
  const t = tempDir();
  dirs.push(t.cleanup);
  return t.dir;
};
afterEach(() => {
  while (dirs.length > 0) dirs.pop()?.();
});

const KEY = Buffer.from(auditPublicKeyOf(SEED)).toString('hex');

async function exportFile(
  dir: string,
  edit?: (x: { entries: Record<string, unknown>[]; head: Record<string, unknown> }) => void,
) {
  const { log } = await logWith(8);
  const ex = log.exportRange(0, 1000);
  const copy = {
    entries: ex.entries.map((e) => ({ ...e })) as Record<string, unknown>[],
    head: { ...ex.head } as Record<string, unknown>,
  };
  edit?.(copy);
  const path = join(dir, 'audit.cbor');
  writeFileSync(path, encodeCanonical(copy));
  return path;
}

const args = (path: string, key = KEY) => [
  'verify-audit',
  '--network',
  'regtest',
  '--export',
  path,
  '--audit-key',
  key,
];

describe('keyline-signer verify-audit', () => {
  it('prints the verified head of a good export', async () => {
    const r = await runCli(args(await exportFile(fresh())));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^OK: audit range verifies/);
    expect(r.out).toMatch(/head seq\s+7\n/);
    expect(r.out).toMatch(/entries\s+8 \(seq 0\.\.7\)/);
  });

  it('a tampered entry exits 1 with AUDIT_CHAIN_BROKEN and its seq', async () => {
    const path = await exportFile(fresh(), (x) => {
      const e = x.entries[3];
      if (e !== undefined) e.time = (e.time as number) + 1;
    });
    const r = await runCli(args(path));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^AUDIT_CHAIN_BROKEN: audit\/verify: seq 3: .*\(seq 3\)\n$/);
  });

  it('a removed entry and a wrong key are caught', async () => {
    const removed = await exportFile(fresh(), (x) => {
      x.entries.splice(5, 1);
    });
    const r1 = await runCli(args(removed));
    expect(r1.code).toBe(1);
    expect(r1.err).toMatch(/\(seq 5\)/);
    const r2 = await runCli(args(await exportFile(fresh()), '22'.repeat(32)));
    expect(r2.code).toBe(1);
    expect(r2.err).toMatch(/^AUDIT_CHAIN_BROKEN: .*head signature/);
  });

  it('a dropped first entry is caught with --from-seq', async () => {
    const path = await exportFile(fresh(), (x) => {
      x.entries.shift();
    });
    const r = await runCli([...args(path), '--from-seq', '0']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\(seq 0\)/);
  });

  it('malformed export and bad key usage', async () => {
    const dir = fresh();
    const junk = join(dir, 'junk');
    writeFileSync(junk, Uint8Array.of(0xff, 0x00));
    const r = await runCli(args(junk));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^BAD_AUDIT_LOG: /);
    const k = await runCli(args(junk, 'zz'));
    expect(k.code).toBe(2);
  });
});

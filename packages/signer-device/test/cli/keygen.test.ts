import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseKeyFile } from '../../src/keystore/key-file.js';
import { wordsToEntropy } from '../../src/keystore/mnemonic.js';
import {
  ALL_OUTPUT,
  BACKUP_PASS,
  field,
  keygenIn,
  PASS,
  passphraseFile,
  runCli,
  tempDir,
  WEAK,
  wordsFrom,
} from './helpers.js';

const dirs: (() => void)[] = [];
const fresh = () => {
  const t = tempDir();
  dirs.push(t.cleanup);
  return t.dir;
};
afterEach(() => {
  while (dirs.length > 0) dirs.pop()?.();
});

describe('keyline-signer keygen', () => {
  it('writes both files, prints the public facts and the 24 words once', async () => {
    const dir = fresh();
    const out = await keygenIn(dir);
    const key = parseKeyFile(readFileSync(join(dir, 'device-key.json'), 'utf8'), {
      allowWeakKdfForTests: true,
    });
    const backup = parseKeyFile(readFileSync(join(dir, 'device-backup.json'), 'utf8'), {
      allowWeakKdfForTests: true,
    });
    expect(key.kind).toBe('device-key');
    expect(backup.kind).toBe('device-backup');
    if (!('network' in key)) throw new Error('device file expected');
    expect(field(out, 'account xpub')).toBe(key.public.accountXpub);
    expect(field(out, 'key origin')).toBe(
      `[${key.public.fingerprint}/48'/1'/0'/2']${key.public.accountXpub}`,
    );
    expect(field(out, 'link public key')).toBe(key.public.linkPublicKey);
    expect(field(out, 'audit public key')).toBe(key.public.auditPublicKey);
    const words = wordsFrom(out);
    expect(words.split(' ')).toHaveLength(24);
    expect(() => wordsToEntropy(words)).not.toThrow();
    // Shown once: each word line appears exactly once; the words are in no file.
    expect(out.split(words.split(' ')[0] ?? '').length).toBeGreaterThanOrEqual(2);
    const both =
      readFileSync(join(dir, 'device-key.json'), 'utf8') +
      readFileSync(join(dir, 'device-backup.json'), 'utf8');
    for (const w of new Set(words.split(' ')).values()) {
      if (w.length >= 5) expect(both).not.toContain(` ${w} `);
    }
    expect(out).toContain('RECOVERY WORDS');
  });

  it('never overwrites: a second keygen into the same directory fails (exit 1, IO)', async () => {
    const dir = fresh();
    await keygenIn(dir);
    const before = readFileSync(join(dir, 'device-key.json'), 'utf8');
    const r = await runCli(['keygen', '--network', 'regtest', '--out', dir, WEAK], {
      passphrases: [PASS, PASS, BACKUP_PASS, BACKUP_PASS],
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^IO: cli\/keygen: expected a new path/);
    expect(r.prompts).toHaveLength(0); // refused before any passphrase is asked
    expect(readFileSync(join(dir, 'device-key.json'), 'utf8')).toBe(before);
  });

  it('refuses two different passphrases at the repeat prompt', async () => {
    const dir = fresh();
    const r = await runCli(['keygen', '--network', 'regtest', '--out', dir, WEAK], {
      passphrases: [PASS, `${PASS}!`],
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^WRONG_PASSPHRASE: cli\/passphrase: expected the same passphrase twice/);
  });

  it('refuses the same passphrase for the key file and the backup', async () => {
    const dir = fresh();
    const r = await runCli(['keygen', '--network', 'regtest', '--out', dir, WEAK], {
      passphrases: [PASS, PASS, PASS, PASS],
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^BAD_KEY_FILE: ceremony\/keygen: expected the backup passphrase to differ/,
    );
    expect(wordsFrom(r.out)).toBe('');
  });

  it('reads passphrases from 0600 files with --passphrase-file (automation)', async () => {
    const dir = fresh();
    const p = passphraseFile(dir, 'p', PASS);
    const b = passphraseFile(dir, 'b', BACKUP_PASS);
    const r = await runCli([
      'keygen',
      '--network',
      'testnet',
      '--out',
      dir,
      WEAK,
      '--passphrase-file',
      p,
      '--backup-passphrase-file',
      b,
    ]);
    expect(r.code).toBe(0);
    expect(field(r.out, 'account xpub')).toMatch(/^tpub/);
  });

  it('bad usage exits 2: missing --out, unknown network, test KDF on mainnet', async () => {
    const dir = fresh();
    const a = await runCli(['keygen', '--network', 'regtest']);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/^BAD_CONFIG: cli\/usage: required option '--out <dir>'/);
    const b = await runCli(['keygen', '--network', 'moonnet', '--out', dir]);
    expect(b.code).toBe(2);
    const c = await runCli(['keygen', '--network', 'mainnet', '--out', dir, WEAK]);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(
      /^BAD_CONFIG: cli\/keygen: expected --insecure-test-kdf only off mainnet/,
    );
  });

  it('hides the test-only KDF switch from --help', async () => {
    const r = await runCli(['keygen', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('--out <dir>');
    expect(r.out).not.toContain('insecure');
  });

  it('never prints the passphrases', () => {
    const all = ALL_OUTPUT.join('');
    expect(all).not.toContain(PASS);
    expect(all).not.toContain(BACKUP_PASS);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ALL_OUTPUT,
  BACKUP_PASS,
  field,
  keygenIn,
  PASS,
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
const NEW_PASS = 'a new holder passphrase';

describe('keyline-signer restore', () => {
  it('keygen then restore from the backup gives the same xpub and keys', async () => {
    const a = fresh();
    const b = fresh();
    const made = await keygenIn(a);
    const xpub = field(made, 'account xpub');
    const r = await runCli(
      [
        'restore',
        '--network',
        'regtest',
        '--from-backup',
        join(a, 'device-backup.json'),
        '--out',
        b,
        '--expect-xpub',
        xpub,
        WEAK,
      ],
      { passphrases: [BACKUP_PASS, NEW_PASS, NEW_PASS] },
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(field(r.out, 'account xpub')).toBe(xpub);
    expect(field(r.out, 'link public key')).toBe(field(made, 'link public key'));
    expect(field(r.out, 'audit public key')).toBe(field(made, 'audit public key'));
    expect(r.out).toContain('xpub matches');
    expect(readFileSync(join(b, 'device-key.json'), 'utf8')).toContain(xpub);
    expect(wordsFrom(r.out)).toBe(''); // restore never shows words
  });

  it('restores from the 24 words typed on the console', async () => {
    const a = fresh();
    const b = fresh();
    const made = await keygenIn(a);
    const r = await runCli(
      ['restore', '--network', 'regtest', '--words-from-console', '--out', b, WEAK],
      { passphrases: [NEW_PASS, NEW_PASS], secretLine: wordsFrom(made) },
    );
    expect(r.code).toBe(0);
    expect(field(r.out, 'account xpub')).toBe(field(made, 'account xpub'));
    expect(r.out + r.err).not.toContain(wordsFrom(made).split(' ').slice(0, 3).join(' '));
  });

  it('a wrong backup passphrase exits 1 with WRONG_PASSPHRASE and writes nothing', async () => {
    const a = fresh();
    const b = fresh();
    await keygenIn(a);
    const r = await runCli(
      [
        'restore',
        '--network',
        'regtest',
        '--from-backup',
        join(a, 'device-backup.json'),
        '--out',
        b,
        WEAK,
      ],
      { passphrases: ['not the vault passphrase', NEW_PASS, NEW_PASS] },
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^WRONG_PASSPHRASE: key-file\/open\(device-backup\)/);
    expect(() => readFileSync(join(b, 'device-key.json'))).toThrow();
  });

  it('refuses a key that is not the expected one (cosigner swap)', async () => {
    const a = fresh();
    const other = fresh();
    const b = fresh();
    await keygenIn(a);
    const otherXpub = field(await keygenIn(other), 'account xpub');
    const r = await runCli(
      [
        'restore',
        '--network',
        'regtest',
        '--from-backup',
        join(a, 'device-backup.json'),
        '--out',
        b,
        '--expect-xpub',
        otherXpub,
        WEAK,
      ],
      { passphrases: [BACKUP_PASS, NEW_PASS, NEW_PASS] },
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^BAD_KEY_FILE: ceremony\/restore: expected the key with xpub/);
  });

  it('refuses a backup for another network (WRONG_NETWORK)', async () => {
    const a = fresh();
    const b = fresh();
    await keygenIn(a, 'regtest');
    const r = await runCli(
      [
        'restore',
        '--network',
        'signet',
        '--from-backup',
        join(a, 'device-backup.json'),
        '--out',
        b,
        WEAK,
      ],
      { passphrases: [BACKUP_PASS, NEW_PASS, NEW_PASS] },
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^WRONG_NETWORK: /);
  });

  it('without the test switch a weak-KDF file is refused (the switch is needed both ways)', async () => {
    const a = fresh();
    const b = fresh();
    await keygenIn(a);
    const r = await runCli(
      [
        'restore',
        '--network',
        'regtest',
        '--from-backup',
        join(a, 'device-backup.json'),
        '--out',
        b,
      ],
      { passphrases: [BACKUP_PASS, NEW_PASS, NEW_PASS] },
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^BAD_KEY_FILE: key-file\/parse: expected scrypt N a power of two in \[32768/,
    );
  });

  it('bad usage exits 2: both or neither source', async () => {
    const b = fresh();
    const neither = await runCli(['restore', '--network', 'regtest', '--out', b, WEAK]);
    expect(neither.code).toBe(2);
    expect(neither.err).toMatch(/expected exactly one of --from-backup/);
    const both = await runCli([
      'restore',
      '--network',
      'regtest',
      '--out',
      b,
      '--from-backup',
      'x',
      '--words-from-console',
      WEAK,
    ]);
    expect(both.code).toBe(2);
  });

  it('never prints the passphrases', () => {
    const all = ALL_OUTPUT.join('');
    for (const p of [PASS, BACKUP_PASS, NEW_PASS]) expect(all).not.toContain(p);
  });
});

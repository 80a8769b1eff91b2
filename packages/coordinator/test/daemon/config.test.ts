import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/cli/commands.js';
import { parseCoordinatorConfig } from '../../src/daemon/config.js';
import { createSecretKeyFile, readSecretKeyFile } from '../../src/daemon/key-files.js';
import { isCoordinatorError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'keyline-daemon-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('coordinator configuration', () => {
  it('parses the init default, resolves paths against the data directory, and freezes it', () => {
    const c = parseCoordinatorConfig(defaultConfig('regtest'), join(dir, 'config.json'));
    expect(c.dataPath).toBe(dir);
    expect(c.keys.riskKeyFile).toBe(join(dir, 'risk.key'));
    expect(c.database).toEqual({ kind: 'sqlite', path: join(dir, 'coordinator.sqlite') });
    expect(c.payouts.confirmations).toBe(1);
    expect(Object.isFrozen(c) && Object.isFrozen(c.api)).toBe(true);
    expect(() => {
      (c as { network: string }).network = 'mainnet';
    }).toThrow();
  });

  it('applies documented environment overrides', () => {
    const c = parseCoordinatorConfig(defaultConfig('regtest'), join(dir, 'config.json'), {
      KEYLINE_DATABASE_URL: 'postgres://x@127.0.0.1:5432/test',
      KEYLINE_API_PORT: '9999',
    });
    expect(c.database).toEqual({ kind: 'postgres', url: 'postgres://x@127.0.0.1:5432/test' });
    expect(c.api.port).toBe(9999);
  });

  it('refuses unknown fields, bad risk rules and inverted hot-wallet marks, saying where', () => {
    const bad = (raw: unknown, where: RegExp) => {
      let err: unknown;
      try {
        parseCoordinatorConfig(raw, 'c.json');
      } catch (e) {
        err = e;
      }
      expect(isCoordinatorError(err, 'BAD_CONFIG')).toBe(true);
      expect((err as Error).message).toMatch(where);
    };
    bad({ ...defaultConfig('regtest'), surprise: 1 }, /surprise|unrecognized/i);
    const base = defaultConfig('regtest');
    bad(
      { ...base, risk: { ...base.risk, withdrawal: { ...base.risk.withdrawal, frequency: {} } } },
      /risk/,
    );
    bad(
      { ...base, hotWallet: { highMark: 10, lowMark: 20, coldAddress: 'bcrt1qxxxxxxxxxxxxxxxx' } },
      /lowMark/,
    );
    bad([], /JSON object/);
  });
});

describe('secret key files', () => {
  it('creates 0600 files, never overwrites one, and reads the 32 bytes back', () => {
    const path = join(dir, 'risk.key');
    createSecretKeyFile(path, 'risk');
    const before = readFileSync(path, 'utf8');
    expect(() => createSecretKeyFile(path, 'risk')).toThrow(/EEXIST/);
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(readSecretKeyFile(path, 'risk')).toHaveLength(32);
  });

  it('refuses a key file readable by group or others, and a malformed one', () => {
    const path = join(dir, 'open.key');
    writeFileSync(path, `${'ab'.repeat(32)}\n`, { mode: 0o644 });
    chmodSync(path, 0o644);
    expect(() => readSecretKeyFile(path, 'link')).toThrow(/0600/);
    const short = join(dir, 'short.key');
    writeFileSync(short, 'abcd\n', { mode: 0o600 });
    expect(() => readSecretKeyFile(short, 'link')).toThrow(/64 lowercase hex/);
  });
});

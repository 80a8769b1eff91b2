import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signedActivationFromJson } from '../../src/cli/sign-activation.js';
import { newActivationChallenge, verifyActivation } from '../../src/device/activation.js';
import { formatActivationDisplay } from '../../src/device/activation-display.js';
import { parseKeyFile } from '../../src/keystore/key-file.js';
import { ALL_OUTPUT, NOW, PASS, runCli, tempDir, WEAK } from './helpers.js';

const dirs: (() => void)[] = [];
const fresh = () => {
  const t = tempDir();
  dirs.push(t.cleanup);
  return t.dir;
};
afterEach(() => {
  while (dirs.length > 0) dirs.pop()?.();
});

let counter = 1;
const random = (n: number) => new Uint8Array(n).fill(counter++ & 0xff || 7);

async function makeKey(dir: string, role: 'holder' | 'officer', id: string) {
  const out = join(dir, `${id}.json`);
  const r = await runCli(
    [`${role}-keygen`, '--network', 'regtest', '--out', out, '--id', id, WEAK],
    { passphrases: [PASS, PASS] },
  );
  expect(r.code).toBe(0);
  const record = JSON.parse(r.out) as {
    role: string;
    name: string;
    keyId: string;
    publicKey: string;
  };
  return { path: out, record };
}

function pending() {
  return newActivationChallenge({
    deviceId: 'signer-a',
    bootNonce: new Uint8Array(32).fill(9),
    now: NOW,
    random,
  });
}

describe('keyline-signer holder-keygen / officer-keygen', () => {
  it('writes a sealed key and prints its pinning record matching the file', async () => {
    const dir = fresh();
    for (const role of ['holder', 'officer'] as const) {
      const { path, record } = await makeKey(dir, role, `${role}-alice`);
      const file = parseKeyFile(readFileSync(path, 'utf8'), { allowWeakKdfForTests: true });
      expect(file.kind).toBe(`${role}-key`);
      if (!('publicKey' in file.public)) throw new Error('holder file expected');
      expect(record).toEqual({
        role,
        name: `${role}-alice`,
        keyId: file.public.keyId,
        publicKey: file.public.publicKey,
      });
    }
  });

  it('refuses an id with spaces (exit 2) and an existing file (exit 1)', async () => {
    const dir = fresh();
    const bad = await runCli([
      'holder-keygen',
      '--network',
      'regtest',
      '--out',
      join(dir, 'x'),
      '--id',
      'a b',
      WEAK,
    ]);
    expect(bad.code).toBe(2);
    const { path } = await makeKey(dir, 'holder', 'bob');
    const again = await runCli(
      ['holder-keygen', '--network', 'regtest', '--out', path, '--id', 'bob', WEAK],
      { passphrases: [PASS, PASS] },
    );
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/^IO: /);
  });
});

describe('keyline-signer sign-activation', () => {
  it('signs the printed challenge; the device verifies it', async () => {
    const dir = fresh();
    const { path, record } = await makeKey(dir, 'holder', 'carol');
    const p = pending();
    const r = await runCli(
      [
        'sign-activation',
        '--network',
        'regtest',
        '--key',
        path,
        '--challenge',
        formatActivationDisplay(p),
        WEAK,
      ],
      { passphrases: [PASS] },
    );
    expect(r.code).toBe(0);
    expect(r.err).toContain('Activating device signer-a');
    const signed = signedActivationFromJson(JSON.parse(r.out));
    const pinned = [
      { keyId: record.keyId, publicKey: Uint8Array.from(Buffer.from(record.publicKey, 'hex')) },
    ];
    expect(verifyActivation(signed, p, pinned, null, NOW + 1)).toEqual({
      holderKeyId: record.keyId,
    });
  });

  it('reads the challenge from stdin with -', async () => {
    const dir = fresh();
    const { path } = await makeKey(dir, 'holder', 'dave');
    const p = pending();
    const r = await runCli(
      ['sign-activation', '--network', 'regtest', '--key', path, '--challenge', '-', WEAK],
      { passphrases: [PASS], stdin: `${formatActivationDisplay(p)}\n` },
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).deviceId).toBe('signer-a');
  });

  it('a misread group (checksum) is refused before the passphrase is asked', async () => {
    const dir = fresh();
    const { path } = await makeKey(dir, 'holder', 'erin');
    const text = formatActivationDisplay(pending());
    const lines = text.split('\n');
    lines[3] = (lines[3] ?? '').replace(
      /challenge (.)/,
      (_m, c: string) => `challenge ${c === 'a' ? 'b' : 'a'}`,
    );
    const r = await runCli(
      [
        'sign-activation',
        '--network',
        'regtest',
        '--key',
        path,
        '--challenge',
        lines.join('\n'),
        WEAK,
      ],
      { passphrases: [PASS] },
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^BAD_SIGNED_DOCUMENT: device\/activation-display\/parse: check/);
    expect(r.prompts).toHaveLength(0);
  });

  it('a wrong passphrase exits 1 with WRONG_PASSPHRASE', async () => {
    const dir = fresh();
    const { path } = await makeKey(dir, 'holder', 'frank');
    const r = await runCli(
      [
        'sign-activation',
        '--network',
        'regtest',
        '--key',
        path,
        '--challenge',
        formatActivationDisplay(pending()),
        WEAK,
      ],
      { passphrases: ['wrong passphrase here'] },
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^WRONG_PASSPHRASE: /m);
    expect(r.out).toBe('');
  });

  it('an officer key cannot sign an activation', async () => {
    const dir = fresh();
    const { path } = await makeKey(dir, 'officer', 'grace');
    const r = await runCli(
      [
        'sign-activation',
        '--network',
        'regtest',
        '--key',
        path,
        '--challenge',
        formatActivationDisplay(pending()),
        WEAK,
      ],
      { passphrases: [PASS] },
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^BAD_KEY_FILE: cli\/sign-activation: expected a holder-key file, got officer-key/m,
    );
    expect(r.prompts).toHaveLength(0);
  });

  it('never prints the passphrase', () => {
    expect(ALL_OUTPUT.join('')).not.toContain(PASS);
  });
});

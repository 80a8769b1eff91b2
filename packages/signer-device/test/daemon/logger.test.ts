import { base64, hex } from '@scure/base';
import { describe, expect, it } from 'vitest';
import {
  createLogger,
  REDACTED,
  SECRET_KEY_PATTERN,
  sanitizeLogObject,
} from '../../src/daemon/logger.js';
import { SignerError } from '../../src/errors.js';

function capture(): { lines: string[]; write(line: string): void } {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

const SEED = new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff);
const PRIVATE_KEY = new Uint8Array(32).map((_, i) => (i * 91 + 5) & 0xff);
const PASSPHRASE = 'hunter2-very-secret-passphrase';
const MNEMONIC =
  'abandon ability able about above absent absorb abstract absurd abuse access accident';
const XPRV =
  'xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi';

/** Every form a leaked secret could take in a log line. */
function forms(): string[] {
  const out = [PASSPHRASE, MNEMONIC, 'abandon ability', XPRV];
  for (const b of [SEED, PRIVATE_KEY]) {
    out.push(
      hex.encode(b),
      hex.encode(b).toUpperCase(),
      base64.encode(b),
      Buffer.from(b).toString('base64url'),
    );
    out.push(`"0":${b[0]},"1":${b[1]}`, `${b[0]},${b[1]},${b[2]}`);
  }
  return out;
}

describe('logger redaction', () => {
  it('logs an object full of secrets without any of their values', () => {
    const sink = capture();
    const log = createLogger({ destination: sink, level: 'trace' });
    log.info(
      {
        passphrase: PASSPHRASE,
        holderPassphrase: PASSPHRASE,
        seed: SEED,
        mnemonic: MNEMONIC,
        words: MNEMONIC.split(' '),
        xprv: XPRV,
        privateKey: PRIVATE_KEY,
        key: hex.encode(PRIVATE_KEY),
        signingKey: base64.encode(PRIVATE_KEY),
        nested: {
          deeper: [{ clientSecret: PASSPHRASE }, { bytes: SEED, buf: Buffer.from(PRIVATE_KEY) }],
          secretWords: MNEMONIC,
          SEED: hex.encode(SEED),
        },
        raw: PRIVATE_KEY.buffer,
        view: new DataView(SEED.buffer),
        keyId: 'holder-a',
        keyFile: '/var/lib/keyline/key.json',
      },
      'unlock attempt',
    );
    log
      .child({ seedPhrase: MNEMONIC })
      .warn({ err: new SignerError('IO', 'x', { key: XPRV }) }, 'boom');
    log.error(PRIVATE_KEY as unknown as object, 'a byte array as the log object');
    const text = sink.lines.join('');
    expect(sink.lines).toHaveLength(3);
    for (const form of forms()) expect(text).not.toContain(form);
    const first = JSON.parse(sink.lines[0]!) as Record<string, unknown>;
    expect(first.passphrase).toBe(REDACTED);
    expect(first.keyId).toBe('holder-a');
    expect(first.keyFile).toBe('/var/lib/keyline/key.json');
    expect(first.raw).toBe('[bytes: 32]');
    expect((first.nested as { deeper: unknown[] }).deeper[1]).toEqual({
      bytes: '[bytes: 64]',
      buf: '[bytes: 32]',
    });
    expect(first.msg).toBe('unlock attempt');
    const second = JSON.parse(sink.lines[1]!) as Record<string, unknown>;
    expect(second.seedPhrase).toBe(REDACTED);
    expect((second.err as { code: string; detail: unknown }).code).toBe('IO');
    expect((second.err as { detail: unknown }).detail).toEqual({ key: REDACTED });
  });

  it('the pattern spares keyId and keyFile only', () => {
    for (const k of ['keyId', 'keyFile', 'holderKeyId', 'port', 'amount']) {
      expect(SECRET_KEY_PATTERN.test(k)).toBe(false);
    }
    for (const k of [
      'key',
      'publicKey',
      'keys',
      'linkKey',
      'Passphrase',
      'SEED',
      'privKey',
      'words',
    ]) {
      expect(SECRET_KEY_PATTERN.test(k)).toBe(true);
    }
  });

  it('sanitizes without mutating, cuts cycles, depth and long arrays, stringifies bigints', () => {
    const cyclic: Record<string, unknown> = { amount: 5n };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 20; i++) deep = { d: deep };
    const input = { cyclic, deep, list: Array.from({ length: 100 }, (_, i) => i), seed: SEED };
    const out = sanitizeLogObject(input);
    expect(input.seed).toBe(SEED);
    expect((out.cyclic as Record<string, unknown>).self).toBe('[circular]');
    expect((out.cyclic as Record<string, unknown>).amount).toBe('5');
    expect(JSON.stringify(out.deep)).toContain('[too deep]');
    expect((out.list as unknown[]).at(-1)).toBe('[36 more]');
    expect(out.seed).toBe(REDACTED);
  });

  it('sanitizes the bindings of children and grandchildren', () => {
    const sink = capture();
    const log = createLogger({ destination: sink, base: { deviceId: 'a', seed: MNEMONIC } });
    const grandchild = log
      .child({ rpc: 'sign_psbt' })
      .child({ privateKey: hex.encode(PRIVATE_KEY) });
    grandchild.setBindings({ passphrase: PASSPHRASE });
    grandchild.info({ ok: true }, 'signed');
    const text = sink.lines.join('');
    for (const form of forms()) expect(text).not.toContain(form);
    expect(JSON.parse(sink.lines[0]!)).toMatchObject({ deviceId: 'a', rpc: 'sign_psbt', ok: true });
  });

  it('respects the level', () => {
    const sink = capture();
    const log = createLogger({ destination: sink, level: 'warn' });
    log.info({ a: 1 }, 'hidden');
    log.warn({ a: 2 }, 'shown');
    expect(sink.lines).toHaveLength(1);
  });
});

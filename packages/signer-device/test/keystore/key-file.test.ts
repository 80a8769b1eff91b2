import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSignerError, type SignerError } from '../../src/errors.js';
import { keygen } from '../../src/keystore/ceremony.js';
import {
  openKeyFile,
  parseKeyFile,
  passphraseFromText,
  readKeyFile,
  sealKeyFile,
  writeKeyFile,
} from '../../src/keystore/key-file.js';
import { KDF_BOUNDS, type KeyFile, serializeKeyFile } from '../../src/keystore/key-file-format.js';
import { releaseSecret } from '../../src/keystore/secrets.js';
import { pass, seededRandom, WEAK } from './helpers.js';

const OPEN = { expectedNetwork: 'testnet', allowWeakKdfForTests: true } as const;

function catchError(fn: () => unknown): SignerError {
  try {
    fn();
  } catch (e) {
    if (isSignerError(e)) return e;
    throw e;
  }
  throw new Error('expected a SignerError, got success');
}

const made = keygen({
  network: 'testnet',
  passphrase: pass(),
  backupPassphrase: pass('vault passphrase 2'),
  random: seededRandom('key-file'),
  ...WEAK,
});
const text = serializeKeyFile(made.keyFile);

describe('key file: seal and open', () => {
  it('opens with the right passphrase and returns the 32-byte entropy', () => {
    const e = openKeyFile(parseKeyFile(text, WEAK), pass(), OPEN);
    expect(e).toHaveLength(32);
    releaseSecret(e);
  });

  it('wrong passphrase: WRONG_PASSPHRASE, and the passphrase buffer is zeroed', () => {
    const p = pass('not the passphrase');
    const err = catchError(() => openKeyFile(made.keyFile, p, OPEN));
    expect(err.code).toBe('WRONG_PASSPHRASE');
    expect(err.kind).toBe('refused');
    expect(p.every((b) => b === 0)).toBe(true);
  });

  it('passphrases are NFKC-normalized: composed and decomposed é open the same file', () => {
    const composed = 'caf\u00e9 au lait, tr\u00e8s bien';
    const decomposed = 'cafe\u0301 au lait, tre\u0300s bien';
    expect(Buffer.from(composed)).not.toEqual(Buffer.from(decomposed));
    const f = sealKeyFile(
      {
        kind: 'holder-key',
        meta: { publicKey: '00'.repeat(32), keyId: '00'.repeat(8) },
        plaintext: new Uint8Array(32),
      },
      passphraseFromText(composed),
      WEAK,
    );
    releaseSecret(openKeyFile(f, passphraseFromText(decomposed), { allowWeakKdfForTests: true }));
  });

  it('a file of another network: WRONG_NETWORK, before any passphrase work', () => {
    const err = catchError(() =>
      openKeyFile(made.keyFile, pass(), { ...OPEN, expectedNetwork: 'mainnet' }),
    );
    expect(err.code).toBe('WRONG_NETWORK');
    expect(err.detail).toEqual({ expected: 'mainnet', got: 'testnet' });
  });

  it('the network field edited to match the device: the AEAD refuses (AD covers it)', () => {
    // The attacker relabels a testnet key file as signet (same tpub prefix and path).
    const relabeled = parseKeyFile(
      text.replace('"network": "testnet"', '"network": "signet"'),
      WEAK,
    );
    const err = catchError(() =>
      openKeyFile(relabeled, pass(), { ...OPEN, expectedNetwork: 'signet' }),
    );
    expect(err.code).toBe('WRONG_PASSPHRASE');
  });

  it('a holder key file offered as a device key: BAD_KEY_FILE', () => {
    const holder = sealKeyFile(
      {
        kind: 'holder-key',
        meta: { publicKey: '11'.repeat(32), keyId: '22'.repeat(8) },
        plaintext: new Uint8Array(32),
      },
      pass(),
      WEAK,
    );
    expect(
      catchError(() => openKeyFile(holder, pass(), { ...OPEN, kinds: ['device-key'] })).code,
    ).toBe('BAD_KEY_FILE');
  });

  it('no secret appears in the file text: no entropy hex, no words, no seed', () => {
    const e = openKeyFile(made.keyFile, pass(), OPEN);
    const entropyHex = Buffer.from(e).toString('hex');
    const entropyB64 = Buffer.from(e).toString('base64');
    releaseSecret(e);
    for (const t of [text, serializeKeyFile(made.backupFile)]) {
      expect(t).not.toContain(entropyHex);
      expect(t).not.toContain(entropyB64.slice(0, 20));
      for (const w of made.words.split(' ').filter((x) => x.length > 5)) {
        expect(t).not.toMatch(new RegExp(`\\b${w}\\b`));
      }
      expect(t).not.toMatch(/[xt]prv/);
    }
  });

  it('key file and backup use different salts, nonces and passphrases', () => {
    expect(made.keyFile.kdf.salt).not.toBe(made.backupFile.kdf.salt);
    expect(made.keyFile.cipher.nonce).not.toBe(made.backupFile.cipher.nonce);
    expect(catchError(() => openKeyFile(made.backupFile, pass(), OPEN)).code).toBe(
      'WRONG_PASSPHRASE',
    );
  });
});

describe('key file: corruption and tampering', () => {
  it('every single-byte change of the ciphertext is refused', () => {
    const raw = Buffer.from(made.keyFile.ciphertext, 'base64');
    for (let i = 0; i < raw.length; i++) {
      const bad = Buffer.from(raw);
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      const file = { ...made.keyFile, ciphertext: bad.toString('base64') } as KeyFile;
      expect(catchError(() => openKeyFile(file, pass(), OPEN)).code).toBe('WRONG_PASSPHRASE');
    }
  });

  it('every single-character change anywhere in the file text is refused (never opens)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      const replacement = c === 'A' ? 'B' : 'A';
      const bad = text.slice(0, i) + replacement + text.slice(i + 1);
      const err = catchError(() => {
        const f = parseKeyFile(bad, WEAK);
        releaseSecret(openKeyFile(f, pass(), OPEN));
      });
      expect(['BAD_KEY_FILE', 'WRONG_PASSPHRASE', 'WRONG_NETWORK']).toContain(err.code);
      seen.add(err.code);
    }
    expect(seen.has('BAD_KEY_FILE')).toBe(true);
    expect(seen.has('WRONG_PASSPHRASE')).toBe(true);
  });

  it.each([
    [
      'public.accountXpub',
      (f: KeyFile) => ({
        ...f,
        public: {
          ...f.public,
          accountXpub: swapChar((f.public as { accountXpub: string }).accountXpub, 60),
        },
      }),
    ],
    [
      'public.fingerprint',
      (f: KeyFile) => ({ ...f, public: { ...f.public, fingerprint: 'deadbeef' } }),
    ],
    [
      'public.linkPublicKey',
      (f: KeyFile) => ({ ...f, public: { ...f.public, linkPublicKey: 'ab'.repeat(32) } }),
    ],
    [
      'public.auditPublicKey',
      (f: KeyFile) => ({ ...f, public: { ...f.public, auditPublicKey: 'cd'.repeat(32) } }),
    ],
    ['kdf.N', (f: KeyFile) => ({ ...f, kdf: { ...f.kdf, N: 2048 } })],
    ['kdf.r', (f: KeyFile) => ({ ...f, kdf: { ...f.kdf, r: 9 } })],
    ['kdf.p', (f: KeyFile) => ({ ...f, kdf: { ...f.kdf, p: 2 } })],
    [
      'kdf.salt',
      (f: KeyFile) => ({ ...f, kdf: { ...f.kdf, salt: Buffer.alloc(32, 7).toString('base64') } }),
    ],
    [
      'cipher.nonce',
      (f: KeyFile) => ({
        ...f,
        cipher: { ...f.cipher, nonce: Buffer.alloc(24, 7).toString('base64') },
      }),
    ],
    ['kind', (f: KeyFile) => ({ ...f, kind: 'device-backup' })],
  ])('an edited %s makes opening fail', (_field, edit) => {
    const edited = edit(made.keyFile) as KeyFile;
    const err = catchError(() => releaseSecret(openKeyFile(edited, pass(), OPEN)));
    expect(['WRONG_PASSPHRASE', 'BAD_KEY_FILE']).toContain(err.code);
  });

  it('a truncated file is BAD_KEY_FILE at every cut', () => {
    for (let cut = 0; cut < text.length; cut += 7) {
      expect(catchError(() => parseKeyFile(text.slice(0, cut), WEAK)).code).toBe('BAD_KEY_FILE');
    }
  });

  it('unknown fields, a missing field, another version or format: BAD_KEY_FILE', () => {
    const obj = JSON.parse(text) as Record<string, unknown>;
    const variants: unknown[] = [
      { ...obj, extra: 1 },
      { ...obj, version: 2 },
      { ...obj, format: 'other' },
      { ...obj, public: { ...(obj.public as object), note: 'x' } },
      Object.fromEntries(Object.entries(obj).filter(([k]) => k !== 'cipher')),
      [],
      null,
    ];
    for (const v of variants) {
      expect(catchError(() => parseKeyFile(JSON.stringify(v, null, 2), WEAK)).code).toBe(
        'BAD_KEY_FILE',
      );
    }
    expect(catchError(() => parseKeyFile(text.replace('\n', '\r\n'), WEAK)).code).toBe(
      'BAD_KEY_FILE',
    );
    expect(catchError(() => parseKeyFile(`${text} `.repeat(30), WEAK)).code).toBe('BAD_KEY_FILE');
    expect(catchError(() => parseKeyFile(undefined, WEAK)).code).toBe('BAD_KEY_FILE');
  });

  it('a testnet path or tpub in a mainnet-labelled file is BAD_KEY_FILE', () => {
    const relabeled = text.replace('"network": "testnet"', '"network": "mainnet"');
    expect(catchError(() => parseKeyFile(relabeled, WEAK)).message).toMatch(
      /expected path m\/48'\/0'/,
    );
  });
});

describe('key file: KDF bounds', () => {
  const withKdf = (N: number, r = 8, p = 1) =>
    text
      .replace(/"N": \d+/, `"N": ${N}`)
      .replace(/"r": \d+/, `"r": ${r}`)
      .replace(/"p": \d+/, `"p": ${p}`);
  it.each([
    ['N=2^40', 2 ** 40, 8, 1],
    ['N=2^19 (above the ceiling)', 2 ** 19, 8, 1],
    ['N not a power of two', 3000, 8, 1],
    ['N=2^9 (below even the test floor)', 2 ** 9, 8, 1],
    ['r=1', 2 ** 10, 1, 1],
    ['r=1000', 2 ** 10, 1000, 1],
    ['p=16', 2 ** 10, 8, 16],
    ['memory 128·N·r > 256 MiB', 2 ** 18, 16, 1],
  ])('refuses %s before any scrypt work', (_name, N, r, p) => {
    const err = catchError(() => parseKeyFile(withKdf(N, r, p), WEAK));
    expect(err.code).toBe('BAD_KEY_FILE');
    expect(err.message).toMatch(/scrypt/);
  });

  it('without allowWeakKdfForTests, the production floor N >= 2^15 applies to opening and sealing', () => {
    expect(catchError(() => parseKeyFile(text)).message).toMatch(
      new RegExp(`\\[${KDF_BOUNDS.minN}, `),
    );
    const err = catchError(() =>
      sealKeyFile(
        {
          kind: 'officer-key',
          meta: { publicKey: '00'.repeat(32), keyId: '00'.repeat(8) },
          plaintext: new Uint8Array(32),
        },
        pass(),
        { kdf: { N: 2 ** 10, r: 8, p: 1 } },
      ),
    );
    expect(err.code).toBe('BAD_KEY_FILE');
  });

  it('a new file needs a passphrase of at least 12 bytes', () => {
    const err = catchError(() =>
      sealKeyFile(
        {
          kind: 'officer-key',
          meta: { publicKey: '00'.repeat(32), keyId: '00'.repeat(8) },
          plaintext: new Uint8Array(32),
        },
        pass('short'),
        WEAK,
      ),
    );
    expect(err.message).toMatch(/at least|12 to/);
  });
});

describe('key file: files on disk', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyline-key-file-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes to a new path, reads back identical, and never overwrites', async () => {
    const path = join(dir, 'device.key.json');
    await writeKeyFile(path, made.keyFile);
    expect(await readFile(path, 'utf8')).toBe(text);
    expect(await readKeyFile(path, WEAK)).toEqual(made.keyFile);
    await expect(writeKeyFile(path, made.backupFile)).rejects.toMatchObject({ code: 'IO' });
    expect(await readFile(path, 'utf8')).toBe(text);
  });

  it('a truncated or oversized file on disk is BAD_KEY_FILE; a missing one is IO', async () => {
    const cut = join(dir, 'cut.json');
    await writeFile(cut, text.slice(0, 100));
    await expect(readKeyFile(cut, WEAK)).rejects.toMatchObject({ code: 'BAD_KEY_FILE' });
    const big = join(dir, 'big.json');
    await writeFile(big, 'x'.repeat(9000));
    await expect(readKeyFile(big, WEAK)).rejects.toMatchObject({ code: 'BAD_KEY_FILE' });
    await expect(readKeyFile(join(dir, 'none.json'), WEAK)).rejects.toMatchObject({ code: 'IO' });
  });
});

function swapChar(s: string, i: number): string {
  const c = s[i] === 'a' ? 'b' : 'a';
  return s.slice(0, i) + c + s.slice(i + 1);
}

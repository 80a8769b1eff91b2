import { hex } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { isSignerError } from '../../src/errors.js';
import { keygen, restore } from '../../src/keystore/ceremony.js';
import { serializeKeyFile } from '../../src/keystore/key-file-format.js';
import { unlockKeyFile } from '../../src/keystore/keystore.js';
import { liveSecretCount } from '../../src/keystore/secrets.js';
import { pass, seededRandom, WEAK } from './helpers.js';

const KEY_PASS = 'holder passphrase one';
const VAULT_PASS = 'vault passphrase two';

describe('ceremony', () => {
  const made = keygen({
    network: 'testnet',
    passphrase: pass(KEY_PASS),
    backupPassphrase: pass(VAULT_PASS),
    random: seededRandom('ceremony'),
    ...WEAK,
  });

  it('keygen returns the files, 24 words, tpub, key origin and identity keys', () => {
    expect(made.words.split(' ')).toHaveLength(24);
    expect(made.xpub.startsWith('tpub')).toBe(true);
    expect(made.keyOrigin).toBe(`[${made.fingerprint}/48'/1'/0'/2']${made.xpub}`);
    expect(made.keyFile.kind).toBe('device-key');
    expect(made.backupFile.kind).toBe('device-backup');
    expect(made.keyFile.public.linkPublicKey).toBe(hex.encode(made.linkPublicKey));
    expect(liveSecretCount()).toBe(0);
  });

  it('restore from the backup and from the words give identical public facts', () => {
    const fromBackup = restore({
      network: 'testnet',
      from: { backup: serializeKeyFile(made.backupFile), backupPassphrase: pass(VAULT_PASS) },
      newPassphrase: pass('a new holder passphrase'),
      ...WEAK,
    });
    const fromWords = restore({
      network: 'testnet',
      from: { words: made.words },
      newPassphrase: pass('another new passphrase'),
      newBackupPassphrase: pass('and a new vault one'),
      expectedXpub: made.xpub,
      ...WEAK,
    });
    for (const r of [fromBackup, fromWords]) {
      expect(r.xpub).toBe(made.xpub);
      expect(r.fingerprint).toBe(made.fingerprint);
      expect(r.linkPublicKey).toEqual(made.linkPublicKey);
      expect(r.auditPublicKey).toEqual(made.auditPublicKey);
      expect(r.keyFile.public).toEqual(made.keyFile.public);
    }
    expect(fromWords.backupFile?.kind).toBe('device-backup');
    // The restored file opens with the new passphrase only.
    const key = unlockKeyFile(fromBackup.keyFile, pass('a new holder passphrase'), 'testnet', WEAK);
    expect(key.accountXpub()).toBe(made.xpub);
    key.lock();
    expect(liveSecretCount()).toBe(0);
  });

  it('the words appear in no file; the entropy in none either', () => {
    const texts = [serializeKeyFile(made.keyFile), serializeKeyFile(made.backupFile)].join('\n');
    const long = made.words.split(' ').filter((w) => w.length >= 6);
    for (const w of long) expect(texts).not.toMatch(new RegExp(`\\b${w}\\b`));
  });

  it('refuses equal key and backup passphrases', () => {
    expect(() =>
      keygen({
        network: 'testnet',
        passphrase: pass(KEY_PASS),
        backupPassphrase: pass(KEY_PASS),
        ...WEAK,
      }),
    ).toThrow(/differ/);
  });

  it('restore: wrong backup passphrase, wrong network, wrong words, unexpected key', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        if (isSignerError(e)) return e.code;
        throw e;
      }
      return 'restored';
    };
    const base = { newPassphrase: pass('a new holder passphrase'), ...WEAK };
    expect(
      code(() =>
        restore({
          ...base,
          network: 'testnet',
          from: { backup: made.backupFile, backupPassphrase: pass(KEY_PASS) },
        }),
      ),
    ).toBe('WRONG_PASSPHRASE');
    expect(
      code(() =>
        restore({
          ...base,
          newPassphrase: pass('x'.repeat(12)),
          network: 'mainnet',
          from: { backup: made.backupFile, backupPassphrase: pass(VAULT_PASS) },
        }),
      ),
    ).toBe('WRONG_NETWORK');
    const words = made.words.split(' ');
    [words[0], words[1]] = [words[1] ?? '', words[0] ?? ''];
    expect(
      code(() =>
        restore({
          ...base,
          newPassphrase: pass('y'.repeat(12)),
          network: 'testnet',
          from: { words: words.join(' ') },
        }),
      ),
    ).toMatch(/BAD_MNEMONIC|restored/);
    const other = keygen({
      network: 'testnet',
      passphrase: pass('p'.repeat(12)),
      backupPassphrase: pass('q'.repeat(12)),
      random: seededRandom('x'),
      ...WEAK,
    });
    expect(
      code(() =>
        restore({
          ...base,
          newPassphrase: pass('z'.repeat(12)),
          network: 'testnet',
          from: { words: other.words },
          expectedXpub: made.xpub,
        }),
      ),
    ).toBe('BAD_MNEMONIC');
    expect(liveSecretCount()).toBe(0);
  });

  it('the same random source gives the same key (randomness is injected, nothing else varies)', () => {
    const again = keygen({
      network: 'testnet',
      passphrase: pass(KEY_PASS),
      backupPassphrase: pass(VAULT_PASS),
      random: seededRandom('ceremony'),
      ...WEAK,
    });
    expect(again.xpub).toBe(made.xpub);
    expect(again.words).toBe(made.words);
  });
});

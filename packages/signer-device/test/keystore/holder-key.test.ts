import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { isSignerError } from '../../src/errors.js';
import {
  generateHolderKey,
  keyIdOf,
  openHolderKey,
  sealHolderKey,
  verifyHolderSignature,
} from '../../src/keystore/holder-key.js';
import { openKeyFile } from '../../src/keystore/key-file.js';
import { serializeKeyFile } from '../../src/keystore/key-file-format.js';
import { liveSecretCount, releaseSecret } from '../../src/keystore/secrets.js';
import { pass, seededRandom, WEAK } from './helpers.js';

const msg = new TextEncoder().encode('activation challenge 42');

describe('holder and officer keys', () => {
  it('key id = first 8 bytes of sha256(public key), hex', () => {
    const k = generateHolderKey('holder-key', seededRandom('h1'));
    expect(k.keyId).toBe(hex.encode(sha256(k.publicKey).subarray(0, 8)));
    expect(keyIdOf(k.publicKey)).toBe(k.keyId);
    k.wipe();
  });

  it('sign / verify; a changed message, key or signature does not verify', () => {
    const k = generateHolderKey('holder-key', seededRandom('h2'));
    const other = generateHolderKey('holder-key', seededRandom('h3'));
    const sig = k.sign(msg);
    expect(verifyHolderSignature(k.publicKey, msg, sig)).toBe(true);
    expect(verifyHolderSignature(other.publicKey, msg, sig)).toBe(false);
    expect(
      verifyHolderSignature(k.publicKey, new TextEncoder().encode('activation challenge 43'), sig),
    ).toBe(false);
    const bad = Uint8Array.from(sig);
    bad[5] = (bad[5] ?? 0) ^ 1;
    expect(verifyHolderSignature(k.publicKey, msg, bad)).toBe(false);
    expect(verifyHolderSignature(k.publicKey, msg, sig.subarray(0, 63))).toBe(false);
    k.wipe();
    other.wipe();
  });

  it('seal to a file and open again: same public key, signatures verify', () => {
    const k = generateHolderKey('officer-key', seededRandom('h4'));
    const file = sealHolderKey(k, pass(), WEAK);
    const text = serializeKeyFile(file);
    expect(text).toContain('"kind": "officer-key"');
    expect(text).not.toContain('"network"');
    const opened = openHolderKey(text, pass(), 'officer-key', WEAK);
    expect(opened.publicKey).toEqual(k.publicKey);
    expect(verifyHolderSignature(k.publicKey, msg, opened.sign(msg))).toBe(true);
    k.wipe();
    opened.wipe();
    expect(liveSecretCount()).toBe(0);
  });

  it('wrong passphrase, wrong kind, tampered public key: refused', () => {
    const k = generateHolderKey('holder-key', seededRandom('h5'));
    const file = sealHolderKey(k, pass(), WEAK);
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        if (isSignerError(e)) return e.code;
      }
      return 'opened';
    };
    expect(code(() => openHolderKey(file, pass('not it at all'), 'holder-key', WEAK))).toBe(
      'WRONG_PASSPHRASE',
    );
    expect(code(() => openHolderKey(file, pass(), 'officer-key', WEAK))).toBe('BAD_KEY_FILE');
    const other = generateHolderKey('holder-key', seededRandom('h6'));
    const swapped = {
      ...file,
      public: { publicKey: hex.encode(other.publicKey), keyId: other.keyId },
    };
    expect(code(() => openHolderKey(swapped, pass(), 'holder-key', WEAK))).toBe('WRONG_PASSPHRASE');
    // The secret itself never appears in the file text (hex or base64).
    const secret = openKeyFile(file, pass(), { allowWeakKdfForTests: true });
    const text = serializeKeyFile(file);
    expect(text).not.toContain(hex.encode(secret));
    expect(text).not.toContain(Buffer.from(secret).toString('base64').slice(0, 16));
    releaseSecret(secret);
    k.wipe();
    other.wipe();
  });

  it('after wipe, sign throws LOCKED and the registry is empty', () => {
    const k = generateHolderKey('holder-key', seededRandom('h7'));
    k.wipe();
    expect(() => k.sign(msg)).toThrow(/wiped/);
    expect(liveSecretCount()).toBe(0);
    expect(JSON.stringify(k)).not.toContain('secret');
  });
});

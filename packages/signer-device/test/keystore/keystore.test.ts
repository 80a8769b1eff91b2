import { inspect } from 'node:util';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import * as secp from '@noble/secp256k1';
import { HDKey } from '@scure/bip32';
import { describe, expect, it } from 'vitest';
import { isSignerError } from '../../src/errors.js';
import { NETWORK_PARAMS } from '../../src/keystore/account.js';
import { keygen } from '../../src/keystore/ceremony.js';
import { verifyDigestSignature } from '../../src/keystore/ecdsa.js';
import { openKeyFile, sealKeyFile } from '../../src/keystore/key-file.js';
import { serializeKeyFile } from '../../src/keystore/key-file-format.js';
import { UnlockedKey, unlockKeyFile } from '../../src/keystore/keystore.js';
import { liveSecretCount, releaseSecret } from '../../src/keystore/secrets.js';
import { pass, seededRandom, WEAK } from './helpers.js';

const HALF_N = secp256k1.Point.CURVE().n >> 1n;
const made = keygen({
  network: 'regtest',
  passphrase: pass(),
  backupPassphrase: pass('the vault one, different'),
  random: seededRandom('keystore'),
  ...WEAK,
});
const text = serializeKeyFile(made.keyFile);
const unlock = () => unlockKeyFile(text, pass(), 'regtest', WEAK);

describe('UnlockedKey', () => {
  it('unlocks the key file and the backup to the same public facts', () => {
    const a = unlock();
    const b = unlockKeyFile(made.backupFile, pass('the vault one, different'), 'regtest', WEAK);
    expect(a.accountXpub()).toBe(made.xpub);
    expect(a.fingerprint()).toBe(made.fingerprint);
    expect(a.keyOrigin()).toBe(made.keyOrigin);
    expect(b.publicInfo()).toEqual(a.publicInfo());
    a.lock();
    b.lock();
  });

  it('signDigest: low-S DER+01, verifies with @noble/secp256k1, key at account/branch/index', () => {
    const key = unlock();
    const account = HDKey.fromExtendedKey(made.xpub, NETWORK_PARAMS.regtest.versions);
    for (const [branch, index] of [
      [0, 0],
      [0, 7],
      [1, 0],
      [1, 2147483647],
    ] as const) {
      const digest = sha256(new TextEncoder().encode(`sighash ${branch}/${index}`));
      const { pubkey, signature } = key.signDigest(branch, index, digest);
      expect(pubkey).toEqual(account.deriveChild(branch).deriveChild(index).publicKey);
      expect(pubkey).toEqual(key.publicKeyAt(branch, index));
      expect(signature[signature.length - 1]).toBe(0x01);
      const sig = secp256k1.Signature.fromBytes(signature.subarray(0, -1), 'der');
      expect(sig.s <= HALF_N).toBe(true);
      expect(secp.verify(sig.toBytes('compact'), digest, pubkey, { prehash: false })).toBe(true);
      expect(verifyDigestSignature(signature, digest, pubkey)).toBe(true);
    }
    key.lock();
  });

  it('signDigest refuses a bad branch, index or digest', () => {
    const key = unlock();
    const d = new Uint8Array(32);
    expect(() => key.signDigest(2 as 0, 0, d)).toThrow(/branch 0 or 1/);
    expect(() => key.signDigest(0, -1, d)).toThrow(/index in/);
    expect(() => key.signDigest(0, 2 ** 31, d)).toThrow(/index in/);
    expect(() => key.signDigest(0, 1.5, d)).toThrow(/index in/);
    expect(() => key.signDigest(0, 0, new Uint8Array(33))).toThrow(/32-byte sighash/);
    key.lock();
  });

  it('identities: link key pair, audit signature and state MAC are the published ones', () => {
    const key = unlock();
    const link = key.linkKeyPair();
    expect(link.publicKey).toEqual(made.linkPublicKey);
    expect(x25519.getPublicKey(link.privateKey)).toEqual(made.linkPublicKey);
    const msg = new TextEncoder().encode('audit entry');
    expect(ed25519.verify(key.auditSign(msg), msg, made.auditPublicKey)).toBe(true);
    expect(key.stateMac(msg)).toHaveLength(32);
    expect(key.stateMac(msg)).not.toEqual(hmac(sha256, new Uint8Array(32), msg));
    key.lock();
    // lock() wiped the handed-out copy as well.
    expect(link.privateKey.every((b) => b === 0)).toBe(true);
  });

  it('after lock: liveSecretCount() is 0 and every use throws LOCKED', () => {
    const key = unlock();
    key.linkKeyPair();
    expect(liveSecretCount()).toBeGreaterThan(0);
    key.lock();
    expect(liveSecretCount()).toBe(0);
    expect(key.isLocked).toBe(true);
    const uses = [
      () => key.signDigest(0, 0, new Uint8Array(32)),
      () => key.accountXpub(),
      () => key.fingerprint(),
      () => key.linkKeyPair(),
      () => key.auditSign(new Uint8Array(1)),
      () => key.stateMac(new Uint8Array(1)),
      () => key.publicKeyAt(0, 0),
    ];
    for (const use of uses) {
      try {
        use();
        expect.unreachable();
      } catch (e) {
        expect(isSignerError(e, 'LOCKED')).toBe(true);
      }
    }
    key.lock(); // idempotent
  });

  it('nothing secret leaks through JSON.stringify or util.inspect', () => {
    const key = unlock();
    const shown = `${JSON.stringify(key)} ${inspect(key, { depth: 10, showHidden: true })}`;
    expect(shown).not.toMatch(/[xt]prv/);
    expect(shown).not.toContain('privateKey');
    key.lock();
  });

  it('wrong network: WRONG_NETWORK', () => {
    try {
      unlockKeyFile(text, pass(), 'mainnet', WEAK);
      expect.unreachable();
    } catch (e) {
      expect(isSignerError(e, 'WRONG_NETWORK')).toBe(true);
    }
    expect(liveSecretCount()).toBe(0);
  });

  it("attack: a file sealed with the right passphrase but another key's xpub is refused", () => {
    // Someone who knows the passphrase re-seals the entropy with a foreign xpub in the metadata
    // (so the coordinator would register the wrong cosigner). Unlock recomputes and refuses.
    const other = keygen({
      network: 'regtest',
      passphrase: pass(),
      backupPassphrase: pass('another vault passphrase'),
      random: seededRandom('other'),
      ...WEAK,
    });
    const entropy = openKeyFile(made.keyFile, pass(), {
      expectedNetwork: 'regtest',
      allowWeakKdfForTests: true,
    });
    const forged = sealKeyFile(
      {
        kind: 'device-key',
        network: 'regtest',
        meta: { ...made.keyFile.public, accountXpub: other.xpub },
        plaintext: entropy,
      },
      pass(),
      WEAK,
    );
    releaseSecret(entropy);
    try {
      unlockKeyFile(forged, pass(), 'regtest', WEAK);
      expect.unreachable();
    } catch (e) {
      expect(isSignerError(e, 'BAD_KEY_FILE')).toBe(true);
    }
    expect(liveSecretCount()).toBe(0);
  });

  it('consumes the passphrase even when unlocking fails', () => {
    const p = pass('wrong passphrase here');
    expect(() => unlockKeyFile(text, p, 'regtest', WEAK)).toThrow(/passphrase/);
    expect(p.every((b) => b === 0)).toBe(true);
    const q = pass();
    expect(() => unlockKeyFile('{', q, 'regtest', WEAK)).toThrow(/JSON/);
    expect(q.every((b) => b === 0)).toBe(true);
  });

  it("fromEntropy does not keep or wipe the caller's entropy", () => {
    const entropy = new Uint8Array(32).fill(7);
    const key = UnlockedKey.fromEntropy(entropy, 'signet');
    expect(entropy.every((b) => b === 7)).toBe(true);
    key.lock();
    expect(liveSecretCount()).toBe(0);
  });
});

/**
 * The signing path on libsecp256k1 (tiny-secp256k1): the same bytes as the noble RFC 6979
 * reference, low S always, strict verification, and the keystore's CKDpriv giving the key
 * @scure/bip32 gives.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import * as secp from '@noble/secp256k1';
import { HDKey } from '@scure/bip32';
import fc from 'fast-check';
import * as tiny from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import { isSignerError } from '../../src/errors.js';
import { signDigestWithKey, verifyDigestSignature } from '../../src/keystore/ecdsa.js';
import { UnlockedKey } from '../../src/keystore/keystore.js';
import { entropyToSeed } from '../../src/keystore/mnemonic.js';
import { verifyInputSignature } from '../../src/psbt/signature.js';

secp.hashes.hmacSha256 = (k: Uint8Array, m: Uint8Array) => hmac(sha256, k, m);
secp.hashes.sha256 = sha256;
const N = secp256k1.Point.CURVE().n;
const HALF_N = N >> 1n;
const validKey = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((k) => secp.utils.isValidSecretKey(k));
const digest32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

function highSTwin(sigWithType: Uint8Array): Uint8Array {
  const s = secp256k1.Signature.fromBytes(sigWithType.subarray(0, -1), 'der');
  const twin = new secp256k1.Signature(s.r, N - s.s).toBytes('der');
  return Uint8Array.from([...twin, 0x01]);
}

describe('signDigestWithKey on libsecp256k1', () => {
  it('gives exactly the noble RFC 6979 low-S signature (random keys and digests)', () => {
    fc.assert(
      fc.property(validKey, digest32, (key, digest) => {
        const { signature, pubkey } = signDigestWithKey(key, digest);
        const ref = secp256k1.Signature.fromBytes(
          secp.sign(digest, key, { prehash: false, lowS: true }),
          'compact',
        ).toBytes('der');
        expect(signature).toEqual(Uint8Array.from([...ref, 0x01]));
        expect(pubkey).toEqual(secp.getPublicKey(key, true));
        const s = secp256k1.Signature.fromBytes(signature.subarray(0, -1), 'der').s;
        expect(s <= HALF_N).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a private key of zero or >= n in memory (STATE_CORRUPT), never signs with it', () => {
    const d = sha256(Uint8Array.of(1));
    for (const bad of [new Uint8Array(32), new Uint8Array(32).fill(0xff)]) {
      try {
        signDigestWithKey(bad, d);
        expect.unreachable();
      } catch (e) {
        expect(isSignerError(e, 'STATE_CORRUPT')).toBe(true);
        expect((e as Error).message).toMatch(/^ecdsa\/sign: expected a private key in 1\.\.n-1/);
      }
    }
  });
});

describe('strict verification (attacks)', () => {
  const key = sha256(Uint8Array.of(42));
  const digest = sha256(Uint8Array.of(43));
  const { signature, pubkey } = signDigestWithKey(key, digest);

  it('the malleated high-S twin is refused by verifyInputSignature and verifyDigestSignature', () => {
    const twin = highSTwin(signature);
    expect(verifyInputSignature(pubkey, digest, signature)).toBe(true);
    expect(verifyInputSignature(pubkey, digest, twin)).toBe(false);
    expect(verifyDigestSignature(twin, digest, pubkey)).toBe(false);
  });

  it('libsecp strict mode refuses the high-S twin on its own (the second barrier behind isLowS)', () => {
    const s = secp256k1.Signature.fromBytes(signature.subarray(0, -1), 'der');
    const low = s.toBytes('compact');
    const high = new secp256k1.Signature(s.r, N - s.s).toBytes('compact');
    expect(tiny.verify(digest, pubkey, low, true)).toBe(true);
    expect(tiny.verify(digest, pubkey, high, true)).toBe(false);
    expect(tiny.verify(digest, pubkey, high, false)).toBe(true);
  });

  it('a signature over sha256(digest), another key, a pubkey off the curve: false, no throw', () => {
    const hashedAgain = signDigestWithKey(key, sha256(digest)).signature;
    expect(verifyInputSignature(pubkey, digest, hashedAgain)).toBe(false);
    const other = signDigestWithKey(sha256(Uint8Array.of(44)), digest).pubkey;
    expect(verifyInputSignature(other, digest, signature)).toBe(false);
    const offCurve = new Uint8Array(33);
    offCurve[0] = 2;
    offCurve[32] = 5;
    expect(verifyInputSignature(offCurve, digest, signature)).toBe(false);
    expect(verifyDigestSignature(signature, digest, offCurve)).toBe(false);
  });
});

describe('UnlockedKey.signDigest (CKDpriv on libsecp)', () => {
  it('signs with the key @scure/bip32 derives at account/branch/index', () => {
    const entropy = new Uint8Array(32).fill(0x33);
    const unlocked = UnlockedKey.fromEntropy(entropy, 'testnet');
    const seed = entropyToSeed(entropy);
    const account = HDKey.fromMasterSeed(seed, { private: 0x04358394, public: 0x043587cf }).derive(
      "m/48'/1'/0'/2'",
    );
    try {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 1 }),
          fc.integer({ min: 0, max: 0x7fffffff }),
          digest32,
          (branch, index, digest) => {
            const child = account.deriveChild(branch).deriveChild(index);
            const ref = signDigestWithKey(child.privateKey as Uint8Array, digest);
            child.wipePrivateData();
            const got = unlocked.signDigest(branch as 0 | 1, index, digest);
            expect(got.pubkey).toEqual(ref.pubkey);
            expect(got.signature).toEqual(ref.signature);
            expect(got.pubkey).toEqual(unlocked.publicKeyAt(branch as 0 | 1, index));
          },
        ),
        { numRuns: 60 },
      );
    } finally {
      unlocked.lock();
      account.wipePrivateData();
      seed.fill(0);
    }
  });
});

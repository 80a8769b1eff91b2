import { readFileSync } from 'node:fs';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import * as secp from '@noble/secp256k1';
import { hex } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { signDigestWithKey, verifyDigestSignature } from '../../src/keystore/ecdsa.js';

const v = JSON.parse(
  readFileSync(new URL('../vectors/bip32/vectors.json', import.meta.url), 'utf8'),
) as {
  rfc6979secp256k1: { privateKey: string; message: string; der: string }[];
};
const HALF_N = secp256k1.Point.CURVE().n >> 1n;
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('RFC 6979 secp256k1 vectors (the widely published set, as in CoreBitcoin BTCKey+Tests.m)', () => {
  it.each(v.rfc6979secp256k1)('key $privateKey / "$message"', ({ privateKey, message, der }) => {
    const digest = sha256(utf8(message));
    const { signature, pubkey } = signDigestWithKey(hex.decode(privateKey), digest);
    expect(hex.encode(signature)).toBe(`${der}01`);
    expect(pubkey).toEqual(secp.getPublicKey(hex.decode(privateKey), true));
  });
});

describe('signDigestWithKey', () => {
  const key = sha256(utf8('a test key'));
  it('signs the digest as is (prehash false): a signature over sha256(digest) is NOT what we make', () => {
    const digest = sha256(utf8('sighash'));
    const { signature, pubkey } = signDigestWithKey(key, digest);
    const compact = secp256k1.Signature.fromBytes(signature.subarray(0, -1), 'der').toBytes(
      'compact',
    );
    expect(secp.verify(compact, digest, pubkey, { prehash: false })).toBe(true);
    // The attack-shaped bug: signing sha256(sighash) — would be invalid on chain.
    expect(secp.verify(compact, sha256(digest), pubkey, { prehash: false })).toBe(false);
  });

  it('always low-S, DER, ends with SIGHASH_ALL, verifies', () => {
    for (let i = 0; i < 64; i++) {
      const digest = sha256(utf8(`digest ${i}`));
      const { signature, pubkey } = signDigestWithKey(key, digest);
      expect(signature[signature.length - 1]).toBe(0x01);
      expect(signature[0]).toBe(0x30);
      const sig = secp256k1.Signature.fromBytes(signature.subarray(0, -1), 'der');
      expect(sig.s <= HALF_N).toBe(true);
      expect(verifyDigestSignature(signature, digest, pubkey)).toBe(true);
    }
  });

  it('is deterministic (RFC 6979): same key and digest, same bytes', () => {
    const d = sha256(utf8('x'));
    expect(signDigestWithKey(key, d).signature).toEqual(signDigestWithKey(key, d).signature);
  });

  it('verifyDigestSignature rejects high-S twins, other sighash bytes, other digests', () => {
    const digest = sha256(utf8('y'));
    const { signature, pubkey } = signDigestWithKey(key, digest);
    const sig = secp256k1.Signature.fromBytes(signature.subarray(0, -1), 'der');
    const high = new secp256k1.Signature(sig.r, secp256k1.Point.CURVE().n - sig.s).toBytes('der');
    expect(verifyDigestSignature(Uint8Array.from([...high, 1]), digest, pubkey)).toBe(false);
    const anyone = Uint8Array.from(signature);
    anyone[anyone.length - 1] = 0x81;
    expect(verifyDigestSignature(anyone, digest, pubkey)).toBe(false);
    expect(verifyDigestSignature(signature, sha256(digest), pubkey)).toBe(false);
  });

  it('refuses a digest that is not 32 bytes', () => {
    expect(() => signDigestWithKey(key, new Uint8Array(31))).toThrow(/32-byte sighash digest/);
    expect(() => signDigestWithKey(key, utf8('a message, not a digest'))).toThrow(
      /got Uint8Array\(23\)/,
    );
  });
});

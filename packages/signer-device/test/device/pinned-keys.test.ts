import { describe, expect, it } from 'vitest';
import {
  checkPinnedKeys,
  checkPinnedSigners,
  type PinnedKey,
  signWith,
  verifyEd25519,
} from '../../src/device/pinned-keys.js';
import { SignerError } from '../../src/errors.js';
import { HOLDER_A, HOLDER_B, HOLDERS, PINNED } from './fixtures.js';

/** The identity point: small order. */
const IDENTITY = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0));

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof SignerError) return e.code;
    throw e;
  }
  return 'none';
}

describe('pinned keys', () => {
  it('accepts the fixture sets', () => {
    expect(() => checkPinnedKeys('t', 'holders', HOLDERS)).not.toThrow();
    expect(() => checkPinnedSigners('t', PINNED)).not.toThrow();
  });

  it('refuses malformed, duplicate or shared keys (BAD_CONFIG)', () => {
    const k = (keyId: string, publicKey: Uint8Array): PinnedKey => ({ keyId, publicKey });
    for (const keys of [
      [],
      [k('a b', HOLDER_A.publicKey)],
      [k('a', HOLDER_A.publicKey.subarray(1))],
      [k('a', HOLDER_A.publicKey), k('a', HOLDER_B.publicKey)],
      [k('a', HOLDER_A.publicKey), k('b', HOLDER_A.publicKey)],
      [null as unknown as PinnedKey],
      [k('identity', IDENTITY)],
      [k('not-a-point', new Uint8Array(32).fill(0xff))],
      Array.from({ length: 17 }, (_, i) => k(`k${i}`, new Uint8Array(32).fill(i))),
    ]) {
      expect(code(() => checkPinnedKeys('t', 'holders', keys))).toBe('BAD_CONFIG');
    }
    expect(
      code(() =>
        checkPinnedSigners('t', { holders: HOLDERS, officers: [HOLDERS[0] as PinnedKey] }),
      ),
    ).toBe('BAD_CONFIG');
  });

  it('verifies strictly and never throws on bad input', () => {
    const m = Uint8Array.of(1, 2, 3);
    const sig = HOLDER_A.sign(m);
    expect(verifyEd25519(HOLDER_A.publicKey, m, sig)).toBe(true);
    expect(verifyEd25519(HOLDER_B.publicKey, m, sig)).toBe(false);
    expect(verifyEd25519(HOLDER_A.publicKey, m, sig.subarray(1))).toBe(false);
    expect(verifyEd25519(new Uint8Array(32).fill(0xff), m, sig)).toBe(false);
    // R = identity, S = 0 under the identity key: valid for any message under ZIP-215 rules
    const trivial = Uint8Array.from({ length: 64 }, (_, i) => (i === 0 ? 1 : 0));
    expect(verifyEd25519(IDENTITY, m, trivial)).toBe(false);
  });

  it('checks what a signer returns', () => {
    const broken = { keyId: 'holder-a', sign: () => new Uint8Array(10) };
    expect(code(() => signWith('t', broken, Uint8Array.of(1)))).toBe('BAD_SIGNED_DOCUMENT');
    expect(code(() => signWith('t', { keyId: '', sign: HOLDER_A.sign }, Uint8Array.of(1)))).toBe(
      'BAD_CONFIG',
    );
  });
});

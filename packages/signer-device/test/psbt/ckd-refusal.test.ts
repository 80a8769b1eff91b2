/**
 * The callers of CKDpub/CKDpriv refuse BIP32's invalid child (no real index reaches it, odds
 * ~2^-127, so the derivation is forced to return null here). @scure/bip32 would silently take
 * index + 1: a key that is not the one the address names.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

const force = vi.hoisted(() => ({ invalid: false }));

vi.mock('../../src/psbt/ckd-pub.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/psbt/ckd-pub.js')>();
  return {
    ...real,
    ckdPub: (parent: Parameters<typeof real.ckdPub>[0], index: number) =>
      force.invalid && index === 77 ? null : real.ckdPub(parent, index),
  };
});
vi.mock('../../src/keystore/ckd-priv.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/keystore/ckd-priv.js')>();
  return {
    ...real,
    ckdPrivScalar: (parent: Parameters<typeof real.ckdPrivScalar>[0], index: number) =>
      force.invalid && index === 77 ? null : real.ckdPrivScalar(parent, index),
  };
});

const { isSignerError } = await import('../../src/errors.js');
const { deriveScript } = await import('../../src/psbt/descriptor.js');
const { UnlockedKey } = await import('../../src/keystore/keystore.js');
const { makeWallet } = await import('./fixtures.js');

function caught(f: () => unknown): { code: string; reason: unknown; message: string } {
  try {
    f();
  } catch (e) {
    if (isSignerError(e)) return { code: e.code, reason: e.detail.reason, message: e.message };
    throw e;
  }
  throw new Error('expected a throw');
}

describe('invalid BIP32 child', () => {
  beforeEach(() => {
    force.invalid = false;
  });

  it('deriveScript refuses (BAD_DESCRIPTOR, reason index) instead of using index 78', () => {
    const wallet = makeWallet();
    expect(deriveScript(wallet, 0, 76).scriptPubKey.length).toBe(34);
    force.invalid = true;
    const e = caught(() => deriveScript(wallet, 0, 77));
    expect(e.code).toBe('BAD_DESCRIPTOR');
    expect(e.reason).toBe('index');
    expect(e.message).toMatch(/^descriptor\/derive: expected a valid BIP32 child at key 0 \/0\/77/);
    expect(deriveScript(wallet, 0, 78).scriptPubKey.length).toBe(34);
  });

  it('signDigest refuses (STATE_CORRUPT) and signs nothing', () => {
    const key = UnlockedKey.fromEntropy(new Uint8Array(32).fill(3), 'testnet');
    try {
      const digest = new Uint8Array(32).fill(1);
      expect(key.signDigest(0, 77, digest).signature.length).toBeGreaterThan(8);
      force.invalid = true;
      const e = caught(() => key.signDigest(0, 77, digest));
      expect(e.code).toBe('STATE_CORRUPT');
      expect(e.message).toMatch(/^keystore\/signDigest: expected a valid BIP32 child at 0\/77/);
    } finally {
      key.lock();
    }
  });
});

import { encodeCanonical } from '@keyline/wire-protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  ACTIVATION_REFUSAL_REASONS,
  activationMessage,
  liveChallenge,
  newActivationChallenge,
  newBootNonce,
  type PendingActivation,
  type SignedActivation,
  signActivation,
  verifyActivation,
} from '../../src/device/activation.js';
import { transition } from '../../src/device/lifecycle.js';
import { SignerError } from '../../src/errors.js';
import {
  DEVICE_ID,
  flip,
  HOLDER_A,
  HOLDER_B,
  HOLDER_C,
  HOLDERS,
  NOW,
  OFFICER_1,
  STRANGER,
  seededRandom,
} from './fixtures.js';

const TTL = 600;

function setup(seed = 1) {
  const random = seededRandom(seed);
  const bootNonce = newBootNonce(random);
  const pending = newActivationChallenge({
    deviceId: DEVICE_ID,
    bootNonce,
    now: NOW,
    ttlSeconds: TTL,
    random,
  });
  return { random, bootNonce, pending };
}

function refusal(f: () => unknown): { code: string; reason: unknown; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof SignerError)
      return { code: e.code, reason: e.detail.reason, message: e.message };
    throw e;
  }
  throw new Error('expected a SignerError');
}

/** Device: holder A's device (own key); B activates. */
const OWN = HOLDER_A.keyId;

describe('activation challenge', () => {
  it('has 32 random bytes, this boot nonce, expiresAt = now + ttl', () => {
    const { bootNonce, pending } = setup();
    expect(pending.challenge).toHaveLength(32);
    expect(pending.bootNonce).toEqual(bootNonce);
    expect(pending.expiresAt).toBe(NOW + TTL);
    expect(pending.deviceId).toBe(DEVICE_ID);
  });

  it('two challenges of the same boot differ; the boot nonce does not', () => {
    const { random, bootNonce, pending } = setup();
    const again = newActivationChallenge({ deviceId: DEVICE_ID, bootNonce, now: NOW, random });
    expect(again.challenge).not.toEqual(pending.challenge);
    expect(again.bootNonce).toEqual(pending.bootNonce);
  });

  it('refuses a broken random source and bad options', () => {
    const zero = () => new Uint8Array(32);
    expect(refusal(() => newBootNonce(zero)).code).toBe('BAD_CONFIG');
    expect(refusal(() => newBootNonce(() => new Uint8Array(31).fill(7))).code).toBe('BAD_CONFIG');
    const { bootNonce, random } = setup();
    const base = { deviceId: DEVICE_ID, bootNonce, now: NOW, random };
    expect(refusal(() => newActivationChallenge({ ...base, ttlSeconds: 0 })).code).toBe(
      'BAD_CONFIG',
    );
    expect(refusal(() => newActivationChallenge({ ...base, deviceId: 'a b' })).code).toBe(
      'BAD_CONFIG',
    );
    expect(refusal(() => newActivationChallenge({ ...base, now: -1 })).code).toBe('CLOCK_REFUSED');
  });

  it('signs domain || canonical CBOR of {deviceId, challenge, bootNonce, expiresAt}', () => {
    const { pending } = setup();
    const body = encodeCanonical({
      expiresAt: pending.expiresAt,
      bootNonce: pending.bootNonce,
      challenge: pending.challenge,
      deviceId: pending.deviceId,
    });
    const want = new Uint8Array([...utf8ToBytes('keyline/activation/v1'), ...body]);
    expect(activationMessage(pending)).toEqual(want);
    const signed = signActivation(pending, HOLDER_B);
    expect(ed25519.verify(signed.signature, want, HOLDER_B.publicKey)).toBe(true);
    expect(signed.holderKeyId).toBe('holder-b');
  });
});

describe('verifyActivation', () => {
  it('accepts a valid activation by a second pinned holder, and the device arms', () => {
    const { pending } = setup();
    const signed = signActivation(pending, HOLDER_B);
    expect(verifyActivation(signed, pending, HOLDERS, OWN, NOW)).toEqual({
      holderKeyId: 'holder-b',
    });
    expect(verifyActivation(signed, pending, HOLDERS, OWN, NOW + TTL - 1).holderKeyId).toBe(
      'holder-b',
    );
    expect(transition('unlocked', 'activated')).toBe('armed');
  });

  it('accepts any holder when the own holder is not configured', () => {
    const { pending } = setup();
    const signed = signActivation(pending, HOLDER_A);
    expect(verifyActivation(signed, pending, HOLDERS, null, NOW).holderKeyId).toBe('holder-a');
  });

  it('refuses an expired challenge (now >= expiresAt) and then drops it', () => {
    const { pending } = setup();
    const signed = signActivation(pending, HOLDER_B);
    const r = refusal(() => verifyActivation(signed, pending, HOLDERS, OWN, NOW + TTL));
    expect(r).toMatchObject({ code: 'UNAUTHORIZED', reason: 'EXPIRED' });
    expect(liveChallenge(pending, NOW + TTL - 1)).toBe(pending);
    expect(liveChallenge(pending, NOW + TTL)).toBeNull();
  });

  it('refuses a wrong challenge, and a signed expiry other than the shown one', () => {
    const { pending } = setup();
    const signed = signActivation(pending, HOLDER_B);
    const other = { ...signed, challenge: flip(signed.challenge, 31) };
    expect(refusal(() => verifyActivation(other, pending, HOLDERS, OWN, NOW)).reason).toBe(
      'WRONG_CHALLENGE',
    );
    // a holder who signs a longer expiry than the device shows does not extend the challenge
    const longer = signActivation({ ...pending, expiresAt: pending.expiresAt + 86_400 }, HOLDER_B);
    expect(refusal(() => verifyActivation(longer, pending, HOLDERS, OWN, NOW)).reason).toBe(
      'WRONG_CHALLENGE',
    );
  });

  it('refuses a reused challenge: once used it is gone, and the next unlock makes a new one', () => {
    const { random, bootNonce, pending } = setup();
    const signed = signActivation(pending, HOLDER_B);
    verifyActivation(signed, pending, HOLDERS, OWN, NOW);
    // the device drops the pending challenge on success
    expect(refusal(() => verifyActivation(signed, null, HOLDERS, OWN, NOW)).reason).toBe(
      'NO_CHALLENGE',
    );
    // lock -> unlock in the same boot: a new challenge; the old activation does not fit it
    const fresh = newActivationChallenge({ deviceId: DEVICE_ID, bootNonce, now: NOW + 5, random });
    expect(refusal(() => verifyActivation(signed, fresh, HOLDERS, OWN, NOW + 5)).reason).toBe(
      'WRONG_CHALLENGE',
    );
  });

  it('refuses an activation from another boot', () => {
    const { pending } = setup(1);
    const previousBoot = setup(2).pending;
    const old = signActivation({ ...previousBoot, challenge: pending.challenge }, HOLDER_B);
    expect(refusal(() => verifyActivation(old, pending, HOLDERS, OWN, NOW)).reason).toBe(
      'WRONG_BOOT',
    );
  });

  it('refuses an activation for another device', () => {
    const { pending } = setup();
    const forB = signActivation({ ...pending, deviceId: 'signer-b' }, HOLDER_B);
    expect(refusal(() => verifyActivation(forB, pending, HOLDERS, OWN, NOW)).reason).toBe(
      'WRONG_DEVICE',
    );
  });

  it('refuses an unknown holder and an officer key', () => {
    const { pending } = setup();
    const byStranger = signActivation(pending, STRANGER);
    expect(refusal(() => verifyActivation(byStranger, pending, HOLDERS, OWN, NOW))).toMatchObject({
      code: 'UNAUTHORIZED',
      reason: 'UNKNOWN_HOLDER',
    });
    const byOfficer = signActivation(pending, OFFICER_1);
    expect(refusal(() => verifyActivation(byOfficer, pending, HOLDERS, OWN, NOW)).reason).toBe(
      'UNKNOWN_HOLDER',
    );
    // a stranger's key presented under a pinned holder's key id
    const spoof = { ...byStranger, holderKeyId: 'holder-c' };
    expect(refusal(() => verifyActivation(spoof, pending, HOLDERS, OWN, NOW)).reason).toBe(
      'BAD_SIGNATURE',
    );
  });

  it("refuses the device's own holder even with a valid signature", () => {
    const { pending } = setup();
    const own = signActivation(pending, HOLDER_A);
    expect(refusal(() => verifyActivation(own, pending, HOLDERS, OWN, NOW))).toMatchObject({
      code: 'UNAUTHORIZED',
      reason: 'OWN_HOLDER',
    });
  });

  it('refuses a tampered signature and a signature by another holder under this id', () => {
    const { pending } = setup();
    const signed = signActivation(pending, HOLDER_B);
    for (const i of [0, 31, 32, 63]) {
      const bad = { ...signed, signature: flip(signed.signature, i) };
      expect(refusal(() => verifyActivation(bad, pending, HOLDERS, OWN, NOW)).reason).toBe(
        'BAD_SIGNATURE',
      );
    }
    const byC: SignedActivation = { ...signActivation(pending, HOLDER_C), holderKeyId: 'holder-b' };
    expect(refusal(() => verifyActivation(byC, pending, HOLDERS, OWN, NOW)).reason).toBe(
      'BAD_SIGNATURE',
    );
  });

  it('refuses a malleated signature (S + L) that a lax verifier might accept', () => {
    const { pending } = setup();
    const signed = signActivation(pending, HOLDER_B);
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signed.signature[i] ?? 0);
    const big = s + L;
    const sig = Uint8Array.from(signed.signature);
    let v = big;
    for (let i = 32; i < 64; i++) {
      sig[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    expect(v).toBe(0n); // still fits 32 bytes
    const bad = { ...signed, signature: sig };
    expect(refusal(() => verifyActivation(bad, pending, HOLDERS, OWN, NOW)).reason).toBe(
      'BAD_SIGNATURE',
    );
  });

  it('tells malformed input apart from refusals', () => {
    const { pending } = setup();
    const signed = signActivation(pending, HOLDER_B);
    const short = { ...signed, signature: signed.signature.subarray(0, 63) };
    expect(refusal(() => verifyActivation(short, pending, HOLDERS, OWN, NOW)).code).toBe(
      'BAD_SIGNED_DOCUMENT',
    );
    const extra = { ...signed, note: 'x' } as SignedActivation;
    expect(refusal(() => verifyActivation(extra, pending, HOLDERS, OWN, NOW)).code).toBe(
      'BAD_SIGNED_DOCUMENT',
    );
    expect(
      refusal(() =>
        verifyActivation(null as unknown as SignedActivation, pending, HOLDERS, OWN, NOW),
      ).code,
    ).toBe('BAD_SIGNED_DOCUMENT');
    const corrupt = { ...pending, challenge: new Uint8Array(3) } as PendingActivation;
    expect(refusal(() => verifyActivation(signed, corrupt, HOLDERS, OWN, NOW)).code).toBe(
      'STATE_CORRUPT',
    );
    const dupHolders = [...HOLDERS, { keyId: 'holder-d', publicKey: HOLDER_B.publicKey }];
    expect(refusal(() => verifyActivation(signed, pending, dupHolders, OWN, NOW)).code).toBe(
      'BAD_CONFIG',
    );
    expect(refusal(() => verifyActivation(signed, pending, [], OWN, NOW)).code).toBe('BAD_CONFIG');
    expect(refusal(() => verifyActivation(signed, pending, HOLDERS, OWN, Number.NaN)).code).toBe(
      'CLOCK_REFUSED',
    );
  });

  it('never puts signature or challenge bytes in the message', () => {
    const { pending } = setup();
    const signed = signActivation(pending, HOLDER_B);
    const bad = { ...signed, signature: flip(signed.signature) };
    const r = refusal(() => verifyActivation(bad, pending, HOLDERS, OWN, NOW));
    const hex = Buffer.from(signed.signature).toString('hex').slice(0, 16);
    expect(r.message).not.toContain(hex);
    expect(r.message).toMatch(/^device\/activation\/verify: expected /);
  });

  it('has a reason table entry for every reason it can give', () => {
    expect(Object.isFrozen(ACTIVATION_REFUSAL_REASONS)).toBe(true);
    expect(Object.keys(ACTIVATION_REFUSAL_REASONS).sort()).toEqual(
      [
        'BAD_SIGNATURE',
        'EXPIRED',
        'NO_CHALLENGE',
        'OWN_HOLDER',
        'UNKNOWN_HOLDER',
        'WRONG_BOOT',
        'WRONG_CHALLENGE',
        'WRONG_DEVICE',
      ].sort(),
    );
  });
});

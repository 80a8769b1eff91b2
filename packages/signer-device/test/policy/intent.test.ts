import { describe, expect, it } from 'vitest';
import { verifyIntent, verifyIntents } from '../../src/policy/intent.js';
import { INTENT_KEY, NOW, OTHER_KEY, script, signIntentRaw } from './fixtures.js';

const content = {
  withdrawalId: 'w-1',
  scriptPubKey: script(1),
  amount: 50_000n,
  expiresAt: NOW + 60,
};

function failure(f: () => unknown): { code?: string; reason?: unknown } {
  try {
    f();
  } catch (e) {
    const err = e as { code?: string; detail?: { reason?: unknown } };
    return { code: err.code, reason: err.detail?.reason };
  }
  return {};
}

describe('verifyIntent', () => {
  it('accepts an intent signed by a policy intent key, under any of them', () => {
    const v = verifyIntent(
      signIntentRaw(content),
      [OTHER_KEY.publicKey, INTENT_KEY.publicKey],
      NOW,
    );
    expect(v.withdrawalId).toBe('w-1');
    expect(v.amount).toBe(50_000n);
    expect(v.keyIndex).toBe(1);
  });

  it('refuses a signature by a key that is not in the policy', () => {
    const forged = signIntentRaw(content, OTHER_KEY.secret);
    expect(failure(() => verifyIntent(forged, [INTENT_KEY.publicKey], NOW))).toEqual({
      code: 'UNAUTHORIZED',
      reason: 'NO_VALID_SIGNATURE',
    });
  });

  it('refuses an intent whose amount, script, id or expiry was changed after signing', () => {
    const signed = signIntentRaw(content);
    for (const change of [
      { amount: 50_001n },
      { scriptPubKey: script(2) },
      { withdrawalId: 'w-2' },
      { expiresAt: NOW + 61 },
    ]) {
      expect(
        failure(() => verifyIntent({ ...signed, ...change }, [INTENT_KEY.publicKey], NOW)).code,
      ).toBe('UNAUTHORIZED');
    }
  });

  it('refuses an expired intent (now >= expiresAt)', () => {
    expect(
      failure(() => verifyIntent(signIntentRaw(content), [INTENT_KEY.publicKey], NOW + 60)),
    ).toEqual({ code: 'POLICY_REFUSED', reason: 'INTENT_EXPIRED' });
    expect(verifyIntent(signIntentRaw(content), [INTENT_KEY.publicKey], NOW + 59).expiresAt).toBe(
      NOW + 60,
    );
  });

  it('refuses malformed intents as BAD_SIGNED_DOCUMENT', () => {
    const signed = signIntentRaw(content);
    expect(
      failure(() => verifyIntent({ ...signed, extra: 1 }, [INTENT_KEY.publicKey], NOW)).code,
    ).toBe('BAD_SIGNED_DOCUMENT');
    expect(
      failure(() =>
        verifyIntent({ ...signed, signature: new Uint8Array(63) }, [INTENT_KEY.publicKey], NOW),
      ).code,
    ).toBe('BAD_SIGNED_DOCUMENT');
    expect(
      failure(() => verifyIntent({ ...signed, amount: -1 }, [INTENT_KEY.publicKey], NOW)).code,
    ).toBe('BAD_SIGNED_DOCUMENT');
    expect(failure(() => verifyIntents('x' as never, [INTENT_KEY.publicKey], NOW)).code).toBe(
      'BAD_SIGNED_DOCUMENT',
    );
  });
});

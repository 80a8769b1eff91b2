import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import { INTENT_SIGNING_DOMAIN, signWithdrawalIntent } from '../../src/risk/index.js';

/**
 * The device's verifier, loaded from its source. The specifier is a variable so that tsc does not
 * pull signer-device sources into this package's program (its rootDir is this package).
 */
const DEVICE_INTENT = '../../../signer-device/src/policy/intent.js';
interface DeviceIntentModule {
  INTENT_SIGNING_DOMAIN: string;
  verifyIntent(
    intent: unknown,
    keys: readonly Uint8Array[],
    now: number,
  ): {
    withdrawalId: string;
    scriptPubKey: Uint8Array;
    amount: bigint;
    expiresAt: number;
    keyIndex: number;
  };
}
const device = (await import(/* @vite-ignore */ DEVICE_INTENT)) as DeviceIntentModule;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isCoordinatorError(e)) return e.code;
    throw e;
  }
  return undefined;
}

const secret = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const pub = ed25519.getPublicKey(secret);
const content = {
  withdrawalId: 'w-123',
  scriptPubKey: Uint8Array.from([0x00, 0x14, ...new Uint8Array(20).fill(7)]),
  amount: 123_456_789n,
  expiresAt: 1_900_000_000,
};

describe('signWithdrawalIntent', () => {
  it('uses the same domain as the device', () => {
    expect(INTENT_SIGNING_DOMAIN).toBe(device.INTENT_SIGNING_DOMAIN);
  });

  it("produces an intent the device's verifyIntent accepts", () => {
    const intent = signWithdrawalIntent(content, secret);
    const other = ed25519.getPublicKey(new Uint8Array(32).fill(9));
    const v = device.verifyIntent(intent, [other, pub], 1_800_000_000);
    expect(v.withdrawalId).toBe('w-123');
    expect(v.amount).toBe(123_456_789n);
    expect(v.scriptPubKey).toEqual(content.scriptPubKey);
    expect(v.keyIndex).toBe(1);
  });

  it('attack: the device refuses a signed intent whose amount or destination was changed', () => {
    const intent = signWithdrawalIntent(content, secret);
    const raised = { ...intent, amount: intent.amount + 1n };
    expect(() => device.verifyIntent(raised, [pub], 1_800_000_000)).toThrow(
      /UNAUTHORIZED|signature/,
    );
    const swapped = { ...intent, scriptPubKey: new Uint8Array(22).fill(1) };
    expect(() => device.verifyIntent(swapped, [pub], 1_800_000_000)).toThrow();
    const other = signWithdrawalIntent(content, new Uint8Array(32).fill(3));
    expect(() => device.verifyIntent(other, [pub], 1_800_000_000)).toThrow();
  });

  it('does not keep a view of the caller buffers', () => {
    const spk = new Uint8Array(content.scriptPubKey);
    const intent = signWithdrawalIntent({ ...content, scriptPubKey: spk }, secret);
    spk[0] = 0x51;
    expect(intent.scriptPubKey[0]).toBe(0x00);
    expect(Object.isFrozen(intent)).toBe(true);
  });

  it('refuses malformed content and keys without echoing key bytes', () => {
    expect(code(() => signWithdrawalIntent({ ...content, amount: 5 as never }, secret))).toBe(
      'BAD_AMOUNT',
    );
    expect(code(() => signWithdrawalIntent({ ...content, amount: -1n }, secret))).toBe(
      'BAD_REQUEST',
    );
    expect(
      code(() => signWithdrawalIntent({ ...content, amount: 2_100_000_000_000_001n }, secret)),
    ).toBe('BAD_REQUEST');
    expect(code(() => signWithdrawalIntent({ ...content, withdrawalId: '' }, secret))).toBe(
      'BAD_REQUEST',
    );
    expect(
      code(() => signWithdrawalIntent({ ...content, scriptPubKey: new Uint8Array(0) }, secret)),
    ).toBe('BAD_REQUEST');
    expect(code(() => signWithdrawalIntent({ ...content, expiresAt: -1 }, secret))).toBe(
      'BAD_REQUEST',
    );
    try {
      signWithdrawalIntent(content, new Uint8Array(31).fill(0xab));
      expect.unreachable();
    } catch (e) {
      expect(isCoordinatorError(e, 'BAD_REQUEST')).toBe(true);
      expect(String((e as Error).message)).not.toMatch(/ab|171/);
    }
  });
});

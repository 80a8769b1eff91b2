import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import {
  encodePolicyDocument,
  hashPolicyDocument,
  type PolicyDocumentInput,
} from '../../src/policy/document.js';
import {
  type PinnedOfficers,
  type PolicyApproval,
  policyApprovalMessage,
  verifyPolicyUpdate,
} from '../../src/policy/signed-policy.js';
import { baseDoc, DAY, DEVICE_ID, NOW, OFFICERS, seedKey } from './fixtures.js';

const pinned: PinnedOfficers = {
  officers: OFFICERS.map(({ keyId, publicKey }) => ({ keyId, publicKey })),
  threshold: 2,
  network: 'regtest',
};

function approve(
  bytes: Uint8Array,
  who: number[],
  secretOf = (i: number) => OFFICERS[i]!.secret,
): PolicyApproval[] {
  const msg = policyApprovalMessage(hashPolicyDocument(bytes));
  return who.map((i) => ({ keyId: OFFICERS[i]!.keyId, signature: ed25519.sign(msg, secretOf(i)) }));
}

function doc(over: Partial<PolicyDocumentInput> = {}): Uint8Array {
  return encodePolicyDocument(
    baseDoc([{ type: 'maxPerTransaction', maxAmount: 1_000_000n }], over),
  );
}

function failure(f: () => unknown): { code?: string; reason?: unknown } {
  try {
    f();
  } catch (e) {
    const err = e as { code?: string; detail?: { reason?: unknown } };
    return { code: err.code, reason: err.detail?.reason };
  }
  return {};
}

const v1 = doc();
const v1hash = new Uint8Array(hashPolicyDocument(v1));
const current = { version: 1, hash: v1hash };

describe('verifyPolicyUpdate', () => {
  it('accepts the first policy with M signatures and returns the parsed document', () => {
    const r = verifyPolicyUpdate(
      { documentBytes: v1, approvals: approve(v1, [0, 2]) },
      pinned,
      null,
      DEVICE_ID,
      NOW,
    );
    expect(r.document.version).toBe(1);
    expect(r.hash).toEqual(v1hash);
    expect(r.signers).toEqual(['officer-1', 'officer-3']);
  });

  it('accepts a chained successor', () => {
    const v2 = doc({ version: 2, previous: v1hash });
    const r = verifyPolicyUpdate(
      { documentBytes: v2, approvals: approve(v2, [0, 1]) },
      pinned,
      current,
      DEVICE_ID,
      NOW,
    );
    expect(r.document.version).toBe(2);
  });

  it('refuses M−1 signatures', () => {
    expect(
      failure(() =>
        verifyPolicyUpdate(
          { documentBytes: v1, approvals: approve(v1, [1]) },
          pinned,
          null,
          DEVICE_ID,
          NOW,
        ),
      ),
    ).toEqual({ code: 'UNAUTHORIZED', reason: 'THRESHOLD_NOT_MET' });
  });

  it('counts a duplicated signature once', () => {
    const a = approve(v1, [1]);
    expect(
      failure(() =>
        verifyPolicyUpdate(
          { documentBytes: v1, approvals: [...a, ...a] },
          pinned,
          null,
          DEVICE_ID,
          NOW,
        ),
      ).code,
    ).toBe('UNAUTHORIZED');
  });

  it('ignores a signature from an unpinned key', () => {
    const stranger = seedKey(77);
    const msg = policyApprovalMessage(v1hash);
    const approvals = [
      ...approve(v1, [0]),
      { keyId: 'officer-9', signature: ed25519.sign(msg, stranger.secret) },
      // an unpinned key claiming a pinned officer's id does not verify either
      { keyId: 'officer-2', signature: ed25519.sign(msg, stranger.secret) },
    ];
    expect(
      failure(() =>
        verifyPolicyUpdate({ documentBytes: v1, approvals }, pinned, null, DEVICE_ID, NOW),
      ).code,
    ).toBe('UNAUTHORIZED');
  });

  it('refuses tampered document bytes', () => {
    const approvals = approve(v1, [0, 1]);
    const tampered = new Uint8Array(v1);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    expect(
      failure(() =>
        verifyPolicyUpdate({ documentBytes: tampered, approvals }, pinned, null, DEVICE_ID, NOW),
      ).code,
    ).toBe('UNAUTHORIZED');
  });

  it('refuses signed but non-canonical CBOR as BAD_POLICY', () => {
    const loose = new Uint8Array(v1.length + 1);
    loose.set([0xb8, 0x0b]);
    loose.set(v1.subarray(1), 2);
    expect(
      failure(() =>
        verifyPolicyUpdate(
          { documentBytes: loose, approvals: approve(loose, [0, 1]) },
          pinned,
          null,
          DEVICE_ID,
          NOW,
        ),
      ).code,
    ).toBe('BAD_POLICY');
  });

  it('refuses rollback: a lower or equal version', () => {
    const v2 = doc({ version: 2, previous: v1hash });
    const cur2 = { version: 2, hash: hashPolicyDocument(v2) };
    expect(
      failure(() =>
        verifyPolicyUpdate(
          { documentBytes: v1, approvals: approve(v1, [0, 1]) },
          pinned,
          cur2,
          DEVICE_ID,
          NOW,
        ),
      ),
    ).toEqual({ code: 'STALE_POLICY', reason: 'ROLLBACK' });
    expect(
      failure(() =>
        verifyPolicyUpdate(
          { documentBytes: v2, approvals: approve(v2, [0, 1]) },
          pinned,
          cur2,
          DEVICE_ID,
          NOW,
        ),
      ),
    ).toEqual({ code: 'STALE_POLICY', reason: 'ROLLBACK' });
  });

  it('refuses a wrong previous hash', () => {
    const v2 = doc({ version: 2, previous: new Uint8Array(32).fill(9) });
    expect(
      failure(() =>
        verifyPolicyUpdate(
          { documentBytes: v2, approvals: approve(v2, [0, 1]) },
          pinned,
          current,
          DEVICE_ID,
          NOW,
        ),
      ),
    ).toEqual({ code: 'STALE_POLICY', reason: 'BROKEN_CHAIN' });
  });

  it('refuses an expired policy, at the expiry second', () => {
    const old = doc({ issuedAt: NOW - 2 * DAY, expiresAt: NOW });
    expect(
      failure(() =>
        verifyPolicyUpdate(
          { documentBytes: old, approvals: approve(old, [0, 1]) },
          pinned,
          null,
          DEVICE_ID,
          NOW,
        ),
      ),
    ).toEqual({ code: 'STALE_POLICY', reason: 'EXPIRED' });
  });

  it('refuses a policy for another device or network', () => {
    const other = doc({ devices: ['signer-z'] });
    expect(
      failure(() =>
        verifyPolicyUpdate(
          { documentBytes: other, approvals: approve(other, [0, 1]) },
          pinned,
          null,
          DEVICE_ID,
          NOW,
        ),
      ),
    ).toEqual({ code: 'STALE_POLICY', reason: 'NOT_TARGETED' });
    const main = doc({ network: 'mainnet' });
    expect(
      failure(() =>
        verifyPolicyUpdate(
          { documentBytes: main, approvals: approve(main, [0, 1]) },
          pinned,
          null,
          DEVICE_ID,
          NOW,
        ),
      ),
    ).toEqual({ code: 'STALE_POLICY', reason: 'WRONG_NETWORK' });
  });

  it('refuses malformed updates and pinned sets', () => {
    const ok = approve(v1, [0, 1]);
    expect(
      failure(() =>
        verifyPolicyUpdate({ documentBytes: v1, approvals: [] }, pinned, null, DEVICE_ID, NOW),
      ).code,
    ).toBe('BAD_SIGNED_DOCUMENT');
    expect(
      failure(() =>
        verifyPolicyUpdate(
          { documentBytes: v1, approvals: [{ keyId: 'officer-1', signature: new Uint8Array(63) }] },
          pinned,
          null,
          DEVICE_ID,
          NOW,
        ),
      ).code,
    ).toBe('BAD_SIGNED_DOCUMENT');
    const dupKeys = {
      ...pinned,
      officers: [pinned.officers[0]!, { keyId: 'alias', publicKey: pinned.officers[0]!.publicKey }],
    };
    expect(
      failure(() =>
        verifyPolicyUpdate({ documentBytes: v1, approvals: ok }, dupKeys, null, DEVICE_ID, NOW),
      ).code,
    ).toBe('BAD_CONFIG');
    expect(
      failure(() =>
        verifyPolicyUpdate(
          { documentBytes: v1, approvals: ok },
          { ...pinned, threshold: 4 },
          null,
          DEVICE_ID,
          NOW,
        ),
      ).code,
    ).toBe('BAD_CONFIG');
  });
});

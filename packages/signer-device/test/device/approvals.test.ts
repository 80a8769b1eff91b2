import { encodeCanonical } from '@keyline/wire-protocol';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { newBootNonce } from '../../src/device/activation.js';
import {
  type Approval,
  newPauseRecord,
  type PauseRecord,
  pauseMessage,
  resumeMessage,
  signPause,
  signResume,
  verifyPause,
  verifyResume,
} from '../../src/device/approvals.js';
import { transition } from '../../src/device/lifecycle.js';
import type { PinnedSigners } from '../../src/device/pinned-keys.js';
import { SignerError } from '../../src/errors.js';
import {
  DEVICE_ID,
  flip,
  HOLDER_A,
  HOLDER_B,
  HOLDER_C,
  NOW,
  OFFICER_1,
  OFFICER_2,
  PINNED,
  STRANGER,
  seededRandom,
} from './fixtures.js';

function fail(f: () => unknown): SignerError {
  try {
    f();
  } catch (e) {
    if (e instanceof SignerError) return e;
    throw e;
  }
  throw new Error('expected a SignerError');
}

const random = seededRandom(7);
const bootNonce = newBootNonce(random);
const device = { deviceId: DEVICE_ID, bootNonce };
const REASON = '3 refusals in 10 min';

describe('pause', () => {
  it('signs domain || canonical CBOR {deviceId, bootNonce, reason}', () => {
    const body = encodeCanonical({ reason: REASON, deviceId: DEVICE_ID, bootNonce });
    expect(pauseMessage({ ...device, reason: REASON })).toEqual(
      new Uint8Array([...utf8ToBytes('keyline/pause/v1'), ...body]),
    );
  });

  it('accepts one approval by a pinned holder, or by a pinned officer', () => {
    const byHolder = signPause({ ...device, reason: REASON }, HOLDER_C);
    expect(verifyPause({ reason: REASON, approval: byHolder }, device, PINNED)).toEqual({
      keyId: 'holder-c',
      role: 'holder',
    });
    const byOfficer = signPause({ ...device, reason: REASON }, OFFICER_2);
    expect(verifyPause({ reason: REASON, approval: byOfficer }, device, PINNED)).toEqual({
      keyId: 'officer-2',
      role: 'officer',
    });
    expect(transition('armed', 'pause')).toBe('paused');
  });

  it('refuses an unknown key, a tampered signature, another reason, another device or boot', () => {
    const stranger = signPause({ ...device, reason: REASON }, STRANGER);
    expect(
      fail(() => verifyPause({ reason: REASON, approval: stranger }, device, PINNED)).detail,
    ).toMatchObject({ reason: 'UNKNOWN_SIGNER' });
    const ok = signPause({ ...device, reason: REASON }, OFFICER_1);
    const tampered = { ...ok, signature: flip(ok.signature, 5) };
    const e = fail(() => verifyPause({ reason: REASON, approval: tampered }, device, PINNED));
    expect(e.code).toBe('UNAUTHORIZED');
    expect(e.detail.reason).toBe('BAD_SIGNATURE');
    expect(
      fail(() => verifyPause({ reason: 'other', approval: ok }, device, PINNED)).detail.reason,
    ).toBe('BAD_SIGNATURE');
    const other = { deviceId: 'signer-b', bootNonce };
    expect(
      fail(() => verifyPause({ reason: REASON, approval: ok }, other, PINNED)).detail.reason,
    ).toBe('BAD_SIGNATURE');
    const nextBoot = { deviceId: DEVICE_ID, bootNonce: newBootNonce(random) };
    expect(
      fail(() => verifyPause({ reason: REASON, approval: ok }, nextBoot, PINNED)).detail.reason,
    ).toBe('BAD_SIGNATURE');
  });

  it('tells a malformed request apart from a refusal', () => {
    const ok = signPause({ ...device, reason: REASON }, OFFICER_1);
    const short = { ...ok, signature: ok.signature.subarray(1) };
    expect(fail(() => verifyPause({ reason: REASON, approval: short }, device, PINNED)).code).toBe(
      'BAD_SIGNED_DOCUMENT',
    );
    expect(
      fail(() => verifyPause({ reason: 'x'.repeat(257), approval: ok }, device, PINNED)).code,
    ).toBe('BAD_SIGNED_DOCUMENT');
  });
});

describe('resume', () => {
  const pause: PauseRecord = newPauseRecord({ ...device, now: NOW, random });

  it('binds the resume to {deviceId, bootNonce, pausedAt, pauseNonce}', () => {
    expect(pause.pausedAt).toBe(NOW);
    expect(pause.pauseNonce).toHaveLength(32);
    const body = encodeCanonical({
      deviceId: DEVICE_ID,
      bootNonce,
      pausedAt: NOW,
      pauseNonce: pause.pauseNonce,
    });
    expect(resumeMessage(pause)).toEqual(
      new Uint8Array([...utf8ToBytes('keyline/resume/v1'), ...body]),
    );
  });

  it('accepts two distinct pinned holders', () => {
    const approvals = [signResume(pause, HOLDER_C), signResume(pause, HOLDER_A)];
    expect(verifyResume(approvals, pause, PINNED)).toEqual({ holders: ['holder-a', 'holder-c'] });
    expect(transition('paused', 'resume')).toBe('armed');
  });

  it('refuses one holder', () => {
    const e = fail(() => verifyResume([signResume(pause, HOLDER_A)], pause, PINNED));
    expect(e.code).toBe('UNAUTHORIZED');
    expect(e.detail.reason).toBe('THRESHOLD_NOT_MET');
  });

  it('refuses the same holder twice', () => {
    const a = signResume(pause, HOLDER_B);
    const e = fail(() => verifyResume([a, a], pause, PINNED));
    expect(e.detail).toMatchObject({
      reason: 'THRESHOLD_NOT_MET',
      rejected: [{ index: 1, reason: 'DUPLICATE_HOLDER' }],
    });
  });

  it('refuses an officer as a resume signer', () => {
    const e = fail(() =>
      verifyResume([signResume(pause, HOLDER_B), signResume(pause, OFFICER_1)], pause, PINNED),
    );
    expect(e.detail).toMatchObject({
      reason: 'THRESHOLD_NOT_MET',
      rejected: [{ index: 1, reason: 'OFFICER' }],
    });
    const two = [signResume(pause, OFFICER_1), signResume(pause, OFFICER_2)];
    expect(fail(() => verifyResume(two, pause, PINNED)).detail.reason).toBe('THRESHOLD_NOT_MET');
  });

  it('refuses a replayed resume from an earlier pause (same boot, even the same second)', () => {
    const old = [signResume(pause, HOLDER_A), signResume(pause, HOLDER_B)];
    verifyResume(old, pause, PINNED);
    const again = newPauseRecord({ ...device, now: NOW, random });
    expect(again.pausedAt).toBe(pause.pausedAt);
    const e = fail(() => verifyResume(old, again, PINNED));
    expect(e.detail).toMatchObject({
      reason: 'THRESHOLD_NOT_MET',
      rejected: [
        { index: 0, reason: 'BAD_SIGNATURE' },
        { index: 1, reason: 'BAD_SIGNATURE' },
      ],
    });
  });

  it('refuses a pause approval presented as a resume, and a bad or unknown signature', () => {
    const pauseSig = signPause({ ...device, reason: '' }, HOLDER_A);
    const e = fail(() => verifyResume([pauseSig, signResume(pause, HOLDER_B)], pause, PINNED));
    expect(e.detail).toMatchObject({ rejected: [{ index: 0, reason: 'BAD_SIGNATURE' }] });
    const b = signResume(pause, HOLDER_B);
    const stranger: Approval = { ...signResume(pause, STRANGER) };
    expect(fail(() => verifyResume([b, stranger], pause, PINNED)).detail).toMatchObject({
      rejected: [{ index: 1, reason: 'UNKNOWN_HOLDER' }],
    });
  });

  it('counts two valid holders even next to a bad one', () => {
    const bad = { ...signResume(pause, HOLDER_A), signature: new Uint8Array(64) };
    const ok = [bad, signResume(pause, HOLDER_B), signResume(pause, HOLDER_C)];
    expect(verifyResume(ok, pause, PINNED).holders).toEqual(['holder-b', 'holder-c']);
  });

  it('tells malformed input and configuration apart from refusals', () => {
    expect(fail(() => verifyResume([], pause, PINNED)).code).toBe('BAD_SIGNED_DOCUMENT');
    const many = Array.from({ length: 17 }, () => signResume(pause, HOLDER_A));
    expect(fail(() => verifyResume(many, pause, PINNED)).code).toBe('BAD_SIGNED_DOCUMENT');
    const ok = [signResume(pause, HOLDER_A), signResume(pause, HOLDER_B)];
    const corrupt = { ...pause, pauseNonce: new Uint8Array(0) };
    expect(fail(() => verifyResume(ok, corrupt, PINNED)).code).toBe('STATE_CORRUPT');
    const shared: PinnedSigners = {
      holders: PINNED.holders,
      officers: [{ keyId: 'officer-x', publicKey: HOLDER_A.publicKey }],
    };
    expect(fail(() => verifyResume(ok, pause, shared)).code).toBe('BAD_CONFIG');
    const sameId: PinnedSigners = {
      holders: PINNED.holders,
      officers: [{ keyId: 'holder-a', publicKey: OFFICER_1.publicKey }],
    };
    expect(fail(() => verifyResume(ok, pause, sameId)).code).toBe('BAD_CONFIG');
  });

  it('draws a fresh pause nonce and refuses a broken random source', () => {
    expect(newPauseRecord({ ...device, now: NOW, random }).pauseNonce).not.toEqual(
      pause.pauseNonce,
    );
    expect(
      fail(() => newPauseRecord({ ...device, now: NOW, random: () => new Uint8Array(32) })).code,
    ).toBe('BAD_CONFIG');
    expect(fail(() => newPauseRecord({ ...device, now: 1.5, random })).code).toBe('CLOCK_REFUSED');
  });
});

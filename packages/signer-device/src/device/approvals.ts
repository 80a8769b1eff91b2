/**
 * Pause and resume approvals (DESIGN §4). Pure: keys, time and randomness are injected.
 *
 *   pause  = utf8("keyline/pause/v1")  || encodeCanonical({deviceId, bootNonce, reason})
 *            ONE valid signature by a pinned holder OR officer.
 *   resume = utf8("keyline/resume/v1") || encodeCanonical({deviceId, bootNonce, pausedAt,
 *            pauseNonce})
 *            TWO valid signatures by DISTINCT pinned HOLDERS (officers do not count).
 *
 * `pauseNonce` is 32 random bytes drawn when the device pauses (by approval or by refusal
 * lockout), so a resume signed for one pause is useless for any other, even in the same second
 * of the same boot. docs/lifecycle.md §4.
 */
import { approval as approvalSchema, encodeCanonical, text } from '@keyline/wire-protocol';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { SignerError } from '../errors.js';
import { BOOT_NONCE_BYTES, drawNonce, MAX_TIME, type RandomBytes } from './activation.js';
import {
  checkPinnedSigners,
  findKey,
  isBytes,
  isKeyId,
  type MessageSigner,
  type PinnedSigners,
  signWith,
  verifyEd25519,
} from './pinned-keys.js';

export const PAUSE_DOMAIN = 'keyline/pause/v1';
export const RESUME_DOMAIN = 'keyline/resume/v1';
export const PAUSE_NONCE_BYTES = 32;
/** Distinct holders a resume needs. */
export const RESUME_THRESHOLD = 2;
/** Most approvals read from one request (the wire allows 16). */
export const MAX_APPROVALS = 16;

export const APPROVAL_REFUSAL_REASONS = Object.freeze({
  UNKNOWN_SIGNER: 'the pause approval key id is neither a pinned holder nor a pinned officer',
  BAD_SIGNATURE: 'the signature does not verify under the pinned key for its key id',
  THRESHOLD_NOT_MET: `fewer than ${RESUME_THRESHOLD} distinct pinned holders signed this pause's resume`,
} as const);
export type ApprovalRefusalReason = keyof typeof APPROVAL_REFUSAL_REASONS;

/** Why one resume approval did not count (in `detail.rejected`). */
export const RESUME_REJECTIONS = Object.freeze({
  OFFICER: 'an officer key: only holders resume',
  UNKNOWN_HOLDER: 'not a pinned key',
  DUPLICATE_HOLDER: 'this holder already counted',
  BAD_SIGNATURE: 'the signature does not verify over this resume message',
} as const);
export type ResumeRejection = keyof typeof RESUME_REJECTIONS;

export interface Approval {
  readonly keyId: string;
  readonly signature: Uint8Array;
}

export interface PauseContent {
  readonly deviceId: string;
  readonly bootNonce: Uint8Array;
  /** Free text, 0..256 characters (the wire's `pause.reason`). */
  readonly reason: string;
}

/** What the device remembers while paused; the resume is bound to all of it. */
export interface PauseRecord {
  readonly deviceId: string;
  readonly bootNonce: Uint8Array;
  /** Device time of the pause, unix seconds. */
  readonly pausedAt: number;
  readonly pauseNonce: Uint8Array;
}

export interface VerifiedPause {
  readonly keyId: string;
  readonly role: 'holder' | 'officer';
}

export interface VerifiedResume {
  /** The distinct holders whose signatures counted, sorted. */
  readonly holders: readonly string[];
}

const PLACE = 'device/approvals';
const reasonSchema = text(0, 256);
const approvalList = z.array(approvalSchema).min(1).max(MAX_APPROVALS);

function withDomain(domain: string, body: Uint8Array): Uint8Array {
  const d = utf8ToBytes(domain);
  const out = new Uint8Array(d.length + body.length);
  out.set(d, 0);
  out.set(body, d.length);
  return out;
}

function malformed(place: string, message: string): never {
  throw new SignerError('BAD_SIGNED_DOCUMENT', `${place}: ${message}`);
}

function checkDevice(place: string, deviceId: unknown, bootNonce: unknown): void {
  if (!isKeyId(deviceId))
    throw new SignerError('BAD_CONFIG', `${place}: expected a device id (printable ASCII, 1..64)`);
  if (!isBytes(bootNonce, BOOT_NONCE_BYTES))
    throw new SignerError('BAD_CONFIG', `${place}: expected a ${BOOT_NONCE_BYTES}-byte boot nonce`);
}

function checkPauseRecord(place: string, r: PauseRecord): void {
  const bad = (m: string): never => {
    throw new SignerError('STATE_CORRUPT', `${place}: pause record: ${m}`);
  };
  if (typeof r !== 'object' || r === null) bad('expected {deviceId, bootNonce, pausedAt, ...}');
  if (!isKeyId(r.deviceId)) bad('expected a device id');
  if (!isBytes(r.bootNonce, BOOT_NONCE_BYTES)) bad(`expected a ${BOOT_NONCE_BYTES}-byte bootNonce`);
  if (!isBytes(r.pauseNonce, PAUSE_NONCE_BYTES))
    bad(`expected a ${PAUSE_NONCE_BYTES}-byte pauseNonce`);
  if (!Number.isSafeInteger(r.pausedAt) || r.pausedAt < 0 || r.pausedAt > MAX_TIME)
    bad('expected pausedAt as unix seconds 0..2^40');
}

/** The bytes a pause approver signs. */
export function pauseMessage(c: PauseContent): Uint8Array {
  const place = `${PLACE}/pause-message`;
  checkDevice(place, c?.deviceId, c?.bootNonce);
  if (!reasonSchema.safeParse(c.reason).success)
    malformed(place, 'expected reason as well-formed text of 0..256 characters');
  return withDomain(
    PAUSE_DOMAIN,
    encodeCanonical({ deviceId: c.deviceId, bootNonce: c.bootNonce, reason: c.reason }),
  );
}

/** The bytes each resuming holder signs: bound to one pause. */
export function resumeMessage(r: PauseRecord): Uint8Array {
  checkPauseRecord(`${PLACE}/resume-message`, r);
  return withDomain(
    RESUME_DOMAIN,
    encodeCanonical({
      deviceId: r.deviceId,
      bootNonce: r.bootNonce,
      pausedAt: r.pausedAt,
      pauseNonce: r.pauseNonce,
    }),
  );
}

export function signPause(c: PauseContent, signer: MessageSigner): Approval {
  const signature = signWith(`${PLACE}/sign-pause`, signer, pauseMessage(c));
  return { keyId: signer.keyId, signature };
}

export function signResume(r: PauseRecord, holder: MessageSigner): Approval {
  const signature = signWith(`${PLACE}/sign-resume`, holder, resumeMessage(r));
  return { keyId: holder.keyId, signature };
}

/** The record of a new pause (approved, or by refusal lockout): a fresh pauseNonce. */
export function newPauseRecord(options: {
  readonly deviceId: string;
  readonly bootNonce: Uint8Array;
  readonly now: number;
  readonly random: RandomBytes;
}): PauseRecord {
  const place = `${PLACE}/pause-record`;
  checkDevice(place, options?.deviceId, options?.bootNonce);
  const { now } = options;
  if (!Number.isSafeInteger(now) || now < 0 || now > MAX_TIME)
    throw new SignerError(
      'CLOCK_REFUSED',
      `${place}: expected now as unix seconds 0..2^40, got ${String(now)}`,
    );
  return Object.freeze({
    deviceId: options.deviceId,
    bootNonce: Uint8Array.from(options.bootNonce),
    pausedAt: now,
    pauseNonce: drawNonce(place, options.random, PAUSE_NONCE_BYTES),
  });
}

/**
 * Verify a pause request: ONE approval by a pinned holder or officer over `pauseMessage`.
 * Throws BAD_SIGNED_DOCUMENT (shape), BAD_CONFIG (device or pinned keys), UNAUTHORIZED with
 * `detail.reason` UNKNOWN_SIGNER / BAD_SIGNATURE.
 */
export function verifyPause(
  request: { readonly reason: string; readonly approval: Approval },
  device: { readonly deviceId: string; readonly bootNonce: Uint8Array },
  pinned: PinnedSigners,
): VerifiedPause {
  const place = `${PLACE}/pause`;
  if (typeof request !== 'object' || request === null)
    malformed(place, `expected {reason, approval}, got ${typeof request}`);
  if (!approvalSchema.safeParse(request.approval).success)
    malformed(place, 'expected approval {keyId: 1..64 chars, signature: 64 bytes}');
  checkDevice(place, device?.deviceId, device?.bootNonce);
  checkPinnedSigners(place, pinned);
  const message = pauseMessage({ ...device, reason: request.reason });
  const { keyId, signature } = request.approval;
  const holder = findKey(pinned.holders, keyId);
  const officer = holder === undefined ? findKey(pinned.officers, keyId) : undefined;
  const key = holder ?? officer;
  if (key === undefined) {
    throw new SignerError(
      'UNAUTHORIZED',
      `${place}: expected a pinned holder or officer key id, got another`,
      { reason: 'UNKNOWN_SIGNER' satisfies ApprovalRefusalReason },
    );
  }
  if (!verifyEd25519(key.publicKey, message, signature)) {
    throw new SignerError(
      'UNAUTHORIZED',
      `${place}: expected a valid signature by ${key.keyId}, got an invalid one`,
      { reason: 'BAD_SIGNATURE' satisfies ApprovalRefusalReason },
    );
  }
  return Object.freeze({ keyId: key.keyId, role: holder !== undefined ? 'holder' : 'officer' });
}

/**
 * Verify a resume: at least RESUME_THRESHOLD distinct pinned holders over `resumeMessage(pause)`.
 * Officers, unknown keys, repeats of a holder and bad signatures do not count; when too few
 * count, UNAUTHORIZED with `detail.reason` THRESHOLD_NOT_MET and `detail.rejected` =
 * [{index, reason: ResumeRejection}] (no signature bytes). Also BAD_SIGNED_DOCUMENT (shape),
 * BAD_CONFIG (pinned keys), STATE_CORRUPT (pause record).
 */
export function verifyResume(
  approvals: readonly Approval[],
  pause: PauseRecord,
  pinned: PinnedSigners,
): VerifiedResume {
  const place = `${PLACE}/resume`;
  if (!approvalList.safeParse(approvals).success)
    malformed(
      place,
      `expected 1..${MAX_APPROVALS} approvals {keyId: 1..64 chars, signature: 64 bytes}`,
    );
  checkPinnedSigners(place, pinned);
  const message = resumeMessage(pause);
  const counted = new Set<string>();
  const rejected: { index: number; reason: ResumeRejection }[] = [];
  approvals.forEach((a, index) => {
    const key = findKey(pinned.holders, a.keyId);
    if (key === undefined) {
      const officer = findKey(pinned.officers, a.keyId) !== undefined;
      rejected.push({ index, reason: officer ? 'OFFICER' : 'UNKNOWN_HOLDER' });
    } else if (counted.has(key.keyId)) {
      rejected.push({ index, reason: 'DUPLICATE_HOLDER' });
    } else if (!verifyEd25519(key.publicKey, message, a.signature)) {
      rejected.push({ index, reason: 'BAD_SIGNATURE' });
    } else {
      counted.add(key.keyId);
    }
  });
  if (counted.size < RESUME_THRESHOLD) {
    throw new SignerError(
      'UNAUTHORIZED',
      `${place}: expected ${RESUME_THRESHOLD} distinct pinned holders, got ${counted.size}`,
      { reason: 'THRESHOLD_NOT_MET' satisfies ApprovalRefusalReason, rejected },
    );
  }
  return Object.freeze({ holders: Object.freeze([...counted].sort()) });
}

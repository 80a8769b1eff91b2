/**
 * Activation by a second holder (DESIGN §4). After the console unlock (holder 1 proved knowledge
 * of the passphrase) the device makes a single-use challenge; holder 2 signs it with a holder key
 * pinned at enrollment, at another site; the device checks the signed activation against the
 * challenge it made and the pinned keys. Pure: time, randomness and keys are injected.
 *
 *   message = utf8("keyline/activation/v1") || encodeCanonical({deviceId, challenge, bootNonce,
 *             expiresAt})                     (RFC 8949 §4.2.1 deterministic CBOR map)
 *   signature = Ed25519(holder secret, message)
 *
 * docs/lifecycle.md §3.
 */
import { encodeCanonical, signedActivation } from '@keyline/wire-protocol';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import type { z } from 'zod';
import { SignerError } from '../errors.js';
import {
  checkPinnedKeys,
  findKey,
  isBytes,
  isKeyId,
  type MessageSigner,
  type PinnedKey,
  sameBytes,
  signWith,
  verifyEd25519,
} from './pinned-keys.js';

export const ACTIVATION_DOMAIN = 'keyline/activation/v1';
const DOMAIN_BYTES = utf8ToBytes(ACTIVATION_DOMAIN);
export const CHALLENGE_BYTES = 32;
export const BOOT_NONCE_BYTES = 32;
/** Default and largest challenge lifetime, seconds. */
export const DEFAULT_ACTIVATION_TTL = 900;
export const MAX_ACTIVATION_TTL = 86_400;
/** Largest unix time accepted (2^40 s, as the policy): sums of two stay exact in a number. */
export const MAX_TIME = 2 ** 40;

export const ACTIVATION_REFUSAL_REASONS = Object.freeze({
  NO_CHALLENGE: 'no challenge is pending (already used, expired, or the device is not unlocked)',
  WRONG_DEVICE: 'the activation names another device',
  WRONG_BOOT: 'the activation is for another boot of this device (bootNonce differs)',
  WRONG_CHALLENGE: 'the challenge or its expiry is not the one this device is showing',
  EXPIRED: 'the challenge has expired (now >= expiresAt)',
  OWN_HOLDER: "the activator is this device's own holder: a second holder must activate",
  UNKNOWN_HOLDER: 'the key id is not a pinned holder key (officer keys cannot activate)',
  BAD_SIGNATURE: "the signature does not verify under the pinned holder's key",
} as const);
export type ActivationRefusalReason = keyof typeof ACTIVATION_REFUSAL_REASONS;

/** A source of cryptographic randomness: `n` fresh bytes. */
export type RandomBytes = (n: number) => Uint8Array;

/** What the device shows and the holder signs. */
export interface PendingActivation {
  readonly deviceId: string;
  readonly challenge: Uint8Array;
  readonly bootNonce: Uint8Array;
  /** Unix seconds (device time); the challenge is dead from this second on. */
  readonly expiresAt: number;
}

export type SignedActivation = z.output<typeof signedActivation>;

export interface VerifiedActivation {
  readonly holderKeyId: string;
}

const PLACE = 'device/activation';

function refuse(reason: ActivationRefusalReason, message: string): never {
  throw new SignerError('UNAUTHORIZED', `${PLACE}/verify: ${message}`, { reason });
}

function checkTime(place: string, name: string, t: unknown): asserts t is number {
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0 || t > MAX_TIME) {
    throw new SignerError(
      'CLOCK_REFUSED',
      `${place}: expected ${name} as unix seconds 0..2^40, got ${typeof t === 'number' ? String(t) : typeof t}`,
    );
  }
}

/** `n` bytes from `random`, copied; throws BAD_CONFIG for a wrong length or an all-zero draw. */
export function drawNonce(place: string, random: RandomBytes, n: number): Uint8Array<ArrayBuffer> {
  if (typeof random !== 'function') {
    throw new SignerError('BAD_CONFIG', `${place}: expected a random source, got ${typeof random}`);
  }
  const drawn: unknown = random(n);
  if (!isBytes(drawn, n)) {
    throw new SignerError(
      'BAD_CONFIG',
      `${place}: expected ${n} random bytes, got ${isBytes(drawn) ? `${drawn.length} bytes` : typeof drawn}`,
    );
  }
  const out = Uint8Array.from(drawn);
  if (out.every((b) => b === 0)) {
    throw new SignerError('BAD_CONFIG', `${place}: expected random bytes, got ${n} zero bytes`);
  }
  return out;
}

/** The boot nonce: drawn once at boot, the same for every challenge and pause of that boot. */
export function newBootNonce(random: RandomBytes): Uint8Array {
  return drawNonce(`${PLACE}/boot`, random, BOOT_NONCE_BYTES);
}

/** Throws STATE_CORRUPT unless `p` is a well-formed pending activation (device memory). */
export function checkPendingActivation(place: string, p: PendingActivation): void {
  const bad = (m: string): never => {
    throw new SignerError('STATE_CORRUPT', `${place}: pending activation: ${m}`);
  };
  if (typeof p !== 'object' || p === null)
    bad(`expected {deviceId, challenge, bootNonce, expiresAt}, got ${typeof p}`);
  if (!isKeyId(p.deviceId)) bad('expected a device id (printable ASCII, 1..64)');
  if (!isBytes(p.challenge, CHALLENGE_BYTES)) bad(`expected a ${CHALLENGE_BYTES}-byte challenge`);
  if (!isBytes(p.bootNonce, BOOT_NONCE_BYTES))
    bad(`expected a ${BOOT_NONCE_BYTES}-byte boot nonce`);
  if (!Number.isSafeInteger(p.expiresAt) || p.expiresAt < 0 || p.expiresAt > MAX_TIME)
    bad('expected expiresAt as unix seconds 0..2^40');
}

export interface ChallengeOptions {
  readonly deviceId: string;
  readonly bootNonce: Uint8Array;
  /** Device time, unix seconds. */
  readonly now: number;
  readonly ttlSeconds?: number;
  readonly random: RandomBytes;
}

/** A fresh challenge: 32 random bytes, this boot's nonce, expiresAt = now + ttl. */
export function newActivationChallenge(options: ChallengeOptions): PendingActivation {
  const place = `${PLACE}/challenge`;
  if (typeof options !== 'object' || options === null)
    throw new SignerError('BAD_CONFIG', `${place}: expected options, got ${typeof options}`);
  const { deviceId, bootNonce, now, random } = options;
  const ttl = options.ttlSeconds ?? DEFAULT_ACTIVATION_TTL;
  if (!isKeyId(deviceId))
    throw new SignerError('BAD_CONFIG', `${place}: expected a device id (printable ASCII, 1..64)`);
  if (!isBytes(bootNonce, BOOT_NONCE_BYTES))
    throw new SignerError('BAD_CONFIG', `${place}: expected a ${BOOT_NONCE_BYTES}-byte boot nonce`);
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_ACTIVATION_TTL)
    throw new SignerError(
      'BAD_CONFIG',
      `${place}: expected ttlSeconds in 1..${MAX_ACTIVATION_TTL}, got ${String(ttl)}`,
    );
  checkTime(place, 'now', now);
  const challenge = drawNonce(place, random, CHALLENGE_BYTES);
  return Object.freeze({
    deviceId,
    challenge,
    bootNonce: Uint8Array.from(bootNonce),
    expiresAt: now + ttl,
  });
}

/** The bytes a holder signs (and the device verifies) for `p`. */
export function activationMessage(p: PendingActivation): Uint8Array {
  checkPendingActivation(`${PLACE}/message`, p);
  const body = encodeCanonical({
    deviceId: p.deviceId,
    challenge: p.challenge,
    bootNonce: p.bootNonce,
    expiresAt: p.expiresAt,
  });
  const out = new Uint8Array(DOMAIN_BYTES.length + body.length);
  out.set(DOMAIN_BYTES, 0);
  out.set(body, DOMAIN_BYTES.length);
  return out;
}

/** The holder's side: sign the challenge the device showed. The signer keeps its secret. */
export function signActivation(p: PendingActivation, holder: MessageSigner): SignedActivation {
  const message = activationMessage(p);
  const signature = signWith(`${PLACE}/sign`, holder, message);
  return {
    deviceId: p.deviceId,
    challenge: Uint8Array.from(p.challenge),
    bootNonce: Uint8Array.from(p.bootNonce),
    expiresAt: p.expiresAt,
    holderKeyId: holder.keyId,
    signature,
  };
}

/** The pending challenge to keep: null once it has expired (a new one must be made). */
export function liveChallenge(p: PendingActivation | null, now: number): PendingActivation | null {
  if (p === null) return null;
  checkPendingActivation(`${PLACE}/live`, p);
  checkTime(`${PLACE}/live`, 'now', now);
  return now < p.expiresAt ? p : null;
}

/**
 * Verify a signed activation against the challenge this device is showing. Throws:
 * BAD_SIGNED_DOCUMENT (not the wire shape), STATE_CORRUPT (pending malformed), BAD_CONFIG
 * (pinned holders or own key id malformed), CLOCK_REFUSED (now), UNAUTHORIZED with
 * `detail.reason` from ACTIVATION_REFUSAL_REASONS. Every field is compared with the device's
 * own copy, and the signature is checked over the message rebuilt from that copy.
 *
 * Single use: on success the caller drops `pending` (and leaves `unlocked`, the only state in
 * which `activate` runs); on EXPIRED it drops it too (`liveChallenge`). Other refusals keep it.
 */
export function verifyActivation(
  signed: SignedActivation,
  pending: PendingActivation | null,
  pinnedHolders: readonly PinnedKey[],
  ownHolderKeyId: string | null,
  now: number,
): VerifiedActivation {
  const place = `${PLACE}/verify`;
  const parsed = signedActivation.safeParse(signed);
  if (!parsed.success) {
    const where = parsed.error.issues
      .slice(0, 4)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.code}`)
      .join('; ');
    throw new SignerError(
      'BAD_SIGNED_DOCUMENT',
      `${place}: expected a signed activation {deviceId, challenge, bootNonce, expiresAt, holderKeyId, signature}, got ${where}`,
    );
  }
  const s = parsed.data;
  checkPinnedKeys(place, 'holders', pinnedHolders);
  if (ownHolderKeyId !== null && !isKeyId(ownHolderKeyId))
    throw new SignerError('BAD_CONFIG', `${place}: expected the own holder key id or null`);
  checkTime(place, 'now', now);
  if (pending === null) refuse('NO_CHALLENGE', 'expected a pending challenge, got none');
  checkPendingActivation(place, pending);

  if (s.deviceId !== pending.deviceId)
    refuse('WRONG_DEVICE', `expected device ${pending.deviceId}, got another device id`);
  if (!sameBytes(s.bootNonce, pending.bootNonce))
    refuse('WRONG_BOOT', "expected this boot's nonce, got another");
  if (!sameBytes(s.challenge, pending.challenge) || s.expiresAt !== pending.expiresAt)
    refuse('WRONG_CHALLENGE', 'expected the challenge and expiry this device shows, got others');
  if (now >= pending.expiresAt)
    refuse('EXPIRED', `expected now < expiresAt ${pending.expiresAt}, got now ${now}`);
  if (ownHolderKeyId !== null && s.holderKeyId === ownHolderKeyId)
    refuse('OWN_HOLDER', `expected a second holder, got this device's own holder key`);
  const key = findKey(pinnedHolders, s.holderKeyId);
  if (key === undefined) refuse('UNKNOWN_HOLDER', 'expected a pinned holder key id, got another');
  if (!verifyEd25519(key.publicKey, activationMessage(pending), s.signature))
    refuse(
      'BAD_SIGNATURE',
      `expected a valid signature by holder ${key.keyId}, got an invalid one`,
    );
  return Object.freeze({ holderKeyId: key.keyId });
}

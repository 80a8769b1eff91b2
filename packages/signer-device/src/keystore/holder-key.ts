/**
 * Holder and risk-officer keys: Ed25519 (RFC 8032, pure, via @noble/curves). A holder key signs
 * activation challenges; an officer key signs policies. The 32-byte secret key is sealed in a
 * `holder-key` or `officer-key` file; the public key and its key id travel in the clear.
 *
 *   key id = hex(first 8 bytes of SHA-256(public key))
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import { SignerError } from '../errors.js';
import { openKeyFile, parseKeyFile, type SealOptions, sealKeyFile } from './key-file.js';
import type { HolderKeyFile, HolderKind, KdfPolicy, KeyFile } from './key-file-format.js';
import { defaultRandom, drawRandom, type RandomBytes } from './mnemonic.js';
import { releaseSecret, trackSecret, wipeBytes } from './secrets.js';

export const ED25519_SECRET_BYTES = 32;
export const ED25519_PUBLIC_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
export const KEY_ID_BYTES = 8;

/** hex(sha256(publicKey)[0..8]). */
export function keyIdOf(publicKey: Uint8Array): string {
  assertLength(
    publicKey,
    ED25519_PUBLIC_BYTES,
    'holder-key/keyId',
    'an Ed25519 public key',
    'BAD_SIGNED_DOCUMENT',
  );
  return hex.encode(sha256(publicKey).subarray(0, KEY_ID_BYTES));
}

/** A holder/officer key in RAM. `wipe()` zeroes the secret; after that `sign` throws LOCKED. */
export class HolderKey {
  #secret: Uint8Array | undefined;
  readonly publicKey: Uint8Array;
  readonly keyId: string;
  readonly kind: HolderKind;

  /** Takes ownership of `secret` (a registered live secret); it is wiped by `wipe()`. */
  constructor(kind: HolderKind, secret: Uint8Array) {
    assertLength(
      secret,
      ED25519_SECRET_BYTES,
      'holder-key/new',
      'an Ed25519 secret key',
      'BAD_KEY_FILE',
    );
    this.kind = kind;
    this.#secret = secret;
    this.publicKey = ed25519.getPublicKey(secret);
    this.keyId = keyIdOf(this.publicKey);
  }

  /** Ed25519 signature (64 bytes) of `message`. */
  sign(message: Uint8Array): Uint8Array {
    if (this.#secret === undefined) {
      throw new SignerError(
        'LOCKED',
        `holder-key/sign: expected an open ${this.kind}, got a wiped one`,
      );
    }
    if (!(message instanceof Uint8Array)) {
      throw new SignerError(
        'BAD_SIGNED_DOCUMENT',
        `holder-key/sign: expected bytes to sign, got ${typeof message}`,
      );
    }
    return ed25519.sign(message, this.#secret);
  }

  /** Seals this key in a `holder-key`/`officer-key` file under `passphrase` (consumed). */
  seal(passphrase: Uint8Array, options: SealOptions = {}): HolderKeyFile {
    if (this.#secret === undefined) {
      passphrase?.fill?.(0);
      throw new SignerError(
        'LOCKED',
        `holder-key/seal: expected an open ${this.kind}, got a wiped one`,
      );
    }
    const meta = { publicKey: hex.encode(this.publicKey), keyId: this.keyId };
    return sealKeyFile(
      { kind: this.kind, meta, plaintext: this.#secret },
      passphrase,
      options,
    ) as HolderKeyFile;
  }

  get isWiped(): boolean {
    return this.#secret === undefined;
  }

  wipe(): void {
    releaseSecret(this.#secret);
    this.#secret = undefined;
  }

  toJSON(): Record<string, string> {
    return { kind: this.kind, keyId: this.keyId, publicKey: hex.encode(this.publicKey) };
  }
}

/** A fresh holder/officer key from the CSPRNG (or the injected source). */
export function generateHolderKey(
  kind: HolderKind,
  random: RandomBytes = defaultRandom,
): HolderKey {
  const drawn = drawRandom(random, ED25519_SECRET_BYTES, 'holder-key/generate');
  const secret = trackSecret(Uint8Array.from(drawn));
  wipeBytes(drawn);
  return new HolderKey(kind, secret);
}

/** Seals a holder key under a passphrase (consumed). */
export function sealHolderKey(
  key: HolderKey,
  passphrase: Uint8Array,
  options: SealOptions = {},
): HolderKeyFile {
  return key.seal(passphrase, options);
}

/**
 * Opens a holder/officer key file (text or parsed) with its passphrase (consumed). The public key
 * and key id in the file must be those of the secret inside, else BAD_KEY_FILE.
 */
export function openHolderKey(
  file: KeyFile | string,
  passphrase: Uint8Array,
  kind: HolderKind,
  options: KdfPolicy = {},
): HolderKey {
  let parsed: KeyFile;
  try {
    parsed = typeof file === 'string' ? parseKeyFile(file, options) : file;
  } catch (e) {
    passphrase?.fill?.(0);
    throw e;
  }
  const secret = openKeyFile(parsed, passphrase, { kinds: [kind], ...options });
  const key = new HolderKey(kind, secret);
  if ('publicKey' in parsed.public) {
    if (
      parsed.public.publicKey !== hex.encode(key.publicKey) ||
      parsed.public.keyId !== key.keyId
    ) {
      key.wipe();
      throw new SignerError(
        'BAD_KEY_FILE',
        `holder-key/open: expected the file's public key and key id to match the key inside, got a mismatch`,
      );
    }
  }
  return key;
}

/** Verifies an Ed25519 signature. Malformed inputs return false (callers turn that into UNAUTHORIZED). */
export function verifyHolderSignature(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (
    !(publicKey instanceof Uint8Array) ||
    publicKey.length !== ED25519_PUBLIC_BYTES ||
    !(message instanceof Uint8Array) ||
    !(signature instanceof Uint8Array) ||
    signature.length !== ED25519_SIGNATURE_BYTES
  ) {
    return false;
  }
  try {
    return ed25519.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

function assertLength(
  v: unknown,
  length: number,
  place: string,
  what: string,
  code: 'BAD_KEY_FILE' | 'BAD_SIGNED_DOCUMENT',
): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== length) {
    throw new SignerError(
      code,
      `${place}: expected ${what} of ${length} bytes, got ${v instanceof Uint8Array ? `Uint8Array(${v.length})` : typeof v}`,
    );
  }
}

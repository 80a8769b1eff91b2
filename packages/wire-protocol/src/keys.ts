import { equalBytes } from '@noble/ciphers/utils.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { randomBytes as cryptoRandomBytes } from '@noble/hashes/utils.js';
import { WireError } from './errors.js';

/**
 * Static link keys: the X25519 key pair each end holds, and the peer's public key pinned at
 * enrollment. This module only makes and compares keys. Storing them is the caller's job.
 */

/** Bytes of an X25519 private key, public key and shared secret. */
export const KEY_BYTES = 32;

/** A source of random bytes. Tests inject one. The default is the platform CSPRNG. */
export type RandomBytes = (length: number) => Uint8Array;

export interface StaticKeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Checks that `key` is a Uint8Array of exactly 32 bytes. `place` starts the error message. */
export function assertKey(key: unknown, place: string, what: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) {
    throw new WireError(
      'BAD_PARAMS',
      `${place}: expected ${what} as a Uint8Array, got ${typeOf(key)}`,
    );
  }
  if (key.length !== KEY_BYTES) {
    throw new WireError(
      'BAD_PARAMS',
      `${place}: expected ${what} of ${KEY_BYTES} bytes, got ${key.length}`,
    );
  }
}

/** Draws `length` bytes from `random` and checks it returned that many. */
export function drawRandom(random: RandomBytes, length: number, place: string): Uint8Array {
  const bytes = random(length);
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new WireError(
      'INTERNAL',
      `${place}: expected ${length} random bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeOf(bytes)}`,
    );
  }
  return bytes;
}

/** A fresh static key pair. `random` is injectable for tests. */
export function generateStaticKeyPair(random: RandomBytes = cryptoRandomBytes): StaticKeyPair {
  const privateKey = drawRandom(random, KEY_BYTES, 'keys/generate').slice();
  return Object.freeze({ privateKey, publicKey: x25519.getPublicKey(privateKey) });
}

/** The X25519 public key of a 32-byte private key. */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  assertKey(privateKey, 'keys/publicKeyOf', 'a private key');
  return x25519.getPublicKey(privateKey);
}

/**
 * Constant-time equality of two keys. The time depends on the length, which is public, and
 * never on the content.
 */
export function keysEqual(a: Uint8Array, b: Uint8Array): boolean {
  assertKey(a, 'keys/equal', 'the first key');
  assertKey(b, 'keys/equal', 'the second key');
  return equalBytes(a, b);
}

/** Zero every given buffer in place (best effort: JS may hold copies we cannot reach). */
export function wipe(...buffers: (Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  return typeof v;
}

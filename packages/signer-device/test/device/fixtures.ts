/** Shared builders for the device lifecycle tests: keys from fixed seeds, a seeded random source. */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { RandomBytes } from '../../src/device/activation.js';
import type { MessageSigner, PinnedKey, PinnedSigners } from '../../src/device/pinned-keys.js';

export const NOW = 1_800_000_000;
export const DEVICE_ID = 'signer-a';

export interface TestKey extends PinnedKey, MessageSigner {
  readonly secret: Uint8Array;
}

export function testKey(keyId: string, seed: number): TestKey {
  const secret = new Uint8Array(32).fill(seed);
  const publicKey = ed25519.getPublicKey(secret);
  return { keyId, secret, publicKey, sign: (m: Uint8Array) => ed25519.sign(m, secret) };
}

export const HOLDER_A = testKey('holder-a', 1);
export const HOLDER_B = testKey('holder-b', 2);
export const HOLDER_C = testKey('holder-c', 3);
export const OFFICER_1 = testKey('officer-1', 11);
export const OFFICER_2 = testKey('officer-2', 12);
/** Not pinned anywhere. */
export const STRANGER = testKey('stranger', 99);

const pin = (k: TestKey): PinnedKey => ({ keyId: k.keyId, publicKey: k.publicKey });

export const HOLDERS: readonly PinnedKey[] = [HOLDER_A, HOLDER_B, HOLDER_C].map(pin);
export const PINNED: PinnedSigners = {
  holders: HOLDERS,
  officers: [OFFICER_1, OFFICER_2].map(pin),
};

/** Deterministic bytes: sha256(seed || counter) blocks. Not for production. */
export function seededRandom(seed: number): RandomBytes {
  let counter = 0;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 32) {
      const block = sha256(
        Uint8Array.of(seed & 0xff, (seed >> 8) & 0xff, counter & 0xff, counter >> 8),
      );
      counter += 1;
      out.set(block.subarray(0, Math.min(32, n - off)), off);
    }
    return out;
  };
}

/** A copy of `b` with one bit flipped at byte `i`. */
export function flip(b: Uint8Array, i = 0): Uint8Array<ArrayBuffer> {
  const c = Uint8Array.from(b);
  c[i] = (c[i] ?? 0) ^ 0x01;
  return c;
}

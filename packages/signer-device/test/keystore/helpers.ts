import { sha256 } from '@noble/hashes/sha2.js';
import { passphraseFromText } from '../../src/keystore/key-file.js';
import type { RandomBytes } from '../../src/keystore/mnemonic.js';

/** scrypt N=2^10: fast, and only accepted because the option that names the risk is set. */
export const WEAK = Object.freeze({
  kdf: Object.freeze({ N: 2 ** 10, r: 8, p: 1 }),
  allowWeakKdfForTests: true,
});

/** A fresh passphrase buffer each call (the APIs consume and zero what they are given). */
export const pass = (text = 'correct horse battery staple'): Uint8Array => passphraseFromText(text);

/** A deterministic random source for reproducible tests (sha256 counter stream). */
export function seededRandom(label: string): RandomBytes {
  let counter = 0;
  return (n: number) => {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const block = sha256(new TextEncoder().encode(`${label}/${counter++}`));
      out.set(block.subarray(0, Math.min(32, n - filled)), filled);
      filled += 32;
    }
    return out;
  };
}

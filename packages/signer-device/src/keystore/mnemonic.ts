/**
 * BIP39 recovery words for the device key: 24 English words = 256 bits of entropy + an 8-bit
 * checksum. The entropy (32 bytes) is what the key files store; the words exist only to be shown
 * once at the ceremony and typed back at a restore. The BIP39 passphrase is always empty: the
 * holder's passphrase protects the file, not the seed, so the words alone restore the key.
 *
 * Words are necessarily a JS string (that is how @scure/bip39 takes and returns them); callers
 * keep them for as short a time as possible and never log them.
 */

import { randomBytes as cryptoRandomBytes } from '@noble/hashes/utils.js';
import {
  entropyToMnemonic,
  mnemonicToEntropy,
  mnemonicToSeedSync,
  validateMnemonic,
} from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { SignerError } from '../errors.js';
import { trackSecret, wipeBytes } from './secrets.js';

/** A source of random bytes. Tests inject one; the default is the platform CSPRNG. */
export type RandomBytes = (length: number) => Uint8Array;

/** The only size the device makes: 32 bytes of entropy, 24 words. */
export const ENTROPY_BYTES = 32;
export const WORD_COUNT = 24;

export const defaultRandom: RandomBytes = (n) => cryptoRandomBytes(n);

/** Draws `length` bytes from `random`, checks the source returned what it was asked for. */
export function drawRandom(random: RandomBytes, length: number, place: string): Uint8Array {
  const bytes: unknown = random(length);
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new SignerError(
      'IO',
      `${place}: expected ${length} random bytes from the random source, got ${describe(bytes)}`,
    );
  }
  return bytes;
}

/** Fresh 32-byte entropy from the CSPRNG (or the injected source), registered as a live secret. */
export function generateEntropy(random: RandomBytes = defaultRandom): Uint8Array {
  const drawn = drawRandom(random, ENTROPY_BYTES, 'mnemonic/generate');
  const entropy = trackSecret(Uint8Array.from(drawn));
  wipeBytes(drawn);
  if (entropy.every((b) => b === 0) || entropy.every((b) => b === 0xff)) {
    // A stuck random source. Refuse rather than make a key anyone can guess.
    throw new SignerError(
      'IO',
      'mnemonic/generate: expected random bytes, got a constant block: the random source is broken',
    );
  }
  return entropy;
}

/** 32 bytes of entropy -> 24 words. */
export function entropyToWords(entropy: Uint8Array): string {
  assertEntropy(entropy, 'mnemonic/entropyToWords');
  return entropyToMnemonic(entropy, wordlist);
}

/**
 * Words -> 32 bytes of entropy (registered as a live secret). Accepts only 24 English words
 * with a valid checksum, separated by single spaces after trimming and collapsing whitespace.
 * Anything else: BAD_MNEMONIC. The message never repeats the words.
 */
export function wordsToEntropy(words: string): Uint8Array {
  const normalized = normalizeWords(words, 'mnemonic/wordsToEntropy');
  return trackSecret(Uint8Array.from(mnemonicToEntropy(normalized, wordlist)));
}

/** True when `words` is a valid 24-word English BIP39 mnemonic. */
export function isValidWords(words: string): boolean {
  try {
    normalizeWords(words, 'mnemonic/isValidWords');
    return true;
  } catch {
    return false;
  }
}

/**
 * The 64-byte BIP39 seed of 32 bytes of entropy, with the empty BIP39 passphrase. Registered as a
 * live secret: the caller releases it.
 */
export function entropyToSeed(entropy: Uint8Array): Uint8Array {
  assertEntropy(entropy, 'mnemonic/entropyToSeed');
  const words = entropyToMnemonic(entropy, wordlist);
  return trackSecret(mnemonicToSeedSync(words, ''));
}

/**
 * Checks a mnemonic and returns its normalized form (NFKD, single spaces, lower case is required
 * by the wordlist). Throws BAD_MNEMONIC with the count of words and, for an unknown word, its
 * position only.
 */
function normalizeWords(words: unknown, place: string): string {
  if (typeof words !== 'string') {
    throw new SignerError(
      'BAD_MNEMONIC',
      `${place}: expected the words as a string, got ${describe(words)}`,
    );
  }
  const list = words.normalize('NFKD').trim().split(/\s+/u);
  if (list.length !== WORD_COUNT) {
    throw new SignerError(
      'BAD_MNEMONIC',
      `${place}: expected ${WORD_COUNT} words, got ${words.trim() === '' ? 0 : list.length}`,
    );
  }
  const unknown = list.findIndex((w) => !wordlist.includes(w));
  if (unknown >= 0) {
    throw new SignerError(
      'BAD_MNEMONIC',
      `${place}: expected words of the BIP39 English list, got an unknown word at position ${unknown + 1}`,
      { position: unknown + 1 },
    );
  }
  const joined = list.join(' ');
  if (!validateMnemonic(joined, wordlist)) {
    throw new SignerError(
      'BAD_MNEMONIC',
      `${place}: expected a valid BIP39 checksum, got words whose checksum does not match (a word is wrong or out of order)`,
    );
  }
  return joined;
}

function assertEntropy(entropy: unknown, place: string): asserts entropy is Uint8Array {
  if (!(entropy instanceof Uint8Array) || entropy.length !== ENTROPY_BYTES) {
    throw new SignerError(
      'BAD_MNEMONIC',
      `${place}: expected ${ENTROPY_BYTES} bytes of entropy, got ${describe(entropy)}`,
    );
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  return typeof v;
}

import { readFileSync } from 'node:fs';
import { hex } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import { describe, expect, it } from 'vitest';
import { isSignerError } from '../../src/errors.js';
import {
  entropyToSeed,
  entropyToWords,
  generateEntropy,
  isValidWords,
  wordsToEntropy,
} from '../../src/keystore/mnemonic.js';
import { liveSecretCount, releaseSecret } from '../../src/keystore/secrets.js';
import { seededRandom } from './helpers.js';

type Bip39Vector = [entropy: string, words: string, seed: string, xprv: string];
const vectors = JSON.parse(
  readFileSync(new URL('../vectors/bip39/vectors.json', import.meta.url), 'utf8'),
) as { english: Bip39Vector[] };

describe('BIP39 published vectors (Trezor python-mnemonic, english, passphrase "TREZOR")', () => {
  it('has all 24 english vectors', () => {
    expect(vectors.english).toHaveLength(24);
  });
  it.each(vectors.english)('entropy %s: seed and master xprv match', (e, words, seedHex, xprv) => {
    const seed = mnemonicToSeedSync(words, 'TREZOR');
    expect(hex.encode(seed)).toBe(seedHex);
    expect(HDKey.fromMasterSeed(seed).privateExtendedKey).toBe(xprv);
    expect(e.length).toBeGreaterThan(0);
  });
  const twentyFour = vectors.english.filter(([e]) => e.length === 64);
  it('has 8 vectors of 24 words (the only size the device makes)', () => {
    expect(twentyFour).toHaveLength(8);
  });
  it.each(twentyFour)('24 words: entropy %s <-> words through our module', (e, words) => {
    expect(entropyToWords(hex.decode(e))).toBe(words);
    const back = wordsToEntropy(words);
    expect(hex.encode(back)).toBe(e);
    releaseSecret(back);
  });
});

describe('mnemonic', () => {
  it('generates 32 bytes of entropy from the injected source, 24 valid words', () => {
    const entropy = generateEntropy(seededRandom('a'));
    expect(entropy).toHaveLength(32);
    const words = entropyToWords(entropy);
    expect(words.split(' ')).toHaveLength(24);
    expect(isValidWords(words)).toBe(true);
    releaseSecret(entropy);
  });

  it('refuses a stuck random source (all zero) and a short one', () => {
    expect(() => generateEntropy(() => new Uint8Array(32))).toThrow(/random source is broken/);
    expect(() => generateEntropy(() => new Uint8Array(16))).toThrow(/expected 32 random bytes/);
  });

  it('the seed uses the empty BIP39 passphrase', () => {
    const [e, words] = vectors.english[8] as Bip39Vector;
    const seed = entropyToSeed(hex.decode(e));
    expect(hex.encode(seed)).toBe(hex.encode(mnemonicToSeedSync(words, '')));
    expect(hex.encode(seed)).not.toBe(hex.encode(mnemonicToSeedSync(words, 'TREZOR')));
    releaseSecret(seed);
  });

  it('accepts extra whitespace but not a bad checksum, a wrong count or an unknown word', () => {
    const [, words] = vectors.english[8] as Bip39Vector;
    const spaced = `  ${words.split(' ').join('   ')}\n`;
    releaseSecret(wordsToEntropy(spaced));
    const list = words.split(' ');
    const swapped = [...list];
    swapped[23] = 'zoo';
    const bad = (w: string, re: RegExp) => {
      try {
        wordsToEntropy(w);
        expect.unreachable();
      } catch (e) {
        expect(isSignerError(e, 'BAD_MNEMONIC')).toBe(true);
        expect((e as Error).message).toMatch(re);
        // The message never repeats the words.
        expect((e as Error).message).not.toContain(list[0]);
      }
    };
    bad(swapped.join(' '), /checksum/);
    bad(list.slice(0, 12).join(' '), /expected 24 words, got 12/);
    bad([...list.slice(0, 23), 'bitcoinz'].join(' '), /unknown word at position 24/);
    bad('', /got 0/);
    expect(() => wordsToEntropy(42 as unknown as string)).toThrow(/as a string/);
  });

  it('refuses 12/18-word mnemonics (the device only uses 256-bit keys)', () => {
    const twelve = vectors.english[0]?.[1] ?? '';
    expect(isValidWords(twelve)).toBe(false);
  });

  it('releases what it registers', () => {
    const before = liveSecretCount();
    const entropy = generateEntropy(seededRandom('b'));
    expect(liveSecretCount()).toBe(before + 1);
    releaseSecret(entropy);
    expect(liveSecretCount()).toBe(before);
    expect(entropy.every((b) => b === 0)).toBe(true);
  });
});

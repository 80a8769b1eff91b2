import { concatBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compactToDer,
  derToCompact,
  hasLowS,
  isDefinedHashtype,
  isValidSignatureEncoding,
} from '../src/script/signature-encoding.js';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const scalar = fc.bigInt({ min: 1n, max: N - 1n }).map((n) => {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
});

describe('signature encoding (BIP66 / BIP146 rules)', () => {
  it('round-trips r||s through strict DER for any valid r and s', () => {
    fc.assert(
      fc.property(scalar, scalar, fc.constantFrom(1, 2, 3, 0x81, 0x82, 0x83), (r, s, type) => {
        const der = compactToDer(concatBytes(r, s));
        const withType = concatBytes(der, Uint8Array.of(type));
        expect(isValidSignatureEncoding(withType)).toBe(true);
        expect(isDefinedHashtype(withType)).toBe(true);
        expect(derToCompact(der)).toEqual(concatBytes(r, s));
      }),
    );
  });

  it('refuses non-canonical encodings: padding, negative, wrong lengths, wrong tags', () => {
    const good = concatBytes(
      compactToDer(concatBytes(new Uint8Array(32).fill(1), new Uint8Array(32).fill(2))),
      Uint8Array.of(1),
    );
    expect(isValidSignatureEncoding(good)).toBe(true);
    const mutate = (at: number, value: number): Uint8Array => {
      const c = Uint8Array.from(good);
      c[at] = value;
      return c;
    };
    expect(isValidSignatureEncoding(mutate(0, 0x31))).toBe(false);
    expect(isValidSignatureEncoding(mutate(1, 0x45))).toBe(false);
    expect(isValidSignatureEncoding(mutate(2, 0x03))).toBe(false);
    expect(isValidSignatureEncoding(mutate(4, 0x81))).toBe(false);
    const padded = concatBytes(Uint8Array.of(0x30, 0x45, 0x02, 0x21, 0x00), good.subarray(4));
    expect(isValidSignatureEncoding(padded)).toBe(false);
    expect(isValidSignatureEncoding(good.subarray(0, 8))).toBe(false);
  });

  it('tells low S from high S', () => {
    const r = new Uint8Array(32).fill(1);
    const low = new Uint8Array(32).fill(0x11);
    const high = new Uint8Array(32).fill(0xee);
    expect(hasLowS(concatBytes(compactToDer(concatBytes(r, low)), Uint8Array.of(1)))).toBe(true);
    expect(hasLowS(concatBytes(compactToDer(concatBytes(r, high)), Uint8Array.of(1)))).toBe(false);
  });

  it('accepts only ALL, NONE, SINGLE with or without ANYONECANPAY as defined hash types', () => {
    for (let t = 0; t < 256; t++) {
      const defined = [1, 2, 3, 0x81, 0x82, 0x83].includes(t);
      expect(isDefinedHashtype(Uint8Array.of(0x30, t))).toBe(defined);
    }
  });
});

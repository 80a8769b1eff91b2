import { describe, expect, it } from 'vitest';
import { crc32c } from '../src/crc32c.js';
import { isWireError } from '../src/errors.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * Published vectors.
 * - "123456789": the CRC catalogue check value for CRC-32/ISCSI (reveng.sourceforge.io/crc-catalogue).
 * - The three 32-byte vectors: RFC 3720 (iSCSI), appendix B.4 "CRC Examples".
 */
const VECTORS: ReadonlyArray<{ source: string; name: string; input: Uint8Array; crc: number }> = [
  { source: 'CRC catalogue', name: '"123456789"', input: ascii('123456789'), crc: 0xe3069283 },
  { source: 'RFC 3720 B.4', name: '32 bytes of 0x00', input: new Uint8Array(32), crc: 0x8a9136aa },
  {
    source: 'RFC 3720 B.4',
    name: '32 bytes of 0xFF',
    input: new Uint8Array(32).fill(0xff),
    crc: 0x62a8ab43,
  },
  {
    source: 'RFC 3720 B.4',
    name: '0x00..0x1F ascending',
    input: Uint8Array.from({ length: 32 }, (_, i) => i),
    crc: 0x46dd794e,
  },
];

describe('crc32c', () => {
  for (const v of VECTORS) {
    it(`${v.source}: ${v.name} -> 0x${v.crc.toString(16).toUpperCase()}`, () => {
      expect(crc32c(v.input)).toBe(v.crc);
    });
  }

  it('returns an unsigned 32-bit integer even when the top bit is set', () => {
    const c = crc32c(ascii('123456789'));
    expect(c).toBeGreaterThan(0x7fffffff);
    expect(Number.isInteger(c) && c <= 0xffffffff).toBe(true);
  });

  it('is 0 for no bytes (init and xorout cancel)', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('covers a subarray only, not the whole underlying buffer', () => {
    const big = new Uint8Array(40);
    big.set(ascii('123456789'), 5);
    expect(crc32c(big.subarray(5, 14))).toBe(0xe3069283);
  });

  it('rejects non-byte input with BAD_FRAME', () => {
    for (const bad of ['123456789', [1, 2, 3], null, undefined, 42]) {
      let caught: unknown;
      try {
        crc32c(bad as unknown as Uint8Array);
      } catch (e) {
        caught = e;
      }
      expect(isWireError(caught, 'BAD_FRAME')).toBe(true);
      expect((caught as Error).message).toMatch(/^crc32c: expected a Uint8Array, got /);
    }
  });
});

import { encodeCanonical } from '@keyline/wire-protocol';
import { describe, expect, it } from 'vitest';
import { cborItemEnd } from '../../src/audit/cbor-item.js';

describe('cborItemEnd', () => {
  const item = encodeCanonical({
    a: 1,
    b: new Uint8Array(300),
    c: ['x', 2n ** 40n, null, true],
    d: -5,
  });

  it('finds the end of a whole item, also with bytes after it', () => {
    expect(cborItemEnd(item, 0)).toBe(item.length);
    const more = new Uint8Array(item.length + 7);
    more.set(item);
    expect(cborItemEnd(more, 0)).toBe(item.length);
  });

  it('returns -1 for every strict prefix (a torn write)', () => {
    for (let n = 0; n < item.length; n++)
      expect(cborItemEnd(item.subarray(0, n), 0), `prefix ${n}`).toBe(-1);
  });

  it('refuses indefinite lengths by returning the start', () => {
    expect(cborItemEnd(Uint8Array.of(0x5f, 0x41, 0x00, 0xff), 0)).toBe(0);
  });
});

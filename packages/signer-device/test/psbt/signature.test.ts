import { readFileSync } from 'node:fs';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import * as secp from '@noble/secp256k1';
import { hex } from '@scure/base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSignerError } from '../../src/errors.js';
import {
  CURVE_N,
  isLowS,
  parseDerSignature,
  verifyInputSignature,
} from '../../src/psbt/signature.js';

secp.hashes.hmacSha256 = (k: Uint8Array, m: Uint8Array) => hmac(sha256, k, m);
secp.hashes.sha256 = sha256;

interface SigCase {
  name: string;
  sigHash: string;
  publicKey: string;
  signature: string;
}
const v = JSON.parse(
  readFileSync(new URL('../vectors/bip143/sighash-all.json', import.meta.url), 'utf8'),
) as {
  cases: SigCase[];
  nonAll: SigCase[];
};

/** Minimal DER integer body (test helper). */
function derInt(n: bigint): number[] {
  const bytes: number[] = [];
  let x = n;
  while (x > 0n) {
    bytes.unshift(Number(x & 0xffn));
    x >>= 8n;
  }
  if (bytes.length === 0) bytes.push(0);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return bytes;
}
function der(r: bigint, s: bigint, type = 1): Uint8Array {
  const R = derInt(r);
  const S = derInt(s);
  return Uint8Array.from([
    0x30,
    4 + R.length + S.length,
    2,
    R.length,
    ...R,
    2,
    S.length,
    ...S,
    type,
  ]);
}
const malformed = (sig: Uint8Array): boolean => {
  try {
    parseDerSignature(sig);
    return false;
  } catch (e) {
    return isSignerError(e, 'BAD_PSBT');
  }
};

const HALF_N = CURVE_N >> 1n;
const allCases = v.cases.map((c) => [c.name, c] as const);
const first = v.cases[0] as SigCase;
const firstSig = hex.decode(first.signature);
const firstParsed = parseDerSignature(firstSig);

describe('published BIP143 signatures', () => {
  it.each(allCases)('%s: SIGHASH_ALL signature verifies against the published digest', (_n, c) => {
    expect(
      verifyInputSignature(hex.decode(c.publicKey), hex.decode(c.sigHash), hex.decode(c.signature)),
    ).toBe(true);
  });
  it.each(allCases)('%s: fails for another digest or another key', (_n, c) => {
    const digest = hex.decode(c.sigHash);
    digest[0] = (digest[0] ?? 0) ^ 1;
    expect(verifyInputSignature(hex.decode(c.publicKey), digest, hex.decode(c.signature))).toBe(
      false,
    );
    const other = v.cases.find((o) => o.publicKey !== c.publicKey) as SigCase;
    expect(
      verifyInputSignature(
        hex.decode(other.publicKey),
        hex.decode(c.sigHash),
        hex.decode(c.signature),
      ),
    ).toBe(false);
  });
  it('refuses the published SIGHASH_NONE signature although its ECDSA part is valid (sighash abuse)', () => {
    const c = v.nonAll[0] as SigCase;
    const sig = hex.decode(c.signature);
    const p = parseDerSignature(sig);
    expect(p.sighashType).toBe(2);
    const compact = Uint8Array.from([
      ...hex.decode(p.r.toString(16).padStart(64, '0')),
      ...hex.decode(p.s.toString(16).padStart(64, '0')),
    ]);
    expect(
      secp.verify(compact, hex.decode(c.sigHash), hex.decode(c.publicKey), { prehash: false }),
    ).toBe(true);
    expect(verifyInputSignature(hex.decode(c.publicKey), hex.decode(c.sigHash), sig)).toBe(false);
  });
  it.each([0x00, 0x02, 0x03, 0x81, 0x82, 0x83, 0x41, 0xff])(
    'refuses sighash byte 0x%s on a valid ALL signature',
    (t) => {
      const sig = firstSig.slice();
      sig[sig.length - 1] = t;
      expect(
        verifyInputSignature(hex.decode(first.publicKey), hex.decode(first.sigHash), sig),
      ).toBe(false);
    },
  );
});

describe('low S', () => {
  it('isLowS boundaries', () => {
    expect(isLowS(0n)).toBe(false);
    expect(isLowS(1n)).toBe(true);
    expect(isLowS(HALF_N)).toBe(true);
    expect(isLowS(HALF_N + 1n)).toBe(false);
    expect(isLowS(CURVE_N - 1n)).toBe(false);
  });
  it('refuses the high-S twin of a valid signature (malleability), though ECDSA accepts it', () => {
    const { r, s } = firstParsed;
    const high = der(r, CURVE_N - s);
    expect(isLowS(CURVE_N - s)).toBe(false);
    const compact = Uint8Array.from([
      ...hex.decode(r.toString(16).padStart(64, '0')),
      ...hex.decode((CURVE_N - s).toString(16).padStart(64, '0')),
    ]);
    expect(
      secp.verify(compact, hex.decode(first.sigHash), hex.decode(first.publicKey), {
        prehash: false,
        lowS: false,
      }),
    ).toBe(true);
    expect(verifyInputSignature(hex.decode(first.publicKey), hex.decode(first.sigHash), high)).toBe(
      false,
    );
    expect(
      verifyInputSignature(hex.decode(first.publicKey), hex.decode(first.sigHash), der(r, s)),
    ).toBe(true);
  });
});

describe('strict DER (BIP66)', () => {
  const { r, s } = firstParsed;
  const good = der(r, s);
  const R = derInt(r);
  const S = derInt(s);
  const build = (parts: number[]) => Uint8Array.from(parts);
  const cases: [string, Uint8Array][] = [
    ['too short', good.slice(0, 8)],
    ['too long (74 bytes)', new Uint8Array(74).fill(0x30)],
    ['wrong sequence tag', build([0x31, ...good.slice(1)])],
    ['sequence length off by one', build([0x30, (good[1] ?? 0) + 1, ...good.slice(2)])],
    [
      'trailing byte before the type',
      build([0x30, good[1] ?? 0, ...good.slice(2, -1), 0x00, 0x01]),
    ],
    ['wrong integer tag for R', build([0x30, good[1] ?? 0, 0x03, ...good.slice(3)])],
    ['zero-length R', build([0x30, 2 + 2 + S.length, 2, 0, 2, S.length, ...S, 1])],
    [
      'R padded with a needless zero',
      build([0x30, 5 + R.length + S.length, 2, R.length + 1, 0, ...R, 2, S.length, ...S, 1]),
    ],
    [
      'negative R',
      build([
        0x30,
        4 + 32 + S.length,
        2,
        32,
        0x80,
        ...new Array<number>(31).fill(1),
        2,
        S.length,
        ...S,
        1,
      ]),
    ],
    [
      'S padded with a needless zero',
      build([0x30, 5 + R.length + S.length, 2, R.length, ...R, 2, S.length + 1, 0, ...S, 1]),
    ],
    ['R length overruns', build([0x30, good[1] ?? 0, 2, 0x50, ...good.slice(4)])],
    ['r = 0', der(0n, s)],
    ['s = 0', der(r, 0n)],
    ['r = n', der(CURVE_N, s)],
    ['no sighash byte', good.slice(0, -1)],
  ];
  it('the unmodified encoding parses and verifies', () => {
    expect(malformed(good)).toBe(false);
    expect(verifyInputSignature(hex.decode(first.publicKey), hex.decode(first.sigHash), good)).toBe(
      true,
    );
  });
  it.each(cases)('refuses %s', (_n, sig) => {
    expect(malformed(sig)).toBe(true);
    expect(verifyInputSignature(hex.decode(first.publicKey), hex.decode(first.sigHash), sig)).toBe(
      false,
    );
  });
  it('refuses a non-byte signature with BAD_PSBT', () => {
    expect(malformed('30' as unknown as Uint8Array)).toBe(true);
  });
});

describe('signatures made with @noble/secp256k1 (property)', () => {
  it('verify iff made over the digest as is, low S, ALL', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc
          .uint8Array({ minLength: 32, maxLength: 32 })
          .filter((k) => secp.utils.isValidSecretKey(k)),
        (digest, sk) => {
          const pk = secp.getPublicKey(sk, true);
          const sig = secp.Signature.fromBytes(
            secp.sign(digest, sk, { prehash: false, lowS: true }),
            'compact',
          );
          expect(verifyInputSignature(pk, digest, der(sig.r, sig.s))).toBe(true);
          // a signer that lets noble hash the digest again produces a signature invalid on chain
          const pre = secp.Signature.fromBytes(secp.sign(digest, sk, { prehash: true }), 'compact');
          expect(verifyInputSignature(pk, digest, der(pre.r, pre.s))).toBe(false);
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('argument checks', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return isSignerError(e) ? e.code : 'other';
    }
    return 'none';
  };
  it('throws BAD_PSBT for a pubkey or digest of the wrong shape', () => {
    const d = hex.decode(first.sigHash);
    const pk = hex.decode(first.publicKey);
    expect(code(() => verifyInputSignature(new Uint8Array(65).fill(4), d, firstSig))).toBe(
      'BAD_PSBT',
    );
    expect(code(() => verifyInputSignature(pk.slice(1), d, firstSig))).toBe('BAD_PSBT');
    expect(code(() => verifyInputSignature(pk, d.slice(1), firstSig))).toBe('BAD_PSBT');
  });
  it('returns false for a 33-byte prefix-valid key that is not on the curve', () => {
    const notOnCurve = new Uint8Array(33).fill(0xff);
    notOnCurve[0] = 2;
    expect(verifyInputSignature(notOnCurve, hex.decode(first.sigHash), firstSig)).toBe(false);
  });
});

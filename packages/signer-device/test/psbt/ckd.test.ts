import { readFileSync } from 'node:fs';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hex } from '@scure/base';
import { HDKey } from '@scure/bip32';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSignerError } from '../../src/errors.js';
import { childScalarFromHmac, ckdPrivScalar } from '../../src/keystore/ckd-priv.js';
import {
  CURVE_ORDER_BYTES,
  childFromHmac,
  ckdPub,
  ckdPubHmac,
  isAtLeastOrder,
} from '../../src/psbt/ckd-pub.js';
import { compareBytes, deriveScript } from '../../src/psbt/descriptor.js';
import { makeWallet } from './fixtures.js';

interface Chain {
  path: string;
  xpub: string;
  xprv: string;
}
const v = JSON.parse(
  readFileSync(new URL('../vectors/bip32/vectors.json', import.meta.url), 'utf8'),
) as { vector1: { chains: Chain[] }; vector2: { chains: Chain[] } };

const N = secp256k1.Point.CURVE().n;
const H = 0x80000000;
const TEST_VERSIONS = { private: 0x04358394, public: 0x043587cf };

const to32 = (n: bigint): Uint8Array => hex.decode(n.toString(16).padStart(64, '0'));
const pubNode = (k: HDKey) => ({
  publicKey: k.publicKey as Uint8Array,
  chainCode: k.chainCode as Uint8Array,
});
const privParent = (k: HDKey) => ({
  privateKey: k.privateKey as Uint8Array,
  publicKey: k.publicKey as Uint8Array,
  chainCode: k.chainCode as Uint8Array,
});

/** Consecutive chain entries whose last step is non-hardened: [parent, child, index]. */
function publicSteps(chains: Chain[]): [Chain, Chain, number][] {
  const out: [Chain, Chain, number][] = [];
  for (let i = 1; i < chains.length; i++) {
    const child = chains[i] as Chain;
    const last = child.path.split('/').pop() ?? '';
    if (last.endsWith("'")) continue;
    out.push([chains[i - 1] as Chain, child, Number(last)]);
  }
  return out;
}

describe('CKDpub / CKDpriv on libsecp256k1: the published BIP32 vectors (test/vectors/bip32)', () => {
  const steps = [...publicSteps(v.vector1.chains), ...publicSteps(v.vector2.chains)];
  it('covers the non-hardened steps of vectors 1 and 2', () => {
    expect(steps.length).toBe(6);
  });
  const cases = steps.map(([parent, child, index]) => ({ at: child.path, parent, child, index }));
  it.each(cases)('$at', ({ parent, child, index }) => {
    const p = HDKey.fromExtendedKey(parent.xpub);
    const c = HDKey.fromExtendedKey(child.xpub);
    const got = ckdPub(pubNode(p), index);
    expect(got).not.toBeNull();
    expect(hex.encode(got?.publicKey ?? new Uint8Array())).toBe(
      hex.encode(c.publicKey ?? new Uint8Array()),
    );
    expect(hex.encode(got?.chainCode ?? new Uint8Array())).toBe(
      hex.encode(c.chainCode ?? new Uint8Array()),
    );
    const pp = HDKey.fromExtendedKey(parent.xprv);
    const cp = HDKey.fromExtendedKey(child.xprv);
    const k = ckdPrivScalar(privParent(pp), index);
    expect(hex.encode(k ?? new Uint8Array())).toBe(hex.encode(cp.privateKey ?? new Uint8Array()));
  });
});

describe('CKDpub / CKDpriv equal @scure/bip32 (property, random seeds and indices)', () => {
  it('public child key and chain code, private child scalar', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        fc.integer({ min: 0, max: H - 1 }),
        fc.integer({ min: 0, max: 1 }),
        (seed, index, branch) => {
          const branchNode = HDKey.fromMasterSeed(seed, TEST_VERSIONS).derive(
            `m/48'/1'/0'/2'/${branch}`,
          );
          const ref = branchNode.deriveChild(index);
          const got = ckdPub(pubNode(branchNode), index);
          expect(got?.publicKey).toEqual(ref.publicKey);
          expect(got?.chainCode).toEqual(ref.chainCode);
          expect(ckdPrivScalar(privParent(branchNode), index)).toEqual(ref.privateKey);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('deriveScript.keyPubkeys: each key, descriptor order, equals @scure/bip32 from its xpub', () => {
    const wallet = makeWallet();
    const accounts = wallet.keys.map((k) => HDKey.fromExtendedKey(k.xpub, TEST_VERSIONS));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: H - 1 }),
        fc.integer({ min: 0, max: 1 }),
        (index, branch) => {
          const d = deriveScript(wallet, branch as 0 | 1, index);
          const ref = accounts.map((a) => a.deriveChild(branch).deriveChild(index).publicKey);
          expect(d.keyPubkeys).toEqual(ref);
          expect([...d.keyPubkeys].sort(compareBytes)).toEqual(d.pubkeys);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("BIP32's invalid child is refused, never replaced by the next index", () => {
  const parent = HDKey.fromMasterSeed(new Uint8Array(32).fill(7)).derive("m/48'/0'/0'/2'/0");
  const k = BigInt(`0x${hex.encode(parent.privateKey as Uint8Array)}`);
  const pub = parent.publicKey as Uint8Array;
  const withIl = (il: Uint8Array): Uint8Array => {
    const I = new Uint8Array(64).fill(0x5a);
    I.set(il, 0);
    return I;
  };

  it('isAtLeastOrder: n-1 is a scalar, n and 2^256-1 are not', () => {
    expect(isAtLeastOrder(to32(N - 1n))).toBe(false);
    expect(isAtLeastOrder(CURVE_ORDER_BYTES)).toBe(true);
    expect(isAtLeastOrder(to32(N + 1n))).toBe(true);
    expect(isAtLeastOrder(new Uint8Array(32).fill(0xff))).toBe(true);
    expect(isAtLeastOrder(new Uint8Array(32))).toBe(false);
  });

  it('IL >= n gives null (public and private)', () => {
    for (const il of [to32(N), to32(N + 5n), new Uint8Array(32).fill(0xff)]) {
      expect(childFromHmac(pub, withIl(il))).toBeNull();
      expect(childScalarFromHmac(parent.privateKey as Uint8Array, withIl(il))).toBeNull();
    }
  });

  it('a child at infinity (IL = n - k) gives null; its private twin (k_i = 0) too', () => {
    const il = to32(N - k);
    expect(childFromHmac(pub, withIl(il))).toBeNull();
    expect(childScalarFromHmac(parent.privateKey as Uint8Array, withIl(il))).toBeNull();
  });

  it('IL = n - 1 and IL = 0 are valid and agree with the point arithmetic', () => {
    for (const t of [N - 1n, 0n, 1n]) {
      const got = childFromHmac(pub, withIl(to32(t)));
      const want = secp256k1.Point.fromBytes(pub)
        .add(t === 0n ? secp256k1.Point.ZERO : secp256k1.Point.BASE.multiply(t))
        .toBytes(true);
      expect(got?.publicKey).toEqual(want);
      const priv = childScalarFromHmac(parent.privateKey as Uint8Array, withIl(to32(t)));
      expect(priv).toEqual(to32((k + t) % N));
    }
  });
});

describe('malformed inputs throw SignerError with the place', () => {
  const node = pubNode(HDKey.fromMasterSeed(new Uint8Array(32).fill(9)));
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      if (isSignerError(e)) return `${e.code} ${e.message}`;
      return `other ${String(e)}`;
    }
    return 'no throw';
  };

  it('hardened, negative, fractional index', () => {
    for (const i of [H, H + 5, -1, 1.5, Number.NaN]) {
      expect(code(() => ckdPub(node, i))).toMatch(/^BAD_DESCRIPTOR ckd-pub\/index: expected/);
    }
    const priv = privParent(HDKey.fromMasterSeed(new Uint8Array(32).fill(9)));
    expect(code(() => ckdPrivScalar(priv, H))).toMatch(/^BAD_PSBT ckd-priv: expected/);
  });

  it('a parent key that is not a compressed point, a short chain code', () => {
    const uncompressed = { ...node, publicKey: new Uint8Array(65).fill(4) };
    expect(code(() => ckdPub(uncompressed, 0))).toMatch(/^BAD_DESCRIPTOR ckd-pub\/parent/);
    expect(code(() => ckdPub({ ...node, chainCode: new Uint8Array(31) }, 0))).toMatch(/chain code/);
    // x = 5 has no y on secp256k1 (5^3 + 7 = 132 is not a square mod p).
    const offCurve = new Uint8Array(33);
    offCurve[0] = 2;
    offCurve[32] = 5;
    expect(() => secp256k1.Point.fromBytes(offCurve)).toThrow();
    expect(code(() => ckdPub({ ...node, publicKey: offCurve }, 0))).toMatch(
      /^BAD_DESCRIPTOR ckd-pub\/parent: expected a public key on secp256k1/,
    );
    expect(code(() => ckdPub(null as never, 0))).toMatch(/^BAD_DESCRIPTOR ckd-pub\/parent/);
  });

  it('ckdPubHmac serialises the index big-endian (BIP32 ser32)', () => {
    const a = ckdPubHmac(node, 0x01020304);
    const b = ckdPubHmac(node, 0x04030201);
    expect(a).not.toEqual(b);
  });

  it('a private parent outside 1..n-1 is STATE_CORRUPT', () => {
    const p = privParent(HDKey.fromMasterSeed(new Uint8Array(32).fill(9)));
    expect(code(() => ckdPrivScalar({ ...p, privateKey: new Uint8Array(32) }, 0))).toMatch(
      /^STATE_CORRUPT ckd-priv\//,
    );
    expect(code(() => ckdPrivScalar({ ...p, privateKey: CURVE_ORDER_BYTES.slice() }, 0))).toMatch(
      /^STATE_CORRUPT ckd-priv\//,
    );
  });
});

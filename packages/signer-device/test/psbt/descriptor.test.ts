import { readFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { Address, NETWORK, p2ms, p2wsh, TEST_NETWORK } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { isSignerError } from '../../src/errors.js';
import {
  compareBytes,
  DESCRIPTOR_REASONS,
  deriveScript,
  descriptorChecksum,
  findOwnKey,
  type Network,
  parseDescriptor,
  sortedMultisigWitnessScript,
} from '../../src/psbt/descriptor.js';

const load = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../vectors/descriptors/${name}`, import.meta.url), 'utf8')) as T;

interface ChecksumVectors {
  valid: { descriptor: string }[];
  invalid: { descriptor: string; why: string }[];
}
interface Bip383Vector {
  keys: { xpub: string; path: number[] }[];
  scripts: string[];
}
interface Published {
  keeper: { descriptor: string; firstReceiveAddress: string };
  krux: { descriptor: string };
}

const TEST_VERSIONS = { private: 0x04358394, public: 0x043587cf };
const withChecksum = (body: string): string => `${body}#${descriptorChecksum(body)}`;

/** Three cosigners from fixed seeds: masters, account nodes at m/48'/coin'/0'/2'. */
function cosigners(network: Network, seeds = [1, 2, 3]) {
  const coin = network === 'mainnet' ? 0 : 1;
  const versions = network === 'mainnet' ? undefined : TEST_VERSIONS;
  return seeds.map((s) => {
    const master = HDKey.fromMasterSeed(new Uint8Array(32).fill(s), versions);
    const account = master.derive(`m/48'/${coin}'/0'/2'`);
    const fp = master.fingerprint.toString(16).padStart(8, '0');
    return { master, account, fp, xpub: account.publicExtendedKey, coin };
  });
}

const keyExpr = (c: { fp: string; xpub: string; coin: number }, h = "'") =>
  `[${c.fp}/48${h}/${c.coin}${h}/0${h}/2${h}]${c.xpub}/<0;1>/*`;

function body(network: Network, h = "'"): string {
  return `wsh(sortedmulti(2,${cosigners(network)
    .map((c) => keyExpr(c, h))
    .join(',')}))`;
}

function refusal(fn: () => unknown): { code: string; reason: unknown; message: string } {
  try {
    fn();
  } catch (e) {
    if (isSignerError(e)) return { code: e.code, reason: e.detail.reason, message: e.message };
    throw e;
  }
  throw new Error('expected a SignerError, nothing was thrown');
}

describe('descriptorChecksum: BIP380 and Bitcoin Core vectors', () => {
  const v = load<ChecksumVectors>('bip380-checksum.json');
  it.each(v.valid.map((x) => [x.descriptor]))('computes the published checksum of %s', (d) => {
    const i = d.lastIndexOf('#');
    expect(descriptorChecksum(d.slice(0, i))).toBe(d.slice(i + 1));
  });
  it.each(v.invalid.map((x) => [x.why, x.descriptor]))('%s: no checksum matches', (_why, d) => {
    const i = d.indexOf('#');
    if (i < 0) return; // no checksum at all: refused by parseDescriptor below
    const given = d.slice(i + 1);
    let computed: string | undefined;
    try {
      computed = descriptorChecksum(d.slice(0, i));
    } catch (e) {
      expect(isSignerError(e, 'BAD_DESCRIPTOR')).toBe(true); // character outside the BIP380 set
    }
    expect(computed === given).toBe(false);
  });
  it('refuses a character outside the BIP380 set', () => {
    expect(refusal(() => descriptorChecksum('raw(Ü)')).reason).toBe(
      DESCRIPTOR_REASONS.BAD_CHARACTER,
    );
  });
  it('agrees with published multipath BIP48 descriptors (keeper, krux)', () => {
    const p = load<Published>('published-2of3.json');
    for (const d of [p.keeper.descriptor, p.krux.descriptor]) {
      const i = d.indexOf('#');
      expect(descriptorChecksum(d.slice(0, i))).toBe(d.slice(i + 1));
    }
  });
});

describe('parseDescriptor: the accepted form', () => {
  it('accepts h, apostrophe and mixed markers and outputs one canonical text', () => {
    const a = parseDescriptor(withChecksum(body('testnet', 'h')), 'testnet');
    const b = parseDescriptor(withChecksum(body('testnet', "'")), 'testnet');
    expect(a.text).toBe(b.text);
    expect(a.text).toBe(withChecksum(body('testnet', "'")));
    expect(hex.encode(a.id)).toBe(hex.encode(sha256(new TextEncoder().encode(a.text))));
    expect(a.threshold).toBe(2);
    expect(a.network).toBe('testnet');
    const cs = cosigners('testnet');
    a.keys.forEach((k, i) => {
      expect(hex.encode(k.fingerprint)).toBe(cs[i]?.fp);
      expect(k.xpub).toBe(cs[i]?.xpub);
      expect(k.originPath).toEqual([0x80000030, 0x80000001, 0x80000000, 0x80000002]);
    });
  });
  it('parses a published krux BIP48 multipath descriptor', () => {
    const w = parseDescriptor(load<Published>('published-2of3.json').krux.descriptor, 'testnet');
    expect(w.keys.map((k) => hex.encode(k.fingerprint))).toEqual([
      '02e8bff2',
      '8cb36b38',
      '73c5da0a',
    ]);
    expect(w.text).toContain("[73c5da0a/48'/1'/0'/2']");
  });
  it('accepts mainnet xpubs with coin type 0 and the same keys on signet/regtest', () => {
    expect(parseDescriptor(withChecksum(body('mainnet')), 'mainnet').network).toBe('mainnet');
    expect(parseDescriptor(withChecksum(body('testnet')), 'signet').network).toBe('signet');
    expect(parseDescriptor(withChecksum(body('testnet')), 'regtest').network).toBe('regtest');
  });
  it('gives a different wallet id when a cosigner is swapped (change/cosigner swap attack)', () => {
    const good = parseDescriptor(withChecksum(body('testnet')), 'testnet');
    const cs = cosigners('testnet', [1, 2, 9]);
    const swapped = parseDescriptor(
      withChecksum(`wsh(sortedmulti(2,${cs.map((c) => keyExpr(c)).join(',')}))`),
      'testnet',
    );
    expect(hex.encode(swapped.id)).not.toBe(hex.encode(good.id));
    expect(hex.encode(deriveScript(swapped, 1, 0).scriptPubKey)).not.toBe(
      hex.encode(deriveScript(good, 1, 0).scriptPubKey),
    );
  });
});

describe('parseDescriptor: hostile descriptors are refused', () => {
  const cs = cosigners('testnet');
  const [k0, k1, k2] = cs.map((c) => keyExpr(c));
  const good = body('testnet');
  const mk = (inner: string) => withChecksum(`wsh(sortedmulti(${inner}))`);
  const cases: [string, string, string, string?][] = [
    ['missing checksum', good, 'BAD_DESCRIPTOR', DESCRIPTOR_REASONS.CHECKSUM_MISSING],
    ['empty checksum', `${good}#`, 'BAD_DESCRIPTOR', DESCRIPTOR_REASONS.CHECKSUM_FORMAT],
    ['wrong checksum', `${good}#qqqqqqqq`, 'BAD_DESCRIPTOR', DESCRIPTOR_REASONS.CHECKSUM_MISMATCH],
    [
      'checksum of another descriptor',
      `${good}#${descriptorChecksum(body('mainnet'))}`,
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.CHECKSUM_MISMATCH,
    ],
    [
      'two checksums',
      `${withChecksum(good)}#${descriptorChecksum(good)}`,
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.CHECKSUM_FORMAT,
    ],
    ['2 keys', mk(`2,${k0},${k1}`), 'BAD_DESCRIPTOR', DESCRIPTOR_REASONS.KEY_COUNT],
    [
      '4 keys',
      mk(`2,${k0},${k1},${k2},${keyExpr(cosigners('testnet', [4])[0] ?? cs[0]!)}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.KEY_COUNT,
    ],
    [
      'duplicate key',
      mk(`2,${k0},${k1},${k0}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.DUPLICATE_KEY,
    ],
    [
      'same xpub under another fingerprint',
      mk(`2,${k0},${k1},${k0?.replace(/^\[[0-9a-f]{8}/, '[00000000')}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.DUPLICATE_KEY,
    ],
    ['threshold 1', mk(`1,${k0},${k1},${k2}`), 'BAD_DESCRIPTOR', DESCRIPTOR_REASONS.THRESHOLD],
    ['threshold 3', mk(`3,${k0},${k1},${k2}`), 'BAD_DESCRIPTOR', DESCRIPTOR_REASONS.THRESHOLD],
    ['threshold 02', mk(`02,${k0},${k1},${k2}`), 'BAD_DESCRIPTOR', DESCRIPTOR_REASONS.THRESHOLD],
    [
      'whitespace after a comma',
      mk(`2, ${k0},${k1},${k2}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.KEY_FORMAT,
    ],
    [
      'trailing space',
      withChecksum(`${good} `),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.NOT_WSH_SORTEDMULTI,
    ],
    ['newline', `${good}\n#qqqqqqqq`, 'BAD_DESCRIPTOR', DESCRIPTOR_REASONS.BAD_CHARACTER],
    [
      'uppercase hex fingerprint',
      mk(
        `2,${k0?.replace(/^\[([0-9a-f]{8})/, (_m, f: string) => `[${f.toUpperCase()}`)},${k1},${k2}`,
      ),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.KEY_FORMAT,
    ],
    [
      'extra text after the expression',
      withChecksum(`${good}x`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.NOT_WSH_SORTEDMULTI,
    ],
    [
      'text after the checksum',
      `${withChecksum(good)}x`,
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.CHECKSUM_FORMAT,
    ],
    [
      'sh(wsh(...)) wrapper',
      withChecksum(`sh(${good})`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.NOT_WSH_SORTEDMULTI,
    ],
    [
      'multi instead of sortedmulti',
      withChecksum(`wsh(multi(2,${k0},${k1},${k2}))`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.NOT_WSH_SORTEDMULTI,
    ],
    [
      'single-branch /0/* form',
      mk(`2,${[k0, k1, k2].map((k) => k?.replace('/<0;1>/*', '/0/*')).join(',')}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.KEY_FORMAT,
    ],
    [
      'swapped multipath <1;0>',
      mk(`2,${k0?.replace('<0;1>', '<1;0>')},${k1},${k2}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.KEY_FORMAT,
    ],
    [
      'hardened wildcard',
      mk(`2,${k0}h,${k1},${k2}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.KEY_FORMAT,
    ],
    [
      'H as hardened marker',
      mk(`2,${k0?.replace("/0'/", '/0H/')},${k1},${k2}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.KEY_FORMAT,
    ],
    [
      'BIP84 purpose',
      mk(`2,${k0?.replace("/48'/", "/84'/")},${k1},${k2}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.KEY_FORMAT,
    ],
    [
      'script type 1 (P2SH-P2WSH)',
      mk(`2,${k0?.replace("/2']", "/1']")},${k1},${k2}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.PATH,
    ],
    [
      'unhardened account',
      mk(`2,${k0?.replace("/0'/2'", "/0/2'")},${k1},${k2}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.KEY_FORMAT,
    ],
    [
      'origin path too short',
      mk(`2,${k0?.replace("/0'/2'", "/2'")},${k1},${k2}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.KEY_FORMAT,
    ],
    [
      'account with a leading zero',
      mk(`2,${k0?.replace("/0'/2'", "/00'/2'")},${k1},${k2}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.KEY_FORMAT,
    ],
    [
      'account 2^31',
      mk(`2,${k0?.replace("/0'/2'", "/2147483648'/2'")},${k1},${k2}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.PATH,
    ],
    [
      'no origin',
      mk(`2,${k0?.replace(/^\[[^\]]*\]/, '')},${k1},${k2}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.KEY_FORMAT,
    ],
    [
      'corrupted xpub (Base58Check fails)',
      mk(
        `2,${k0?.replace(/(\]tpub.{10})(.)/, (_m, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'))},${k1},${k2}`,
      ),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.XPUB,
    ],
    [
      'xpub not at depth 4',
      mk(`2,[${cs[0]?.fp}/48'/1'/0'/2']${cs[0]?.master.publicExtendedKey}/<0;1>/*,${k1},${k2}`),
      'BAD_DESCRIPTOR',
      DESCRIPTOR_REASONS.PATH,
    ],
    [
      'testnet keys on mainnet (coin type 1)',
      withChecksum(good),
      'WRONG_NETWORK',
      DESCRIPTOR_REASONS.COIN_TYPE,
    ],
  ];
  it.each(cases)('%s', (_name, text, code, reason) => {
    const r = refusal(() =>
      parseDescriptor(text, _name.includes('on mainnet') ? 'mainnet' : 'testnet'),
    );
    expect(r.code).toBe(code);
    if (reason !== undefined) expect(r.reason).toBe(reason);
    expect(r.message.startsWith('descriptor/')).toBe(true);
  });

  it('refuses a tpub with coin type 0 on mainnet (wrong xpub version)', () => {
    const t = cosigners('testnet').map((c) => keyExpr({ ...c, coin: 0 }));
    const r = refusal(() =>
      parseDescriptor(withChecksum(`wsh(sortedmulti(2,${t.join(',')}))`), 'mainnet'),
    );
    expect(r).toMatchObject({ code: 'WRONG_NETWORK', reason: DESCRIPTOR_REASONS.XPUB_VERSION });
  });
  it('refuses an xpub with coin type 1 on testnet (wrong xpub version)', () => {
    const m = cosigners('mainnet').map((c) => keyExpr({ ...c, coin: 1 }));
    const r = refusal(() =>
      parseDescriptor(withChecksum(`wsh(sortedmulti(2,${m.join(',')}))`), 'testnet'),
    );
    expect(r).toMatchObject({ code: 'WRONG_NETWORK', reason: DESCRIPTOR_REASONS.XPUB_VERSION });
  });
  it('refuses a private extended key and never echoes it', () => {
    const c = cosigners('testnet')[0];
    const xprv = c?.account.privateExtendedKey ?? '';
    const text = mk(`2,[${c?.fp}/48'/1'/0'/2']${xprv}/<0;1>/*,${k1},${k2}`);
    const r = refusal(() => parseDescriptor(text, 'testnet'));
    expect(r).toMatchObject({ code: 'BAD_DESCRIPTOR', reason: DESCRIPTOR_REASONS.XPUB_VERSION });
    expect(r.message).not.toContain(xprv.slice(4, 40));
  });
  it('refuses published descriptors with upper-case fingerprints (keeper)', () => {
    const r = refusal(() =>
      parseDescriptor(load<Published>('published-2of3.json').keeper.descriptor, 'testnet'),
    );
    expect(r).toMatchObject({ code: 'BAD_DESCRIPTOR', reason: DESCRIPTOR_REASONS.KEY_FORMAT });
  });
  it('refuses non-strings, unknown networks and oversized text', () => {
    expect(refusal(() => parseDescriptor(42 as unknown as string, 'testnet')).code).toBe(
      'BAD_DESCRIPTOR',
    );
    expect(refusal(() => parseDescriptor(withChecksum(good), 'testnet3' as Network)).code).toBe(
      'BAD_DESCRIPTOR',
    );
    expect(refusal(() => parseDescriptor(`${'a'.repeat(2000)}#qqqqqqqq`, 'testnet')).reason).toBe(
      DESCRIPTOR_REASONS.TOO_LONG,
    );
  });
});

describe('deriveScript', () => {
  const wallet = parseDescriptor(withChecksum(body('testnet')), 'testnet');
  const cs = cosigners('testnet');

  it('matches independent derivation from the masters and @scure/btc-signer p2wsh(p2ms(sorted))', () => {
    for (const branch of [0, 1] as const) {
      for (const index of [0, 1, 7, 1000, 2 ** 31 - 1]) {
        const pks = cs.map(
          (c) => c.master.derive(`m/48'/1'/0'/2'/${branch}/${index}`).publicKey as Uint8Array,
        );
        const sorted = [...pks].sort(compareBytes);
        const ref = p2wsh(p2ms(2, sorted), TEST_NETWORK);
        const d = deriveScript(wallet, branch, index);
        expect(hex.encode(d.witnessScript)).toBe(hex.encode(ref.witnessScript as Uint8Array));
        expect(hex.encode(d.scriptPubKey)).toBe(hex.encode(ref.script));
        expect(d.pubkeys.map((p) => hex.encode(p))).toEqual(sorted.map((p) => hex.encode(p)));
        expect(d.witnessScript.length).toBe(105);
        expect([d.witnessScript[0], d.witnessScript[103], d.witnessScript[104]]).toEqual([
          0x52, 0x53, 0xae,
        ]);
      }
    }
  });
  it('gives the published first receive address of a keeper 2-of-3 wallet', () => {
    const p = load<Published>('published-2of3.json').keeper;
    const i = p.descriptor.indexOf('#');
    const lower = p.descriptor
      .slice(0, i)
      .replace(/\[([0-9A-F]{8})/g, (_m, f: string) => `[${f.toLowerCase()}`);
    const w = parseDescriptor(withChecksum(lower), 'testnet');
    const spk = deriveScript(w, 0, 0).scriptPubKey;
    expect(Address(TEST_NETWORK).encode({ type: 'wsh', hash: spk.slice(2) })).toBe(
      p.firstReceiveAddress,
    );
  });
  it('produces the BIP383 sortedmulti scripts from the BIP383 xpubs', () => {
    const v = load<Bip383Vector>('bip383-sortedmulti.json');
    v.scripts.forEach((script, index) => {
      const pks = v.keys.map((k) => {
        let node = HDKey.fromExtendedKey(k.xpub);
        for (const step of k.path) node = node.deriveChild(step);
        return node.deriveChild(index).publicKey as Uint8Array;
      });
      expect(hex.encode(sortedMultisigWitnessScript(2, pks))).toBe(script);
    });
  });
  it('mainnet wallet gives a bc1q address equal to btc-signer', () => {
    const w = parseDescriptor(withChecksum(body('mainnet')), 'mainnet');
    const m = cosigners('mainnet');
    const pks = m
      .map((c) => c.master.derive("m/48'/0'/0'/2'/0/3").publicKey as Uint8Array)
      .sort(compareBytes);
    expect(
      Address(NETWORK).encode({ type: 'wsh', hash: deriveScript(w, 0, 3).scriptPubKey.slice(2) }),
    ).toBe(p2wsh(p2ms(2, pks), NETWORK).address);
  });
  it('returns copies: mutating a result does not poison the cache', () => {
    const a = deriveScript(wallet, 1, 5);
    const before = hex.encode(a.scriptPubKey);
    a.scriptPubKey.fill(0);
    a.witnessScript.fill(0);
    (a.pubkeys[0] as Uint8Array).fill(0);
    const b = deriveScript(wallet, 1, 5);
    expect(hex.encode(b.scriptPubKey)).toBe(before);
    expect(b.witnessScript[0]).toBe(0x52);
    expect(b.pubkeys[0]?.[0]).not.toBe(0);
  });
  it('refuses bad branches and indexes', () => {
    for (const branch of [2, -1, 0.5, Number.NaN]) {
      expect(refusal(() => deriveScript(wallet, branch as 0, 0)).reason).toBe(
        DESCRIPTOR_REASONS.BRANCH,
      );
    }
    for (const index of [-1, 2 ** 31, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(refusal(() => deriveScript(wallet, 0, index)).reason).toBe(DESCRIPTOR_REASONS.INDEX);
    }
  });
  it('re-checks a wallet object it did not parse, and refuses one whose keys differ from its text', () => {
    const copy = { ...wallet };
    expect(hex.encode(deriveScript(copy, 0, 0).scriptPubKey)).toBe(
      hex.encode(deriveScript(wallet, 0, 0).scriptPubKey),
    );
    const other = cosigners('testnet', [7])[0];
    const forged = {
      ...wallet,
      keys: [wallet.keys[0], wallet.keys[1], { ...wallet.keys[2], xpub: other?.xpub ?? '' }],
    } as typeof wallet;
    expect(refusal(() => deriveScript(forged, 0, 0)).code).toBe('BAD_DESCRIPTOR');
  });
});

describe('findOwnKey', () => {
  const wallet = parseDescriptor(withChecksum(body('testnet')), 'testnet');
  const cs = cosigners('testnet');
  const fpBytes = (fp: string) => hex.decode(fp);
  it('finds each cosigner at its descriptor position', () => {
    cs.forEach((c, i) => {
      expect(findOwnKey(wallet, fpBytes(c.fp), c.xpub)).toBe(i);
      expect(
        findOwnKey(wallet, fpBytes(c.fp), c.xpub, [0x80000030, 0x80000001, 0x80000000, 0x80000002]),
      ).toBe(i);
    });
  });
  it('refuses a device whose key is not in the wallet (WALLET_NOT_REGISTERED)', () => {
    const stranger = cosigners('testnet', [8])[0];
    expect(
      refusal(() => findOwnKey(wallet, fpBytes(stranger?.fp ?? ''), stranger?.xpub ?? '')).code,
    ).toBe('WALLET_NOT_REGISTERED');
    // right xpub, wrong fingerprint; right fingerprint, wrong xpub; wrong account path
    expect(refusal(() => findOwnKey(wallet, fpBytes('00000000'), cs[0]?.xpub ?? '')).code).toBe(
      'WALLET_NOT_REGISTERED',
    );
    expect(
      refusal(() => findOwnKey(wallet, fpBytes(cs[0]?.fp ?? ''), cs[1]?.xpub ?? '')).code,
    ).toBe('WALLET_NOT_REGISTERED');
    expect(
      refusal(() =>
        findOwnKey(
          wallet,
          fpBytes(cs[0]?.fp ?? ''),
          cs[0]?.xpub ?? '',
          [0x80000030, 0x80000001, 0x80000005, 0x80000002],
        ),
      ).code,
    ).toBe('WALLET_NOT_REGISTERED');
  });
  it('refuses malformed arguments', () => {
    expect(refusal(() => findOwnKey(wallet, new Uint8Array(3), cs[0]?.xpub ?? '')).code).toBe(
      'BAD_DESCRIPTOR',
    );
    expect(
      refusal(() => findOwnKey(wallet, fpBytes(cs[0]?.fp ?? ''), 5 as unknown as string)).code,
    ).toBe('BAD_DESCRIPTOR');
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { descriptorChecksum, parseDescriptor } from '@keyline/signer-device/wallet';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { HDKey } from '@scure/bip32';
import { p2ms, p2wsh, utils } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import {
  addressOf,
  buildWallet,
  deriveAddress,
  type EnrolledKey,
  importDescriptorsRequest,
  walletFromDescriptor,
} from '../../src/vault/wallet.js';
import { ACCOUNT_PATH, COSIGNERS, STRANGER, thrown, WALLET } from './fixtures.js';

interface Vectors {
  checksums: { valid: { descriptor: string }[] };
  keeper: { descriptor: string; firstReceiveAddress: string };
  krux: { descriptor: string };
}
const VECTORS = JSON.parse(
  readFileSync(join(import.meta.dirname, 'vectors', 'descriptors.json'), 'utf8'),
) as Vectors;

const KEY_RE = /\[([0-9a-fA-F]{8})\/48h\/1h\/0h\/2h\](tpub[1-9A-HJ-NP-Za-km-z]+)\/<0;1>\/\*/g;
/** The enrolled keys written in a published descriptor (fingerprint, path, xpub). */
function keysOf(descriptor: string): EnrolledKey[] {
  return [...descriptor.matchAll(KEY_RE)].map((m) => ({
    fingerprint: hexToBytes((m[1] ?? '').toLowerCase()),
    path: 'm/48h/1h/0h/2h',
    xpub: m[2] ?? '',
  }));
}

/** Scripts at branch/index computed by btc-signer alone (independent of the device's code). */
function independentScript(branch: number, index: number): Uint8Array {
  const keys = COSIGNERS.map((c) => {
    const pk = c.account.deriveChild(branch).deriveChild(index).publicKey;
    if (pk === null) throw new Error('no key');
    return pk;
  }).sort(utils.compareBytes);
  return p2wsh(p2ms(2, keys)).script;
}

describe('vault wallet: descriptor', () => {
  it('builds the canonical multipath descriptor that the device parser accepts with the same id', () => {
    const fp = (i: number) => bytesToHex(COSIGNERS[i]?.enrolled.fingerprint ?? new Uint8Array());
    const body = `wsh(sortedmulti(2,${COSIGNERS.map((c, i) => `[${fp(i)}/48'/1'/0'/2']${c.enrolled.xpub}/<0;1>/*`).join(',')}))`;
    expect(WALLET.descriptor).toBe(`${body}#${descriptorChecksum(body)}`);
    const device = parseDescriptor(WALLET.descriptor, 'regtest');
    expect(device.text).toBe(WALLET.descriptor);
    expect(WALLET.id).toEqual(device.id);
    expect(WALLET.idHex).toBe(bytesToHex(device.id));
    expect(walletFromDescriptor(WALLET.descriptor, 'regtest').idHex).toBe(WALLET.idHex);
  });

  it('rebuilds a published descriptor (krux) from its three keys: same canonical text and id', () => {
    const keys = keysOf(VECTORS.krux.descriptor);
    expect(keys).toHaveLength(3);
    const built = buildWallet(keys, 'testnet');
    const published = parseDescriptor(VECTORS.krux.descriptor, 'testnet');
    expect(built.descriptor).toBe(published.text);
    expect(built.id).toEqual(published.id);
  });

  it('derives the first receive address a published wallet (keeper) states', () => {
    const lowered = VECTORS.keeper.descriptor.replace(
      /\[([0-9A-F]{8})\//g,
      (_, f: string) => `[${f.toLowerCase()}/`,
    );
    const body = lowered.slice(0, lowered.indexOf('#'));
    const canonical = parseDescriptor(`${body}#${descriptorChecksum(body)}`, 'testnet').text;
    const w = walletFromDescriptor(canonical, 'testnet');
    expect(deriveAddress(w, 0, 0).address).toBe(VECTORS.keeper.firstReceiveAddress);
  });

  it('uses the BIP380 checksum that matches the published vectors (BIP 380, Bitcoin Core)', () => {
    for (const v of VECTORS.checksums.valid) {
      const [body, sum] = v.descriptor.split('#');
      expect(descriptorChecksum(body ?? '')).toBe(sum);
    }
  });

  it('gives single-path receive and change descriptors with their own checksums', () => {
    for (const [text, branch] of [
      [WALLET.receiveDescriptor, 0],
      [WALLET.changeDescriptor, 1],
    ] as const) {
      const [body, sum] = text.split('#');
      expect(descriptorChecksum(body ?? '')).toBe(sum);
      expect(body).not.toContain('<0;1>');
      expect(body?.match(new RegExp(`/${branch}/\\*`, 'g'))).toHaveLength(3);
      expect(body).toBe(WALLET.descriptor.split('#')[0]?.replaceAll('/<0;1>/*', `/${branch}/*`));
    }
    // The device registers only the multipath form: one text, one wallet id.
    expect(thrown(() => parseDescriptor(WALLET.receiveDescriptor, 'regtest')).code).toBe(
      'BAD_DESCRIPTOR',
    );
  });

  it('gives the importdescriptors request for a watch-only Core wallet', () => {
    const req = importDescriptorsRequest(WALLET, {
      timestamp: 1_700_000_000,
      rangeEnd: 999,
      nextReceiveIndex: 12,
      nextChangeIndex: 3,
    });
    expect(JSON.parse(JSON.stringify(req))).toEqual([
      {
        desc: WALLET.receiveDescriptor,
        active: true,
        internal: false,
        range: [0, 999],
        next_index: 12,
        timestamp: 1_700_000_000,
      },
      {
        desc: WALLET.changeDescriptor,
        active: true,
        internal: true,
        range: [0, 999],
        next_index: 3,
        timestamp: 1_700_000_000,
      },
    ]);
    expect(
      thrown(() =>
        importDescriptorsRequest(WALLET, { timestamp: 'now', rangeEnd: 9, nextReceiveIndex: 11 }),
      ).code,
    ).toBe('BAD_REQUEST');
    expect(
      thrown(() => importDescriptorsRequest(WALLET, { timestamp: -1, rangeEnd: 9 })).code,
    ).toBe('BAD_REQUEST');
  });

  it('refuses anything but three distinct enrolled keys of the network, with the device reason', () => {
    const keys = COSIGNERS.map((c) => c.enrolled);
    const k0 = keys[0] as EnrolledKey;
    const k1 = keys[1] as EnrolledKey;
    const cases: [readonly EnrolledKey[], string | undefined][] = [
      [keys.slice(0, 2), undefined],
      [[...keys, STRANGER.enrolled], undefined],
      [[k0, k1, k0], 'duplicate_key'],
      [[k0, k1, { ...STRANGER.enrolled, path: "m/48'/0'/0'/2'" }], 'coin_type'],
      [[k0, k1, { ...STRANGER.enrolled, path: "m/48'/1'/0'/1'" }], undefined],
      [[k0, k1, { ...STRANGER.enrolled, fingerprint: new Uint8Array(3) }], undefined],
      [[k0, k1, { ...STRANGER.enrolled, xpub: `${STRANGER.enrolled.xpub.slice(0, -1)}1` }], 'xpub'],
    ];
    for (const [ks, reason] of cases) {
      const e = thrown(() => buildWallet(ks, 'regtest'));
      expect(e.code).toBe('BAD_CONFIG');
      if (reason !== undefined) expect(e.detail?.reason).toBe(reason);
    }
    // A mainnet key on a test network.
    const main = HDKey.fromMasterSeed(new Uint8Array(32).fill(5)).derive("m/48'/0'/0'/2'");
    const e = thrown(() =>
      buildWallet(
        [
          k0,
          k1,
          {
            fingerprint: new Uint8Array(4).fill(1),
            path: "m/48'/1'/0'/2'",
            xpub: main.publicExtendedKey,
          },
        ],
        'regtest',
      ),
    );
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.detail?.deviceCode).toBe('WRONG_NETWORK');
  });

  it('loads only the canonical text: another spelling or a bad checksum is refused', () => {
    const hForm = WALLET.descriptor.split('#')[0]?.replaceAll("'", 'h') ?? '';
    expect(
      thrown(() => walletFromDescriptor(`${hForm}#${descriptorChecksum(hForm)}`, 'regtest')).code,
    ).toBe('BAD_CONFIG');
    const tampered = `${WALLET.descriptor.slice(0, -1)}${WALLET.descriptor.endsWith('q') ? 'p' : 'q'}`;
    expect(thrown(() => walletFromDescriptor(tampered, 'regtest')).detail?.reason).toBe(
      'checksum_mismatch',
    );
    expect(thrown(() => walletFromDescriptor(WALLET.descriptor, 'mainnet')).code).toBe(
      'BAD_CONFIG',
    );
  });
});

describe('vault wallet: addresses', () => {
  it('derives the scripts btc-signer derives independently, with the three derivation records', () => {
    for (const [branch, index] of [
      [0, 0],
      [0, 7],
      [1, 0],
      [1, 41],
    ] as const) {
      const a = deriveAddress(WALLET, branch, index);
      expect(a.script).toEqual(independentScript(branch, index));
      expect(a.address.startsWith('bcrt1q')).toBe(true);
      expect(addressOf(a.script, 'regtest')).toBe(a.address);
      expect(a.witnessScript).toHaveLength(105);
      expect(a.derivations.map((d) => d.path)).toEqual(
        COSIGNERS.map(() => [0x80000030, 0x80000001, 0x80000000, 0x80000002, branch, index]),
      );
      expect(a.derivations.map((d) => d.fingerprint)).toEqual(
        COSIGNERS.map((c) => c.master.fingerprint),
      );
      COSIGNERS.forEach((c, i) => {
        expect(a.derivations[i]?.pubkey).toEqual(
          c.account.deriveChild(branch).deriveChild(index).publicKey,
        );
      });
    }
    expect(ACCOUNT_PATH).toBe("m/48'/1'/0'/2'");
  });

  it('gives a distinct address for every branch and index', () => {
    const seen = new Set<string>();
    for (const branch of [0, 1] as const) {
      for (let i = 0; i < 25; i++) seen.add(deriveAddress(WALLET, branch, i).address);
    }
    expect(seen.size).toBe(50);
  });

  it('encodes addresses per network and refuses a bad branch or index', () => {
    const s = deriveAddress(WALLET, 0, 0).script;
    expect(addressOf(s, 'testnet').startsWith('tb1q')).toBe(true);
    expect(addressOf(s, 'signet').startsWith('tb1q')).toBe(true);
    expect(addressOf(s, 'mainnet').startsWith('bc1q')).toBe(true);
    expect(thrown(() => deriveAddress(WALLET, 2 as 0, 0)).code).toBe('BAD_REQUEST');
    expect(thrown(() => deriveAddress(WALLET, 0, 2 ** 31)).code).toBe('BAD_REQUEST');
    expect(thrown(() => deriveAddress(WALLET, 0, 1.5)).code).toBe('BAD_REQUEST');
    expect(thrown(() => addressOf(Uint8Array.of(0xff), 'regtest')).code).toBe('BAD_REQUEST');
  });
});

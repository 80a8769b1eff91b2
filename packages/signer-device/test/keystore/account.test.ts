import { readFileSync } from 'node:fs';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hex } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { describe, expect, it } from 'vitest';
import {
  accountPath,
  deriveAccountPublic,
  deriveSubkeys,
  fingerprintHex,
  NETWORK_PARAMS,
  releaseSubkeys,
} from '../../src/keystore/account.js';
import { entropyToSeed, wordsToEntropy } from '../../src/keystore/mnemonic.js';
import { liveSecretCount, releaseSecret } from '../../src/keystore/secrets.js';

interface Chain {
  path: string;
  xpub: string;
  xprv: string;
}
const v = JSON.parse(
  readFileSync(new URL('../vectors/bip32/vectors.json', import.meta.url), 'utf8'),
) as {
  vector1: { seed: string; chains: Chain[] };
  vector2: { seed: string; chains: Chain[] };
  bip48Coldcard: {
    words: string;
    fingerprint: string;
    rootTpub: string;
    path: string;
    accountTpub: string;
  };
};

function seedOfWords(words: string): Uint8Array {
  const entropy = wordsToEntropy(words);
  try {
    return entropyToSeed(entropy);
  } finally {
    releaseSecret(entropy);
  }
}

describe('BIP32 published test vectors 1 and 2 (bitcoin/bips bip-0032.mediawiki)', () => {
  for (const name of ['vector1', 'vector2'] as const) {
    it.each(v[name].chains)(`${name} %s`, (chain) => {
      const master = HDKey.fromMasterSeed(hex.decode(v[name].seed));
      const node = master.derive(chain.path);
      expect(node.publicExtendedKey).toBe(chain.xpub);
      expect(node.privateExtendedKey).toBe(chain.xprv);
      master.wipePrivateData();
      node.wipePrivateData();
    });
  }
});

describe("BIP48 cross-check: Coldcard simulator seed at m/48'/1'/0'/2'", () => {
  it('fingerprint, path, account tpub and key origin match the published export', () => {
    const seed = seedOfWords(v.bip48Coldcard.words);
    const info = deriveAccountPublic(seed, 'testnet');
    releaseSecret(seed);
    expect(info.fingerprint).toBe(v.bip48Coldcard.fingerprint);
    expect(info.path).toBe(v.bip48Coldcard.path);
    expect(info.accountXpub).toBe(v.bip48Coldcard.accountTpub);
    expect(info.keyOrigin).toBe(`[0f056943/48'/1'/0'/2']${v.bip48Coldcard.accountTpub}`);
  });
  it('the root tpub matches too (the words are the ones the export came from)', () => {
    const seed = seedOfWords(v.bip48Coldcard.words);
    const root = HDKey.fromMasterSeed(seed, NETWORK_PARAMS.testnet.versions);
    expect(root.publicExtendedKey).toBe(v.bip48Coldcard.rootTpub);
    root.wipePrivateData();
    releaseSecret(seed);
  });
});

describe('account', () => {
  it('maps networks to coin types and versions', () => {
    expect(accountPath('mainnet')).toBe("m/48'/0'/0'/2'");
    for (const n of ['testnet', 'signet', 'regtest'] as const) {
      expect(accountPath(n)).toBe("m/48'/1'/0'/2'");
      expect(NETWORK_PARAMS[n].pubPrefix).toBe('tpub');
    }
    expect(Object.isFrozen(NETWORK_PARAMS)).toBe(true);
    expect(() => accountPath('litecoin' as 'mainnet')).toThrow(/expected a network/);
  });

  it('a mainnet account is an xpub at coin 0, different from the testnet one', () => {
    const seed = seedOfWords(v.bip48Coldcard.words);
    const main = deriveAccountPublic(seed, 'mainnet');
    const test = deriveAccountPublic(seed, 'testnet');
    releaseSecret(seed);
    expect(main.accountXpub.startsWith('xpub')).toBe(true);
    expect(main.keyOrigin.startsWith("[0f056943/48'/0'/0'/2']xpub")).toBe(true);
    expect(main.fingerprint).toBe(test.fingerprint);
    // Same key material? No: coin type 0 vs 1 are different hardened children.
    expect(HDKey.fromExtendedKey(main.accountXpub).publicKey).not.toEqual(
      HDKey.fromExtendedKey(test.accountXpub, NETWORK_PARAMS.testnet.versions).publicKey,
    );
  });

  it('pads the fingerprint to 8 hex digits', () => {
    expect(fingerprintHex(0x0f056943)).toBe('0f056943');
    expect(fingerprintHex(0)).toBe('00000000');
  });

  it('sub-keys are deterministic, distinct, and their publics are what the account reports', () => {
    const seed = seedOfWords(v.bip48Coldcard.words);
    const a = deriveSubkeys(seed);
    const b = deriveSubkeys(seed);
    expect(hex.encode(a.linkPrivateKey)).toBe(hex.encode(b.linkPrivateKey));
    const all = [a.linkPrivateKey, a.auditSeed, a.stateMacKey].map((k) => hex.encode(k));
    expect(new Set(all).size).toBe(3);
    const info = deriveAccountPublic(seed, 'testnet');
    expect(info.linkPublicKey).toEqual(x25519.getPublicKey(a.linkPrivateKey));
    expect(info.auditPublicKey).toEqual(ed25519.getPublicKey(a.auditSeed));
    releaseSubkeys(a);
    releaseSubkeys(b);
    releaseSecret(seed);
    expect(a.linkPrivateKey.every((x) => x === 0)).toBe(true);
  });

  it('wipes every node it derives', () => {
    const before = liveSecretCount();
    const seed = seedOfWords(v.bip48Coldcard.words);
    deriveAccountPublic(seed, 'regtest');
    releaseSecret(seed);
    expect(liveSecretCount()).toBe(before);
  });

  it('refuses a seed that is not 64 bytes', () => {
    expect(() => deriveSubkeys(new Uint8Array(32))).toThrow(/64-byte BIP39 seed/);
  });
});

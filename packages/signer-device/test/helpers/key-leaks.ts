import { bytesToHex } from '@noble/hashes/utils.js';
import { HDKey } from '@scure/bip32';
import { mnemonicToEntropy, mnemonicToSeedSync } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { deriveSubkeys, releaseSubkeys } from '../../src/keystore/account.js';

const TEST_VERSIONS = { private: 0x04358394, public: 0x043587cf };

export interface SecretForms {
  readonly text: readonly string[];
  readonly bytes: readonly Uint8Array[];
}

/**
 * Every form in which a device's key material could leak, from its recovery words: the words
 * (whole and their first three and four), the master and account xprv, and the entropy, seed,
 * private keys and derived sub-keys as hex, base64 and raw bytes.
 */
export function secretsOf(words: string): SecretForms {
  const entropy = mnemonicToEntropy(words, wordlist);
  const seed = mnemonicToSeedSync(words);
  const master = HDKey.fromMasterSeed(seed, TEST_VERSIONS);
  const account = master.derive("m/48'/1'/0'/2'");
  const sub = deriveSubkeys(seed);
  const raw = [
    entropy,
    seed,
    account.privateKey ?? new Uint8Array(32),
    master.privateKey ?? new Uint8Array(32),
    sub.stateMacKey,
    sub.auditSeed,
    sub.linkPrivateKey,
  ].map((b) => Uint8Array.from(b));
  const text = [
    words,
    words.split(' ').slice(0, 4).join(' '),
    words.split(' ').slice(0, 3).join(' '),
    master.privateExtendedKey,
    account.privateExtendedKey,
    ...raw.map((b) => bytesToHex(b)),
    ...raw.map((b) => Buffer.from(b).toString('base64')),
  ];
  releaseSubkeys(sub);
  master.wipePrivateData();
  account.wipePrivateData();
  return { text, bytes: raw.map((b) => b.subarray(0, 16)) };
}

/** How many of the secrets occur in `hay` (as text, case-insensitive, or as raw bytes). */
export function leaks(hay: Uint8Array, secrets: SecretForms): number {
  const asText = Buffer.from(hay).toString('latin1').toLowerCase();
  const t = secrets.text.filter((x) => asText.includes(x.toLowerCase())).length;
  const b = secrets.bytes.filter((x) => Buffer.from(hay).indexOf(Buffer.from(x)) >= 0).length;
  return t + b;
}

/**
 * What a device key is, derived from its BIP39 seed: the network's constants, the BIP48 account
 * (m/48'/coin'/0'/2', P2WSH multisig), the master fingerprint, and three sub-keys derived with
 * HKDF-SHA256 under fixed labels so that a restore reproduces the same identities:
 *
 *   link identity   X25519 private key   "keyline/link-identity/v1"   (the serial link's Noise key)
 *   audit identity  Ed25519 seed         "keyline/audit-identity/v1"  (signs the audit log)
 *   state MAC key   HMAC-SHA256 key      "keyline/state-mac/v1"       (authenticates durable state)
 *
 * HKDF: IKM = the 64-byte BIP39 seed, salt = "keyline/device-subkeys/v1", info = the label,
 * L = 32. The sub-keys are independent of the BIP32 tree: none of them reveals the account key.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { hex } from '@scure/base';
import { HARDENED_OFFSET, HDKey, type Versions } from '@scure/bip32';
import { SignerError } from '../errors.js';
import { releaseSecret, trackNode, trackSecret } from './secrets.js';

export type Network = 'mainnet' | 'testnet' | 'signet' | 'regtest';

export const NETWORKS: readonly Network[] = Object.freeze([
  'mainnet',
  'testnet',
  'signet',
  'regtest',
]);

export interface NetworkParams {
  /** BIP44 coin type: 0 on mainnet, 1 on every test network. */
  readonly coinType: 0 | 1;
  /** BIP32 serialization versions (xprv/xpub on mainnet, tprv/tpub otherwise). */
  readonly versions: Readonly<Versions>;
  /** Prefix of the serialized account public key. */
  readonly pubPrefix: 'xpub' | 'tpub';
}

const MAINNET_VERSIONS = Object.freeze({ private: 0x0488ade4, public: 0x0488b21e });
const TESTNET_VERSIONS = Object.freeze({ private: 0x04358394, public: 0x043587cf });

/** Spec table: network -> coin type and BIP32 versions (BIP44, BIP32, SLIP-132 xpub/tpub). */
export const NETWORK_PARAMS: Readonly<Record<Network, NetworkParams>> = Object.freeze({
  mainnet: Object.freeze({ coinType: 0, versions: MAINNET_VERSIONS, pubPrefix: 'xpub' }),
  testnet: Object.freeze({ coinType: 1, versions: TESTNET_VERSIONS, pubPrefix: 'tpub' }),
  signet: Object.freeze({ coinType: 1, versions: TESTNET_VERSIONS, pubPrefix: 'tpub' }),
  regtest: Object.freeze({ coinType: 1, versions: TESTNET_VERSIONS, pubPrefix: 'tpub' }),
});

/** BIP48: purpose 48', account 0', script type 2' (native segwit P2WSH). */
export const BIP48_PURPOSE = 48;
export const ACCOUNT_INDEX = 0;
export const SCRIPT_TYPE_P2WSH = 2;

/** HKDF parameters of the device sub-keys. Changing any of them changes every device identity. */
export const SUBKEY_SALT = 'keyline/device-subkeys/v1';
export const SUBKEY_LABELS = Object.freeze({
  linkIdentity: 'keyline/link-identity/v1',
  auditIdentity: 'keyline/audit-identity/v1',
  stateMac: 'keyline/state-mac/v1',
} as const);
export const SUBKEY_BYTES = 32;

export function assertNetwork(network: unknown, place: string): asserts network is Network {
  if (typeof network !== 'string' || !(NETWORKS as readonly string[]).includes(network)) {
    throw new SignerError(
      'BAD_CONFIG',
      `${place}: expected a network (${NETWORKS.join('|')}), got ${typeof network === 'string' ? JSON.stringify(network) : typeof network}`,
    );
  }
}

export function networkParams(network: Network): NetworkParams {
  assertNetwork(network, 'account/networkParams');
  return NETWORK_PARAMS[network];
}

/** The account path in descriptor style with apostrophes: `m/48'/1'/0'/2'`. */
export function accountPath(network: Network): string {
  const { coinType } = networkParams(network);
  return `m/${BIP48_PURPOSE}'/${coinType}'/${ACCOUNT_INDEX}'/${SCRIPT_TYPE_P2WSH}'`;
}

/** The hardened indexes of the account path, for deriving step by step. */
export function accountPathIndexes(network: Network): readonly number[] {
  const { coinType } = networkParams(network);
  return [BIP48_PURPOSE, coinType, ACCOUNT_INDEX, SCRIPT_TYPE_P2WSH].map(
    (i) => i + HARDENED_OFFSET,
  );
}

/** `[fingerprint/48'/1'/0'/2']tpub...` as Bitcoin Core writes a key origin. */
export function keyOrigin(fingerprintHex: string, network: Network, accountXpub: string): string {
  return `[${fingerprintHex}${accountPath(network).slice(1)}]${accountXpub}`;
}

/** The 4-byte master fingerprint as 8 lower-case hex digits (big-endian, as in descriptors). */
export function fingerprintHex(fingerprint: number): string {
  return fingerprint.toString(16).padStart(8, '0');
}

/** The public facts of a device key: everything the key file and the coordinator may know. */
export interface AccountPublic {
  readonly network: Network;
  readonly fingerprint: string;
  readonly path: string;
  readonly accountXpub: string;
  readonly keyOrigin: string;
  /** X25519 public key of the link identity, 32 bytes. */
  readonly linkPublicKey: Uint8Array;
  /** Ed25519 public key of the audit identity, 32 bytes. */
  readonly auditPublicKey: Uint8Array;
}

/** The secret sub-keys, each a registered live secret (32 bytes). The caller releases them. */
export interface DeviceSubkeys {
  readonly linkPrivateKey: Uint8Array;
  readonly auditSeed: Uint8Array;
  readonly stateMacKey: Uint8Array;
}

/**
 * The master node and the account node (private) of a seed. Intermediate nodes are wiped as they
 * are passed. The caller owns both returned nodes and must `wipePrivateData()` them.
 */
export function deriveAccountNodes(
  seed: Uint8Array,
  network: Network,
): { master: HDKey; account: HDKey } {
  assertSeed(seed, 'account/deriveAccountNodes');
  const { versions } = networkParams(network);
  const master = trackNode(HDKey.fromMasterSeed(seed, versions));
  let node = master;
  try {
    for (const index of accountPathIndexes(network)) {
      const child = trackNode(node.deriveChild(index));
      if (node !== master) node.wipePrivateData();
      node = child;
    }
  } catch (e) {
    if (node !== master) node.wipePrivateData();
    master.wipePrivateData();
    throw e;
  }
  return { master, account: node };
}

/** Every public fact of the device key of `seed` on `network`. Wipes what it derives. */
export function deriveAccountPublic(seed: Uint8Array, network: Network): AccountPublic {
  const { master, account } = deriveAccountNodes(seed, network);
  const sub = deriveSubkeys(seed);
  try {
    const fingerprint = fingerprintHex(master.fingerprint);
    const accountXpub = account.publicExtendedKey;
    return Object.freeze({
      network,
      fingerprint,
      path: accountPath(network),
      accountXpub,
      keyOrigin: keyOrigin(fingerprint, network, accountXpub),
      linkPublicKey: x25519.getPublicKey(sub.linkPrivateKey),
      auditPublicKey: ed25519.getPublicKey(sub.auditSeed),
    });
  } finally {
    master.wipePrivateData();
    account.wipePrivateData();
    releaseSubkeys(sub);
  }
}

/** HKDF-SHA256 sub-keys of a 64-byte BIP39 seed (see the module header). */
export function deriveSubkeys(seed: Uint8Array): DeviceSubkeys {
  assertSeed(seed, 'account/deriveSubkeys');
  const salt = utf8ToBytes(SUBKEY_SALT);
  const derive = (label: string): Uint8Array =>
    trackSecret(hkdf(sha256, seed, salt, utf8ToBytes(label), SUBKEY_BYTES));
  return Object.freeze({
    linkPrivateKey: derive(SUBKEY_LABELS.linkIdentity),
    auditSeed: derive(SUBKEY_LABELS.auditIdentity),
    stateMacKey: derive(SUBKEY_LABELS.stateMac),
  });
}

export function releaseSubkeys(sub: DeviceSubkeys): void {
  releaseSecret(sub.linkPrivateKey);
  releaseSecret(sub.auditSeed);
  releaseSecret(sub.stateMacKey);
}

/** Lower-case hex of public bytes (never call it on a secret). */
export function publicHex(bytes: Uint8Array): string {
  return hex.encode(bytes);
}

function assertSeed(seed: unknown, place: string): asserts seed is Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length !== 64) {
    throw new SignerError(
      'BAD_MNEMONIC',
      `${place}: expected a 64-byte BIP39 seed, got ${seed instanceof Uint8Array ? `Uint8Array(${seed.length})` : typeof seed}`,
    );
  }
}

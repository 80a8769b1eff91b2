/**
 * `UnlockedKey`: the only holder of the decrypted device key in RAM. It keeps the BIP32 account
 * node's two branch nodes (receive 0 and change 1) and the three HKDF sub-keys; everything else
 * derived on the way (master, intermediate nodes, seed, entropy) is wiped before the constructor
 * returns. `lock()` wipes all of it and every copy it handed out; after that every method throws
 * LOCKED. Fields are JS private (#), so neither JSON.stringify nor util.inspect can show them.
 */

import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { HDKey } from '@scure/bip32';
import { SignerError } from '../errors.js';
import {
  type AccountPublic,
  accountPath,
  assertNetwork,
  type DeviceSubkeys,
  deriveAccountNodes,
  deriveSubkeys,
  fingerprintHex,
  keyOrigin,
  type Network,
  releaseSubkeys,
} from './account.js';
import { ckdPrivScalar } from './ckd-priv.js';
import { type DigestSignature, signDigestWithKey } from './ecdsa.js';
import { openKeyFile, parseKeyFile } from './key-file.js';
import { DEVICE_KINDS, type DeviceKind, type KdfPolicy, type KeyFile } from './key-file-format.js';
import { entropyToSeed } from './mnemonic.js';
import { releaseSecret, trackNode, trackSecret } from './secrets.js';

/** Highest non-hardened child index (BIP32). */
export const MAX_ADDRESS_INDEX = 0x7fffffff;

export class UnlockedKey {
  readonly #network: Network;
  #branches: [HDKey, HDKey] | undefined;
  #sub: DeviceSubkeys | undefined;
  readonly #public: AccountPublic;
  readonly #handedOut = new Set<Uint8Array>();

  /**
   * From 32 bytes of BIP39 entropy (read, not wiped: its owner wipes it). Prefer
   * `unlockKeyFile`; this exists for the ceremony and the tests.
   */
  static fromEntropy(entropy: Uint8Array, network: Network): UnlockedKey {
    assertNetwork(network, 'keystore/fromEntropy');
    const seed = entropyToSeed(entropy);
    try {
      return new UnlockedKey(seed, network);
    } finally {
      releaseSecret(seed);
    }
  }

  private constructor(seed: Uint8Array, network: Network) {
    this.#network = network;
    const { master, account } = deriveAccountNodes(seed, network);
    let receive: HDKey | undefined;
    try {
      receive = trackNode(account.deriveChild(0));
      const change = trackNode(account.deriveChild(1));
      this.#branches = [receive, change];
      this.#sub = deriveSubkeys(seed);
      const fingerprint = fingerprintHex(master.fingerprint);
      const accountXpub = account.publicExtendedKey;
      this.#public = Object.freeze({
        network,
        fingerprint,
        path: accountPath(network),
        accountXpub,
        keyOrigin: keyOrigin(fingerprint, network, accountXpub),
        linkPublicKey: x25519.getPublicKey(this.#sub.linkPrivateKey),
        auditPublicKey: ed25519.getPublicKey(this.#sub.auditSeed),
      });
    } catch (e) {
      receive?.wipePrivateData();
      this.#branches?.[1].wipePrivateData();
      if (this.#sub !== undefined) releaseSubkeys(this.#sub);
      throw e;
    } finally {
      master.wipePrivateData();
      account.wipePrivateData();
    }
  }

  get network(): Network {
    this.#live('network');
    return this.#network;
  }

  get isLocked(): boolean {
    return this.#branches === undefined;
  }

  /** The account xpub/tpub at m/48'/coin'/0'/2'. */
  accountXpub(): string {
    this.#live('accountXpub');
    return this.#public.accountXpub;
  }

  /** Master fingerprint, 8 lower-case hex digits. */
  fingerprint(): string {
    this.#live('fingerprint');
    return this.#public.fingerprint;
  }

  /** `[fingerprint/48'/coin'/0'/2']xpub`. */
  keyOrigin(): string {
    this.#live('keyOrigin');
    return this.#public.keyOrigin;
  }

  /** Every public fact of this key (xpub, fingerprint, path, link and audit public keys). */
  publicInfo(): AccountPublic {
    this.#live('publicInfo');
    return this.#public;
  }

  /**
   * Signs a 32-byte sighash (as is, no hashing) with the key at <account>/branch/index. Returns
   * the compressed public key and DER + SIGHASH_ALL; the signature is verified before return.
   */
  signDigest(branch: 0 | 1, index: number, digest: Uint8Array): DigestSignature {
    const branches = this.#live('signDigest');
    if (branch !== 0 && branch !== 1) {
      throw new SignerError(
        'BAD_PSBT',
        `keystore/signDigest: expected branch 0 or 1, got ${String(branch)}`,
      );
    }
    if (!Number.isSafeInteger(index) || index < 0 || index > MAX_ADDRESS_INDEX) {
      throw new SignerError(
        'BAD_PSBT',
        `keystore/signDigest: expected an index in [0, ${MAX_ADDRESS_INDEX}], got ${String(index)}`,
      );
    }
    // CKDpriv on libsecp (ckd-priv.ts): only the child scalar, no HD node, no child pubkey here.
    const node = branches[branch];
    const parentKey = node.privateKey;
    const chainCode = node.chainCode;
    let priv: Uint8Array | null = null;
    try {
      if (parentKey === null || chainCode === null || node.publicKey === null) {
        throw new SignerError(
          'STATE_CORRUPT',
          'keystore/signDigest: expected a private branch node',
        );
      }
      priv = ckdPrivScalar({ privateKey: parentKey, publicKey: node.publicKey, chainCode }, index);
      if (priv === null) {
        throw new SignerError(
          'STATE_CORRUPT',
          `keystore/signDigest: expected a valid BIP32 child at ${branch}/${index}, got an invalid one (IL >= n or zero)`,
        );
      }
      trackSecret(priv);
      return signDigestWithKey(priv, digest);
    } finally {
      releaseSecret(priv);
      parentKey?.fill(0);
      chainCode?.fill(0);
    }
  }

  /** The compressed public key at <account>/branch/index (what signDigest would sign with). */
  publicKeyAt(branch: 0 | 1, index: number): Uint8Array {
    const branches = this.#live('publicKeyAt');
    if (
      (branch !== 0 && branch !== 1) ||
      !Number.isSafeInteger(index) ||
      index < 0 ||
      index > MAX_ADDRESS_INDEX
    ) {
      throw new SignerError(
        'BAD_PSBT',
        `keystore/publicKeyAt: expected branch 0|1 and index in [0, ${MAX_ADDRESS_INDEX}], got ${String(branch)}/${String(index)}`,
      );
    }
    const child = branches[branch].deriveChild(index);
    try {
      const pub = child.publicKey;
      if (pub === null)
        throw new SignerError('STATE_CORRUPT', 'keystore/publicKeyAt: expected a public key');
      return pub;
    } finally {
      child.wipePrivateData();
    }
  }

  /**
   * A copy of the link identity's X25519 key pair for the secure session. The private key copy
   * is registered and wiped by `lock()` too; the caller may wipe it earlier.
   */
  linkKeyPair(): { readonly privateKey: Uint8Array; readonly publicKey: Uint8Array } {
    const sub = this.#subkeys('linkKeyPair');
    const privateKey = trackSecret(Uint8Array.from(sub.linkPrivateKey));
    this.#handedOut.add(privateKey);
    return Object.freeze({ privateKey, publicKey: Uint8Array.from(this.#public.linkPublicKey) });
  }

  /** Ed25519 signature of `message` by the audit identity. */
  auditSign(message: Uint8Array): Uint8Array {
    const sub = this.#subkeys('auditSign');
    assertBytes(message, 'keystore/auditSign');
    return ed25519.sign(message, sub.auditSeed);
  }

  /** HMAC-SHA256 of `message` under the durable-state MAC key. */
  stateMac(message: Uint8Array): Uint8Array {
    const sub = this.#subkeys('stateMac');
    assertBytes(message, 'keystore/stateMac');
    return hmac(sha256, sub.stateMacKey, message);
  }

  /** Wipes every secret this key holds or handed out. Idempotent. */
  lock(): void {
    if (this.#branches !== undefined) {
      for (const node of this.#branches) node.wipePrivateData();
      this.#branches = undefined;
    }
    if (this.#sub !== undefined) {
      releaseSubkeys(this.#sub);
      this.#sub = undefined;
    }
    for (const b of this.#handedOut) releaseSecret(b);
    this.#handedOut.clear();
  }

  /** Public facts only: an UnlockedKey serialized by accident shows nothing secret. */
  toJSON(): Record<string, string | boolean> {
    return { locked: this.isLocked, network: this.#network, fingerprint: this.#public.fingerprint };
  }

  #live(what: string): [HDKey, HDKey] {
    if (this.#branches === undefined) {
      throw new SignerError(
        'LOCKED',
        `keystore/${what}: expected an unlocked key, got a locked one`,
      );
    }
    return this.#branches;
  }

  #subkeys(what: string): DeviceSubkeys {
    this.#live(what);
    if (this.#sub === undefined) {
      throw new SignerError(
        'LOCKED',
        `keystore/${what}: expected an unlocked key, got a locked one`,
      );
    }
    return this.#sub;
  }
}

export interface UnlockOptions extends KdfPolicy {
  /** Which device kinds to accept; default both (a backup file unlocks like the key file). */
  readonly kinds?: readonly DeviceKind[];
}

/**
 * Opens a device key file (text or parsed) with the holder's passphrase (consumed) and returns
 * the UnlockedKey. The metadata of the file must match what the decrypted key derives: a file
 * whose xpub, fingerprint or identity keys do not belong to its own secret is BAD_KEY_FILE.
 */
export function unlockKeyFile(
  file: KeyFile | string,
  passphrase: Uint8Array,
  expectedNetwork: Network,
  options: UnlockOptions = {},
): UnlockedKey {
  let parsed: KeyFile;
  try {
    assertNetwork(expectedNetwork, 'keystore/unlock');
    parsed = typeof file === 'string' ? parseKeyFile(file, options) : file;
  } catch (e) {
    passphrase?.fill?.(0);
    throw e;
  }
  const entropy = openKeyFile(parsed, passphrase, {
    expectedNetwork,
    kinds: options.kinds ?? DEVICE_KINDS,
    allowWeakKdfForTests: options.allowWeakKdfForTests,
  });
  let key: UnlockedKey | undefined;
  try {
    key = UnlockedKey.fromEntropy(entropy, expectedNetwork);
  } finally {
    releaseSecret(entropy);
  }
  if ('network' in parsed) {
    const info = key.publicInfo();
    const meta = parsed.public;
    const mismatch =
      meta.accountXpub !== info.accountXpub ||
      meta.fingerprint !== info.fingerprint ||
      meta.path !== info.path ||
      meta.linkPublicKey !== bytesToHex(info.linkPublicKey) ||
      meta.auditPublicKey !== bytesToHex(info.auditPublicKey);
    if (mismatch) {
      key.lock();
      throw new SignerError(
        'BAD_KEY_FILE',
        'keystore/unlock: expected the file metadata to match the key inside, got a mismatch (the file was made wrongly or tampered with by someone who knew the passphrase)',
      );
    }
  }
  return key;
}

function assertBytes(v: unknown, place: string): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) {
    throw new SignerError('BAD_CONFIG', `${place}: expected a Uint8Array, got ${typeof v}`);
  }
}

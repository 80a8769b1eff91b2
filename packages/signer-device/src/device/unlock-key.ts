/**
 * The console unlock of the signer: open the device key file with the holder's passphrase and hand
 * back the `UnlockedKey` plus registered copies of the two sub-keys the durable stores need (the
 * state MAC key and the audit identity seed). `UnlockedKey` signs with them but does not export
 * them, and `StateStore` / `AuditLog` take raw keys, so the sub-keys are derived here once from
 * the same decrypted entropy (one scrypt run) and the caller releases them as soon as the stores
 * hold their own copies. docs/signing-flow.md §3.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { auditPublicKeyOf } from '../audit/audit-entry.js';
import { SignerError } from '../errors.js';
import { deriveSubkeys, type Network, releaseSubkeys } from '../keystore/account.js';
import { openKeyFile } from '../keystore/key-file.js';
import { DEVICE_KINDS, type KdfPolicy, type KeyFile } from '../keystore/key-file-format.js';
import { UnlockedKey } from '../keystore/keystore.js';
import { entropyToSeed } from '../keystore/mnemonic.js';
import { releaseSecret, trackSecret } from '../keystore/secrets.js';

export interface OpenedDeviceKey {
  readonly key: UnlockedKey;
  /** 32-byte HMAC key of the durable state (registered secret: release it). */
  readonly stateMacKey: Uint8Array;
  /** 32-byte Ed25519 seed of the audit identity (registered secret: release it). */
  readonly auditSeed: Uint8Array;
}

const PLACE = 'signer/unlock';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Opens a device key file (`device-key` or `device-backup`) for `network`; the passphrase is
 * consumed. Throws what `openKeyFile` throws (BAD_KEY_FILE, WRONG_NETWORK, WRONG_PASSPHRASE) and
 * BAD_KEY_FILE when the file's public metadata does not belong to the key inside.
 */
export function openDeviceKey(
  file: KeyFile,
  passphrase: Uint8Array,
  network: Network,
  kdf: KdfPolicy = {},
): OpenedDeviceKey {
  const entropy = openKeyFile(file, passphrase, {
    expectedNetwork: network,
    kinds: DEVICE_KINDS,
    allowWeakKdfForTests: kdf.allowWeakKdfForTests,
  });
  let key: UnlockedKey | undefined;
  let seed: Uint8Array | undefined;
  try {
    key = UnlockedKey.fromEntropy(entropy, network);
    if (!('network' in file)) {
      throw new SignerError(
        'BAD_KEY_FILE',
        `${PLACE}: expected a device key file, got ${file.kind}`,
      );
    }
    const info = key.publicInfo();
    const meta = file.public;
    const mismatch =
      meta.accountXpub !== info.accountXpub ||
      meta.fingerprint !== info.fingerprint ||
      meta.path !== info.path ||
      meta.linkPublicKey !== bytesToHex(info.linkPublicKey) ||
      meta.auditPublicKey !== bytesToHex(info.auditPublicKey);
    if (mismatch) {
      throw new SignerError(
        'BAD_KEY_FILE',
        `${PLACE}: expected the file metadata to match the key inside, got a mismatch (made wrongly or re-sealed with foreign public keys)`,
      );
    }
    seed = trackSecret(entropyToSeed(entropy));
    const sub = deriveSubkeys(seed);
    releaseSecret(sub.linkPrivateKey);
    if (!sameBytes(auditPublicKeyOf(sub.auditSeed), info.auditPublicKey)) {
      releaseSubkeys(sub);
      throw new SignerError(
        'STATE_CORRUPT',
        `${PLACE}: expected the audit sub-key to match the key's audit identity, got another`,
      );
    }
    return Object.freeze({ key, stateMacKey: sub.stateMacKey, auditSeed: sub.auditSeed });
  } catch (e) {
    key?.lock();
    throw e;
  } finally {
    releaseSecret(seed);
    releaseSecret(entropy);
  }
}

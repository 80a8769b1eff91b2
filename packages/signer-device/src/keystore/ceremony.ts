/**
 * The key ceremony steps the CLI calls (`keyline-signer keygen` / `restore`). Pure apart from the
 * injected random source: nothing here reads a clock, touches a file or prints. The CLI writes
 * the returned files with `writeKeyFile` (new paths only) and shows the words once.
 *
 * Passphrases are consumed (zeroed before return). Every secret made on the way is released.
 */
import { equalBytes } from '@noble/ciphers/utils.js';
import { hex } from '@scure/base';
import { SignerError } from '../errors.js';
import { type AccountPublic, assertNetwork, deriveAccountPublic, type Network } from './account.js';
import { openKeyFile, parseKeyFile, sealKeyFile } from './key-file.js';
import type { DeviceKeyFile, DeviceKind, KdfParams, KeyFile } from './key-file-format.js';
import {
  entropyToSeed,
  entropyToWords,
  generateEntropy,
  type RandomBytes,
  wordsToEntropy,
} from './mnemonic.js';
import { releaseSecret, wipeBytes } from './secrets.js';

export interface CeremonyOptions {
  readonly kdf?: KdfParams;
  /** See KdfPolicy: tests only; files made with it are weakly protected. */
  readonly allowWeakKdfForTests?: boolean;
  readonly random?: RandomBytes;
}

export interface KeygenInput extends CeremonyOptions {
  readonly network: Network;
  /** The holder's passphrase for the device key file (consumed). */
  readonly passphrase: Uint8Array;
  /** A different passphrase for the vault backup (consumed). */
  readonly backupPassphrase: Uint8Array;
}

export interface DevicePublicResult {
  readonly network: Network;
  readonly xpub: string;
  readonly fingerprint: string;
  readonly path: string;
  readonly keyOrigin: string;
  readonly linkPublicKey: Uint8Array;
  readonly auditPublicKey: Uint8Array;
}

export interface KeygenResult extends DevicePublicResult {
  readonly keyFile: DeviceKeyFile;
  readonly backupFile: DeviceKeyFile;
  /** The 24 recovery words: show once, on the device's own console; never log or store them. */
  readonly words: string;
}

/** A new device key: random entropy, the key file, the vault backup and the words. */
export function keygen(input: KeygenInput): KeygenResult {
  const { passphrase, backupPassphrase } = input;
  let entropy: Uint8Array | undefined;
  try {
    assertNetwork(input.network, 'ceremony/keygen');
    assertDistinct(passphrase, backupPassphrase, 'ceremony/keygen');
    entropy = generateEntropy(input.random);
    const info = publicOf(entropy, input.network);
    const keyFile = sealDevice('device-key', entropy, info, passphrase, input);
    const backupFile = sealDevice('device-backup', entropy, info, backupPassphrase, input);
    const words = entropyToWords(entropy);
    return Object.freeze({ ...resultOf(info), keyFile, backupFile, words });
  } finally {
    releaseSecret(entropy);
    wipeBytes(passphrase, backupPassphrase);
  }
}

export type RestoreSource =
  | {
      /** A device-backup (or device-key) file, as text or parsed. */
      readonly backup: KeyFile | string;
      readonly backupPassphrase: Uint8Array;
    }
  | { readonly words: string };

export interface RestoreInput extends CeremonyOptions {
  readonly network: Network;
  readonly from: RestoreSource;
  /** Passphrase of the new device key file (consumed). */
  readonly newPassphrase: Uint8Array;
  /** When given, a new vault backup is sealed under it as well (consumed). */
  readonly newBackupPassphrase?: Uint8Array;
  /** When given, the restored key must be this one (the xpub pinned at enrollment). */
  readonly expectedXpub?: string;
}

export interface RestoreResult extends DevicePublicResult {
  readonly keyFile: DeviceKeyFile;
  readonly backupFile?: DeviceKeyFile;
}

/** Rebuilds a device key file from the vault backup or from the 24 words. */
export function restore(input: RestoreInput): RestoreResult {
  const { newPassphrase, newBackupPassphrase } = input;
  const fromBackup = 'backup' in input.from;
  let entropy: Uint8Array | undefined;
  let backupFile: KeyFile | undefined;
  try {
    assertNetwork(input.network, 'ceremony/restore');
    if (newBackupPassphrase !== undefined) {
      assertDistinct(newPassphrase, newBackupPassphrase, 'ceremony/restore');
    }
    if ('backup' in input.from) {
      const { backup, backupPassphrase } = input.from;
      backupFile = typeof backup === 'string' ? parseKeyFile(backup, input) : backup;
      const kinds: readonly DeviceKind[] = ['device-backup', 'device-key'];
      entropy = openKeyFile(backupFile, backupPassphrase, {
        expectedNetwork: input.network,
        kinds,
        allowWeakKdfForTests: input.allowWeakKdfForTests,
      });
    } else {
      entropy = wordsToEntropy(input.from.words);
    }
    const info = publicOf(entropy, input.network);
    if (backupFile !== undefined && 'network' in backupFile && !sameMeta(backupFile, info)) {
      throw new SignerError(
        'BAD_KEY_FILE',
        'ceremony/restore: expected the backup metadata to match the key inside, got a mismatch',
      );
    }
    if (input.expectedXpub !== undefined && input.expectedXpub !== info.accountXpub) {
      throw new SignerError(
        fromBackup ? 'BAD_KEY_FILE' : 'BAD_MNEMONIC',
        `ceremony/restore: expected the key with xpub ${input.expectedXpub}, got ${info.accountXpub}`,
      );
    }
    const keyFile = sealDevice('device-key', entropy, info, newPassphrase, input);
    const newBackup =
      newBackupPassphrase === undefined
        ? undefined
        : sealDevice('device-backup', entropy, info, newBackupPassphrase, input);
    return Object.freeze({
      ...resultOf(info),
      keyFile,
      ...(newBackup === undefined ? {} : { backupFile: newBackup }),
    });
  } finally {
    releaseSecret(entropy);
    wipeBytes(newPassphrase, newBackupPassphrase);
    if ('backup' in input.from) wipeBytes(input.from.backupPassphrase);
  }
}

function publicOf(entropy: Uint8Array, network: Network): AccountPublic {
  const seed = entropyToSeed(entropy);
  try {
    return deriveAccountPublic(seed, network);
  } finally {
    releaseSecret(seed);
  }
}

function sealDevice(
  kind: DeviceKind,
  entropy: Uint8Array,
  info: AccountPublic,
  passphrase: Uint8Array,
  options: CeremonyOptions,
): DeviceKeyFile {
  const meta = {
    accountXpub: info.accountXpub,
    fingerprint: info.fingerprint,
    path: info.path,
    linkPublicKey: hex.encode(info.linkPublicKey),
    auditPublicKey: hex.encode(info.auditPublicKey),
  };
  return sealKeyFile(
    { kind, network: info.network, meta, plaintext: entropy },
    passphrase,
    options,
  ) as DeviceKeyFile;
}

function sameMeta(file: DeviceKeyFile, info: AccountPublic): boolean {
  return (
    file.public.accountXpub === info.accountXpub &&
    file.public.fingerprint === info.fingerprint &&
    file.public.path === info.path &&
    file.public.linkPublicKey === hex.encode(info.linkPublicKey) &&
    file.public.auditPublicKey === hex.encode(info.auditPublicKey)
  );
}

function resultOf(info: AccountPublic): DevicePublicResult {
  return {
    network: info.network,
    xpub: info.accountXpub,
    fingerprint: info.fingerprint,
    path: info.path,
    keyOrigin: info.keyOrigin,
    linkPublicKey: info.linkPublicKey,
    auditPublicKey: info.auditPublicKey,
  };
}

function assertDistinct(a: Uint8Array, b: Uint8Array, place: string): void {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) {
    throw new SignerError('BAD_KEY_FILE', `${place}: expected both passphrases as Uint8Array`);
  }
  if (a.length === b.length && equalBytes(a, b)) {
    throw new SignerError(
      'BAD_KEY_FILE',
      `${place}: expected the backup passphrase to differ from the key file passphrase, got the same one`,
    );
  }
}

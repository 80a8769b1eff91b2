/**
 * The key file format, version 1: constants, bounds, the strict zod schema and the canonical
 * serialization. docs/key-files.md describes it field by field. key-file.ts seals and opens.
 */
import { z } from 'zod';
import { NETWORKS } from './account.js';

export const KEY_FILE_FORMAT = 'keyline-key-file';
export const KEY_FILE_VERSION = 1;
/** Domain separation of the AEAD's associated data. */
export const KEY_FILE_AD_PREFIX = 'keyline-key-file/v1/associated-data';
export const KDF_NAME = 'scrypt';
export const CIPHER_NAME = 'xchacha20poly1305';

export const SALT_BYTES = 32;
export const NONCE_BYTES = 24;
export const KEY_BYTES = 32;
/** Every kind seals exactly 32 bytes (BIP39 entropy or an Ed25519 secret key). */
export const PLAINTEXT_BYTES = 32;
export const TAG_BYTES = 16;
export const CIPHERTEXT_BYTES = PLAINTEXT_BYTES + TAG_BYTES;
/** A key file is small; anything bigger is refused before JSON.parse sees it. */
export const MAX_KEY_FILE_BYTES = 8 * 1024;
/** Minimum passphrase length when a file is created (opening accepts any non-empty one). */
export const MIN_NEW_PASSPHRASE_BYTES = 12;
export const MAX_PASSPHRASE_BYTES = 1024;

export const DEVICE_KINDS = Object.freeze(['device-key', 'device-backup'] as const);
export const HOLDER_KINDS = Object.freeze(['holder-key', 'officer-key'] as const);
export type DeviceKind = (typeof DEVICE_KINDS)[number];
export type HolderKind = (typeof HOLDER_KINDS)[number];
export type KeyFileKind = DeviceKind | HolderKind;

export interface KdfParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/**
 * scrypt bounds, both ways. The floor stops a file (or a careless caller) from weakening the
 * passphrase's protection; the ceiling stops a file from asking for hours of CPU or more memory
 * than the Pi has (128·N·r bytes). Below the floor only with `allowWeakKdfForTests`.
 */
export const KDF_BOUNDS = Object.freeze({
  minN: 2 ** 15,
  weakMinN: 2 ** 10,
  maxN: 2 ** 18,
  minR: 8,
  maxR: 16,
  minP: 1,
  maxP: 4,
  maxMemoryBytes: 256 * 1024 * 1024,
});

/** Parameters of new files: 128 MiB, about 0.45 s on the development machine. */
export const DEFAULT_KDF: KdfParams = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

/** Options shared by sealing and opening. */
export interface KdfPolicy {
  /**
   * Accept scrypt N down to 2^10. Only the tests set it (to stay fast). A production file made
   * with it can be brute-forced about 32 times faster than the floor allows.
   */
  readonly allowWeakKdfForTests?: boolean;
}

const HEX = (bytes: number) =>
  z
    .string()
    .length(bytes * 2)
    .regex(/^[0-9a-f]*$/, 'lower-case hex');
const B64 = (bytes: number) =>
  z
    .string()
    .length(Math.ceil(bytes / 3) * 4)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
const PATH = /^m\/48'\/[01]'\/0'\/2'$/;
const XPUB = /^[xt]pub[1-9A-HJ-NP-Za-km-z]{107,108}$/;

const kdfSchema = z.strictObject({
  name: z.literal(KDF_NAME),
  N: z.number().int().positive(),
  r: z.number().int().positive(),
  p: z.number().int().positive(),
  salt: B64(SALT_BYTES),
});
const cipherSchema = z.strictObject({
  name: z.literal(CIPHER_NAME),
  nonce: B64(NONCE_BYTES),
});
const common = {
  format: z.literal(KEY_FILE_FORMAT),
  version: z.literal(KEY_FILE_VERSION),
  kdf: kdfSchema,
  cipher: cipherSchema,
  ciphertext: B64(CIPHERTEXT_BYTES),
};

export const devicePublicSchema = z.strictObject({
  accountXpub: z.string().regex(XPUB, 'an xpub or tpub'),
  fingerprint: HEX(4),
  path: z.string().regex(PATH, "m/48'/coin'/0'/2'"),
  linkPublicKey: HEX(32),
  auditPublicKey: HEX(32),
});
export const holderPublicSchema = z.strictObject({
  publicKey: HEX(32),
  keyId: HEX(8),
});

const deviceFileSchema = z.strictObject({
  ...common,
  kind: z.enum(DEVICE_KINDS),
  network: z.enum(NETWORKS as [string, ...string[]]),
  public: devicePublicSchema,
});
const holderFileSchema = z.strictObject({
  ...common,
  kind: z.enum(HOLDER_KINDS),
  public: holderPublicSchema,
});
export const keyFileSchema = z.discriminatedUnion('kind', [deviceFileSchema, holderFileSchema]);

export type DevicePublicMeta = z.infer<typeof devicePublicSchema>;
export type HolderPublicMeta = z.infer<typeof holderPublicSchema>;
export type DeviceKeyFile = Omit<z.infer<typeof deviceFileSchema>, 'network' | 'kind'> & {
  kind: DeviceKind;
  network: (typeof NETWORKS)[number];
};
export type HolderKeyFile = Omit<z.infer<typeof holderFileSchema>, 'kind'> & { kind: HolderKind };
export type KeyFile = DeviceKeyFile | HolderKeyFile;

export function isDeviceKind(kind: KeyFileKind): kind is DeviceKind {
  return (DEVICE_KINDS as readonly string[]).includes(kind);
}

/** The fields in their one written order (keys sorted nowhere else; the AD uses CBOR order). */
function ordered(file: KeyFile): Record<string, unknown> {
  const head: Record<string, unknown> = {
    format: file.format,
    version: file.version,
    kind: file.kind,
  };
  if ('network' in file) head.network = file.network;
  head.kdf = {
    name: file.kdf.name,
    N: file.kdf.N,
    r: file.kdf.r,
    p: file.kdf.p,
    salt: file.kdf.salt,
  };
  head.cipher = { name: file.cipher.name, nonce: file.cipher.nonce };
  head.ciphertext = file.ciphertext;
  head.public =
    'network' in file
      ? {
          accountXpub: file.public.accountXpub,
          fingerprint: file.public.fingerprint,
          path: file.public.path,
          linkPublicKey: file.public.linkPublicKey,
          auditPublicKey: file.public.auditPublicKey,
        }
      : { publicKey: file.public.publicKey, keyId: file.public.keyId };
  return head;
}

/** The canonical text of a key file: fixed field order, 2-space indent, one trailing newline. */
export function serializeKeyFile(file: KeyFile): string {
  return `${JSON.stringify(ordered(file), null, 2)}\n`;
}

/** Every field except the ciphertext: what the associated data authenticates. */
export function associatedFields(file: KeyFile): Record<string, unknown> {
  const all = ordered(file);
  delete all.ciphertext;
  return all;
}

/**
 * Sealing and opening key files: scrypt(passphrase, salt) -> 32-byte key; XChaCha20-Poly1305
 * with a random 24-byte nonce; associated data = a domain string + the deterministic CBOR of
 * every field but the ciphertext, so that editing any metadata (network, xpub, KDF parameters,
 * kind) makes opening fail. Files are parsed strictly (BAD_KEY_FILE), the KDF is bounded both
 * ways before any work is done, and a file is written only to a new path (never overwritten).
 *
 * Passphrases are consumed: every function that takes one zeroes it before returning, on
 * success and on failure. Secrets created here are registered (secrets.ts) and zeroed after use.
 */
import { constants as fsConstants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { encodeCanonical } from '@keyline/wire-protocol';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { base64 } from '@scure/base';
import { SignerError } from '../errors.js';
import { type Network, networkParams } from './account.js';
import {
  associatedFields,
  CIPHER_NAME,
  CIPHERTEXT_BYTES,
  DEFAULT_KDF,
  type DevicePublicMeta,
  type HolderPublicMeta,
  isDeviceKind,
  KDF_BOUNDS,
  KDF_NAME,
  type KdfParams,
  type KdfPolicy,
  KEY_BYTES,
  KEY_FILE_AD_PREFIX,
  KEY_FILE_FORMAT,
  KEY_FILE_VERSION,
  type KeyFile,
  type KeyFileKind,
  keyFileSchema,
  MAX_KEY_FILE_BYTES,
  MAX_PASSPHRASE_BYTES,
  MIN_NEW_PASSPHRASE_BYTES,
  NONCE_BYTES,
  PLAINTEXT_BYTES,
  SALT_BYTES,
  serializeKeyFile,
} from './key-file-format.js';
import { defaultRandom, drawRandom, type RandomBytes } from './mnemonic.js';
import { releaseSecret, trackSecret, wipeBytes } from './secrets.js';

export interface SealOptions extends KdfPolicy {
  readonly kdf?: KdfParams;
  readonly random?: RandomBytes;
}

export type SealInput =
  | {
      readonly kind: 'device-key' | 'device-backup';
      readonly network: Network;
      readonly meta: DevicePublicMeta;
      readonly plaintext: Uint8Array;
    }
  | {
      readonly kind: 'holder-key' | 'officer-key';
      readonly meta: HolderPublicMeta;
      readonly plaintext: Uint8Array;
    };

/** Seals 32 bytes under a passphrase (consumed). The plaintext is read, not wiped. */
export function sealKeyFile(
  input: SealInput,
  passphrase: Uint8Array,
  options: SealOptions = {},
): KeyFile {
  const place = `key-file/seal(${input.kind})`;
  try {
    assertPassphrase(passphrase, place, MIN_NEW_PASSPHRASE_BYTES);
    if (!(input.plaintext instanceof Uint8Array) || input.plaintext.length !== PLAINTEXT_BYTES) {
      throw new SignerError('BAD_KEY_FILE', `${place}: expected ${PLAINTEXT_BYTES} bytes to seal`);
    }
    const params = options.kdf ?? DEFAULT_KDF;
    checkKdf(params, place, options);
    const random = options.random ?? defaultRandom;
    const salt = drawRandom(random, SALT_BYTES, place).slice();
    const nonce = drawRandom(random, NONCE_BYTES, place).slice();
    const head = {
      format: KEY_FILE_FORMAT,
      version: KEY_FILE_VERSION,
      kdf: { name: KDF_NAME, N: params.N, r: params.r, p: params.p, salt: base64.encode(salt) },
      cipher: { name: CIPHER_NAME, nonce: base64.encode(nonce) },
      ciphertext: '',
    } as const;
    const draft: KeyFile =
      'network' in input
        ? { ...head, kind: input.kind, network: input.network, public: { ...input.meta } }
        : { ...head, kind: input.kind, public: { ...input.meta } };
    checkMetadata(draft, place);
    const key = deriveFileKey(passphrase, salt, params);
    try {
      const sealed = xchacha20poly1305(key, nonce, associatedData(draft)).encrypt(input.plaintext);
      const file: KeyFile = { ...draft, ciphertext: base64.encode(sealed) };
      // Never hand out a file that this module would refuse to open.
      return Object.freeze(validateKeyFile(file, place, options));
    } finally {
      releaseSecret(key);
    }
  } finally {
    wipeBytes(passphrase);
  }
}

export interface OpenOptions extends KdfPolicy {
  /** For device kinds: the network the device is pinned to. Another network: WRONG_NETWORK. */
  readonly expectedNetwork?: Network;
  /** The kinds the caller accepts (a holder key offered as a device key: BAD_KEY_FILE). */
  readonly kinds?: readonly KeyFileKind[];
}

/**
 * Opens a parsed key file with a passphrase (consumed). Returns the 32-byte plaintext as a
 * registered live secret; the caller releases it. AEAD failure: WRONG_PASSPHRASE (a wrong
 * passphrase and an edited field are indistinguishable by design).
 */
export function openKeyFile(
  file: KeyFile,
  passphrase: Uint8Array,
  options: OpenOptions = {},
): Uint8Array {
  const place = `key-file/open(${typeof file?.kind === 'string' ? file.kind : '?'})`;
  try {
    assertPassphrase(passphrase, place, 1);
    const checked = validateKeyFile(file, place, options);
    if (options.kinds !== undefined && !options.kinds.includes(checked.kind)) {
      throw new SignerError(
        'BAD_KEY_FILE',
        `${place}: expected a file of kind ${options.kinds.join('|')}, got ${checked.kind}`,
      );
    }
    if ('network' in checked) {
      if (options.expectedNetwork === undefined) {
        throw new SignerError(
          'BAD_KEY_FILE',
          `${place}: expected the caller to name the device's network`,
        );
      }
      if (checked.network !== options.expectedNetwork) {
        throw new SignerError(
          'WRONG_NETWORK',
          `${place}: expected a file for ${options.expectedNetwork}, got one for ${checked.network}`,
          { expected: options.expectedNetwork, got: checked.network },
        );
      }
    }
    const salt = base64.decode(checked.kdf.salt);
    const nonce = base64.decode(checked.cipher.nonce);
    const sealed = base64.decode(checked.ciphertext);
    const key = deriveFileKey(passphrase, salt, checked.kdf);
    try {
      let plain: Uint8Array;
      try {
        plain = xchacha20poly1305(key, nonce, associatedData(checked)).decrypt(sealed);
      } catch {
        throw new SignerError(
          'WRONG_PASSPHRASE',
          `${place}: expected the passphrase to open the file, got an authentication failure (wrong passphrase, or the file was altered)`,
        );
      }
      if (plain.length !== PLAINTEXT_BYTES) {
        wipeBytes(plain);
        throw new SignerError(
          'BAD_KEY_FILE',
          `${place}: expected ${PLAINTEXT_BYTES} bytes inside, got ${plain.length}`,
        );
      }
      return trackSecret(plain);
    } finally {
      releaseSecret(key);
    }
  } finally {
    wipeBytes(passphrase);
  }
}

/** Parses key file text strictly. Anything but a file exactly as `serializeKeyFile` writes it: BAD_KEY_FILE. */
export function parseKeyFile(text: unknown, options: KdfPolicy = {}): KeyFile {
  const place = 'key-file/parse';
  if (typeof text !== 'string') {
    throw new SignerError('BAD_KEY_FILE', `${place}: expected the file's text, got ${typeof text}`);
  }
  const size = utf8ToBytes(text).length;
  if (size > MAX_KEY_FILE_BYTES) {
    throw new SignerError(
      'BAD_KEY_FILE',
      `${place}: expected at most ${MAX_KEY_FILE_BYTES} bytes, got ${size}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SignerError(
      'BAD_KEY_FILE',
      `${place}: expected JSON, got text that does not parse (truncated or damaged?)`,
    );
  }
  const file = validateKeyFile(json, place, options);
  if (serializeKeyFile(file) !== text) {
    throw new SignerError(
      'BAD_KEY_FILE',
      `${place}: expected the canonical layout (field order, 2-space indent, one final newline), got a file that differs`,
    );
  }
  return file;
}

/** Schema + semantic checks of a key file object (already parsed JSON). */
export function validateKeyFile(value: unknown, place: string, options: KdfPolicy = {}): KeyFile {
  const result = keyFileSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined ? '' : issue.path.join('.');
    throw new SignerError(
      'BAD_KEY_FILE',
      `${place}: expected a ${KEY_FILE_FORMAT} v${KEY_FILE_VERSION} file, got a problem at '${where}': ${issue?.message ?? 'invalid'}`,
      { field: where },
    );
  }
  const file = result.data as KeyFile;
  checkKdf(file.kdf, place, options);
  checkBase64(file.kdf.salt, SALT_BYTES, `${place}/kdf.salt`);
  checkBase64(file.cipher.nonce, NONCE_BYTES, `${place}/cipher.nonce`);
  checkBase64(file.ciphertext, CIPHERTEXT_BYTES, `${place}/ciphertext`);
  checkMetadata(file, place);
  return file;
}

/** Checks scrypt parameters against KDF_BOUNDS. Out of bounds: BAD_KEY_FILE. */
export function checkKdf(params: KdfParams, place: string, policy: KdfPolicy = {}): void {
  const { N, r, p } = params;
  const minN = policy.allowWeakKdfForTests === true ? KDF_BOUNDS.weakMinN : KDF_BOUNDS.minN;
  const bad = (what: string, got: unknown): never => {
    throw new SignerError('BAD_KEY_FILE', `${place}: expected ${what}, got ${String(got)}`, {
      field: 'kdf',
    });
  };
  if (!Number.isSafeInteger(N) || N < minN || N > KDF_BOUNDS.maxN || (N & (N - 1)) !== 0) {
    bad(`scrypt N a power of two in [${minN}, ${KDF_BOUNDS.maxN}]`, N);
  }
  if (!Number.isSafeInteger(r) || r < KDF_BOUNDS.minR || r > KDF_BOUNDS.maxR) {
    bad(`scrypt r in [${KDF_BOUNDS.minR}, ${KDF_BOUNDS.maxR}]`, r);
  }
  if (!Number.isSafeInteger(p) || p < KDF_BOUNDS.minP || p > KDF_BOUNDS.maxP) {
    bad(`scrypt p in [${KDF_BOUNDS.minP}, ${KDF_BOUNDS.maxP}]`, p);
  }
  if (128 * N * r > KDF_BOUNDS.maxMemoryBytes) {
    bad(`scrypt memory 128·N·r at most ${KDF_BOUNDS.maxMemoryBytes} bytes`, 128 * N * r);
  }
}

/** Writes key file text to a NEW path (`wx`, mode 0600), fsyncs the file and its directory. */
export async function writeKeyFile(path: string, file: KeyFile): Promise<void> {
  const text = serializeKeyFile(file);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'wx', 0o600);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SignerError(
      'IO',
      code === 'EEXIST'
        ? `key-file/write: expected a new path, got an existing file at ${path}: refusing to overwrite a key file`
        : `key-file/write: expected to write ${path}, got ${code ?? 'an error'}`,
      { path },
      { cause: e },
    );
  } finally {
    await handle?.close();
  }
  await syncDirectory(dirname(path));
}

/** Reads and parses a key file (size-limited before reading everything). */
export async function readKeyFile(path: string, options: KdfPolicy = {}): Promise<KeyFile> {
  let text: string;
  try {
    const handle = await open(path, fsConstants.O_RDONLY);
    try {
      const { size } = await handle.stat();
      if (size > MAX_KEY_FILE_BYTES) {
        throw new SignerError(
          'BAD_KEY_FILE',
          `key-file/read: expected at most ${MAX_KEY_FILE_BYTES} bytes, got ${size}`,
        );
      }
      text = await readFile(handle, 'utf8');
    } finally {
      await handle.close();
    }
  } catch (e) {
    if (e instanceof SignerError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new SignerError(
      'IO',
      `key-file/read: expected to read ${path}, got ${code ?? 'an error'}`,
      { path },
      { cause: e },
    );
  }
  return parseKeyFile(text, options);
}

/** UTF-8 of the NFKC form of a typed passphrase: the one way a typed passphrase becomes bytes. */
export function passphraseFromText(text: string): Uint8Array {
  if (typeof text !== 'string') {
    throw new SignerError(
      'BAD_KEY_FILE',
      `key-file/passphrase: expected a string, got ${typeof text}`,
    );
  }
  return utf8ToBytes(text.normalize('NFKC'));
}

function associatedData(file: KeyFile): Uint8Array {
  return concatBytes(utf8ToBytes(KEY_FILE_AD_PREFIX), encodeCanonical(associatedFields(file)));
}

function deriveFileKey(passphrase: Uint8Array, salt: Uint8Array, params: KdfParams): Uint8Array {
  const maxmem = 128 * params.N * params.r * params.p + 1024 * 1024;
  return trackSecret(
    scrypt(passphrase, salt, { N: params.N, r: params.r, p: params.p, dkLen: KEY_BYTES, maxmem }),
  );
}

function assertPassphrase(
  passphrase: unknown,
  place: string,
  min: number,
): asserts passphrase is Uint8Array {
  if (!(passphrase instanceof Uint8Array)) {
    throw new SignerError(
      'BAD_KEY_FILE',
      `${place}: expected the passphrase as a Uint8Array, got ${typeof passphrase}`,
    );
  }
  if (passphrase.length < min || passphrase.length > MAX_PASSPHRASE_BYTES) {
    throw new SignerError(
      'BAD_KEY_FILE',
      `${place}: expected a passphrase of ${min} to ${MAX_PASSPHRASE_BYTES} bytes, got ${passphrase.length} bytes`,
    );
  }
}

function checkBase64(text: string, bytes: number, place: string): void {
  let decoded: Uint8Array;
  try {
    decoded = base64.decode(text);
  } catch {
    throw new SignerError(
      'BAD_KEY_FILE',
      `${place}: expected base64 of ${bytes} bytes, got text that does not decode`,
    );
  }
  if (decoded.length !== bytes || base64.encode(decoded) !== text) {
    throw new SignerError(
      'BAD_KEY_FILE',
      `${place}: expected canonical base64 of ${bytes} bytes, got ${decoded.length} bytes or a non-canonical form`,
    );
  }
}

/** Device metadata must agree with the network: path coin type and xpub/tpub prefix. */
function checkMetadata(file: KeyFile, place: string): void {
  if (!isDeviceKind(file.kind) || !('network' in file)) return;
  const params = networkParams(file.network);
  const path = `m/48'/${params.coinType}'/0'/2'`;
  if (file.public.path !== path) {
    throw new SignerError(
      'BAD_KEY_FILE',
      `${place}: expected path ${path} for ${file.network}, got ${file.public.path}`,
      { field: 'public.path' },
    );
  }
  if (!file.public.accountXpub.startsWith(params.pubPrefix)) {
    throw new SignerError(
      'BAD_KEY_FILE',
      `${place}: expected a ${params.pubPrefix} for ${file.network}, got ${file.public.accountXpub.slice(0, 4)}`,
      { field: 'public.accountXpub' },
    );
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, fsConstants.O_RDONLY);
    await handle.sync();
  } catch (e) {
    throw new SignerError(
      'IO',
      `key-file/write: expected to fsync directory ${dir}, got ${(e as NodeJS.ErrnoException).code ?? 'an error'}`,
      { path: dir },
      { cause: e },
    );
  } finally {
    await handle?.close();
  }
}

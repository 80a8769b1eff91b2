/**
 * The coordinator's two secrets on disk: the risk engine's Ed25519 intent key and its X25519 link
 * key, each 32 bytes as hex in a file readable by the owner only. Created by `init` (never
 * overwriting), read once at start into a Uint8Array the daemon wipes at shutdown. A file that
 * is group- or world-readable is refused (BAD_CONFIG): a leaked intent key lets an attacker
 * approve withdrawals in the devices' eyes. Production deployments should keep these in an HSM
 * or KMS; docs/operations.md says how far this file-based default goes.
 */

import { closeSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import { CoordinatorError } from '../errors.js';

const HEX64 = /^[0-9a-f]{64}$/;

export function readSecretKeyFile(path: string, what: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `keys/${what}: expected a readable key file at ${path}, got ${(e as NodeJS.ErrnoException).code ?? 'an error'}`,
    );
  }
  try {
    const mode = fstatSync(fd).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new CoordinatorError(
        'BAD_CONFIG',
        `keys/${what}: expected ${path} readable by its owner only (0600), got mode ${mode.toString(8)}`,
      );
    }
    const text = readFileSync(fd, 'utf8').trim();
    if (!HEX64.test(text)) {
      throw new CoordinatorError(
        'BAD_CONFIG',
        `keys/${what}: expected 64 lowercase hex characters in ${path}, got ${text.length} characters`,
      );
    }
    return hexToBytes(text);
  } finally {
    closeSync(fd);
  }
}

/** Create a new random key file (mode 0600, exclusive: an existing file is never overwritten). */
export function createSecretKeyFile(path: string, what: string): void {
  const key = randomBytes(32);
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    key.fill(0);
    throw new CoordinatorError(
      'BAD_CONFIG',
      `keys/${what}: expected to create ${path}, got ${(e as NodeJS.ErrnoException).code ?? 'an error'}`,
    );
  }
  try {
    writeSync(fd, `${bytesToHex(key)}\n`);
  } finally {
    closeSync(fd);
    key.fill(0);
  }
}

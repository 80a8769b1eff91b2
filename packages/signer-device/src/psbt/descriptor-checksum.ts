/**
 * BIP380 descriptor checksum, and the table of reasons a descriptor is refused (shared by the
 * descriptor modules). Pure.
 */
import { SignerError } from '../errors.js';

/** Why a descriptor was refused (`detail.reason`). */
export const DESCRIPTOR_REASONS = Object.freeze({
  NOT_A_STRING: 'not_a_string',
  TOO_LONG: 'too_long',
  CHECKSUM_MISSING: 'checksum_missing',
  CHECKSUM_FORMAT: 'checksum_format',
  CHECKSUM_MISMATCH: 'checksum_mismatch',
  BAD_CHARACTER: 'bad_character',
  NOT_WSH_SORTEDMULTI: 'not_wsh_sortedmulti',
  THRESHOLD: 'threshold',
  KEY_COUNT: 'key_count',
  KEY_FORMAT: 'key_format',
  PATH: 'path',
  XPUB: 'xpub',
  XPUB_VERSION: 'xpub_version',
  COIN_TYPE: 'coin_type',
  DUPLICATE_KEY: 'duplicate_key',
  BRANCH: 'branch',
  INDEX: 'index',
  NOT_OWN_KEY: 'not_own_key',
} as const);

/** BIP380 character set (3 groups of 32) and checksum alphabet. */
const INPUT_CHARSET =
  '0123456789()[],\'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#"\\ ';
export const CHECKSUM_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = Object.freeze([
  0xf5dee51989n,
  0xa9fdca3312n,
  0x1bab10e32dn,
  0x3706b1677an,
  0x644d626ffdn,
]);

/** Longest descriptor text accepted (a 2-of-3 BIP48 descriptor is ~ 420 characters). */
export const MAX_TEXT = 1024;

/** A BAD_DESCRIPTOR error: `message` continues after `descriptor/`. */
export function descriptorError(
  message: string,
  reason: string,
  extra: Record<string, unknown> = {},
): SignerError {
  return new SignerError('BAD_DESCRIPTOR', `descriptor/${message}`, { reason, ...extra });
}

function polymod(symbols: readonly number[]): bigint {
  let chk = 1n;
  for (const value of symbols) {
    const top = chk >> 35n;
    chk = ((chk & 0x7ffffffffn) << 5n) ^ BigInt(value);
    for (let i = 0; i < 5; i++) {
      if ((top >> BigInt(i)) & 1n) chk ^= GENERATOR[i] ?? 0n;
    }
  }
  return chk;
}

function expand(body: string): number[] {
  const symbols: number[] = [];
  const groups: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const v = INPUT_CHARSET.indexOf(body.charAt(i));
    if (v < 0) {
      throw descriptorError(
        `checksum: expected BIP380 characters only, got a character outside the set at position ${i}`,
        DESCRIPTOR_REASONS.BAD_CHARACTER,
        { position: i },
      );
    }
    symbols.push(v & 31);
    groups.push(v >> 5);
    if (groups.length === 3) {
      symbols.push((groups[0] ?? 0) * 9 + (groups[1] ?? 0) * 3 + (groups[2] ?? 0));
      groups.length = 0;
    }
  }
  if (groups.length === 1) symbols.push(groups[0] ?? 0);
  else if (groups.length === 2) symbols.push((groups[0] ?? 0) * 3 + (groups[1] ?? 0));
  return symbols;
}

/** BIP380 checksum (8 characters) of a descriptor body (the text before `#`). */
export function descriptorChecksum(body: string): string {
  if (typeof body !== 'string') {
    throw descriptorError(
      `checksum: expected a string, got ${typeof body}`,
      DESCRIPTOR_REASONS.NOT_A_STRING,
    );
  }
  if (body.length > MAX_TEXT) {
    throw descriptorError(
      `checksum: expected at most ${MAX_TEXT} characters, got ${body.length}`,
      DESCRIPTOR_REASONS.TOO_LONG,
    );
  }
  const c = polymod([...expand(body), 0, 0, 0, 0, 0, 0, 0, 0]) ^ 1n;
  let out = '';
  for (let i = 0; i < 8; i++) {
    out += CHECKSUM_CHARSET.charAt(Number((c >> BigInt(5 * (7 - i))) & 31n));
  }
  return out;
}

/**
 * CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, init 0xFFFFFFFF, xorout 0xFFFFFFFF.
 * The arithmetic is the `crc-32` package's (`crc-32/crc32c`); this module only adapts its
 * signed int32 result to an unsigned 32-bit number and checks the input type.
 */
import CRC32C from 'crc-32/crc32c.js';
import { WireError } from './errors.js';

/** CRC-32C of `bytes` as an unsigned integer in 0..0xFFFFFFFF. */
export function crc32c(bytes: Uint8Array): number {
  if (!(bytes instanceof Uint8Array)) {
    throw new WireError('BAD_FRAME', `crc32c: expected a Uint8Array, got ${describe(bytes)}`);
  }
  return CRC32C.buf(bytes) >>> 0;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

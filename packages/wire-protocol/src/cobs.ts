/**
 * Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999): turns any byte string into one with
 * no 0x00, so that 0x00 can delimit frames on the line. Each block starts with a code byte c
 * (1..255): c-1 data bytes follow; a block with c < 255 stands for its data plus one 0x00, except
 * the last block of the input. A 255 block carries 254 bytes and no implied 0x00.
 *
 * The encoder never ends with an empty block after a 255 block (254 non-zero bytes encode to 255
 * bytes, as in the Wikipedia examples). The decoder also accepts that redundant trailing 0x01,
 * which some encoders emit; it decodes to the same bytes.
 */
import { WireError } from './errors.js';

/** Longest COBS encoding of `n` input bytes: n + max(1, ceil(n / 254)). */
export function cobsMaxEncodedLength(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new WireError('BAD_FRAME', `cobs/max-length: expected a byte count >= 0, got ${n}`);
  }
  return n + Math.max(1, Math.ceil(n / 254));
}

/** Encode `bytes` so that the result contains no 0x00 (no delimiter is appended). */
export function cobsEncode(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new WireError('BAD_FRAME', 'cobs/encode: expected a Uint8Array');
  }
  const n = bytes.length;
  const out = new Uint8Array(cobsMaxEncodedLength(n));
  let codeAt = 0; // where the current block's code byte goes
  let o = 1; // next output position
  let code = 1; // current block length + 1
  for (let i = 0; i < n; i++) {
    const b = bytes[i] as number;
    if (b === 0) {
      out[codeAt] = code;
      codeAt = o++;
      code = 1;
      continue;
    }
    out[o++] = b;
    code++;
    if (code === 0xff) {
      out[codeAt] = code;
      if (i + 1 === n) return out.slice(0, o); // input ends on a full block: no empty block
      codeAt = o++;
      code = 1;
    }
  }
  out[codeAt] = code;
  return out.slice(0, o);
}

/**
 * Decode one COBS block sequence (without its 0x00 delimiter). Throws BAD_FRAME when the input
 * is empty, contains 0x00, or a code byte points past the end.
 */
export function cobsDecode(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new WireError('BAD_FRAME', 'cobs/decode: expected a Uint8Array');
  }
  const n = bytes.length;
  if (n === 0) throw new WireError('BAD_FRAME', 'cobs/decode: expected at least 1 byte, got 0');
  const out = new Uint8Array(n); // decoded output is never longer than its encoding
  let o = 0;
  let i = 0;
  while (i < n) {
    const code = bytes[i] as number;
    if (code === 0) {
      throw new WireError(
        'BAD_FRAME',
        `cobs/decode: expected a code byte 1..255 at ${i}, got 0x00`,
      );
    }
    const end = i + code;
    if (end > n) {
      throw new WireError(
        'BAD_FRAME',
        `cobs/decode: code 0x${hex(code)} at ${i} needs ${code - 1} bytes, only ${n - i - 1} left`,
      );
    }
    for (i++; i < end; i++) {
      const b = bytes[i] as number;
      if (b === 0)
        throw new WireError('BAD_FRAME', `cobs/decode: expected no 0x00, got one at ${i}`);
      out[o++] = b;
    }
    if (code !== 0xff && i < n) out[o++] = 0;
  }
  return out.slice(0, o);
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}

/**
 * Where the CBOR data item at `start` ends, without decoding it: the end offset, or -1 when the
 * bytes stop before the item does. Used by the audit log to tell a torn last record (a cut item)
 * from a corrupted length prefix in front of a whole one. Indefinite lengths, which strict CBOR
 * never holds, count as complete garbage (returned as the start, so the caller refuses them).
 */
export function cborItemEnd(bytes: Uint8Array, start: number): number {
  let pos = start;
  let pending = 1;
  while (pending > 0) {
    if (pos >= bytes.length) return -1;
    const first = bytes[pos] as number;
    pos += 1;
    pending -= 1;
    const major = first >> 5;
    const ai = first & 0x1f;
    let arg: number;
    if (ai < 24) arg = ai;
    else if (ai <= 27) {
      const n = 1 << (ai - 24);
      if (pos + n > bytes.length) return -1;
      arg = 0;
      for (let i = 0; i < n; i++) arg = arg * 256 + (bytes[pos + i] as number);
      pos += n;
    } else return start;
    if (major === 2 || major === 3) {
      if (arg > bytes.length - pos) return -1;
      pos += arg;
    } else if (major === 4) pending += arg;
    else if (major === 5) pending += 2 * arg;
    else if (major === 6) pending += 1;
    if (pending > bytes.length) return -1;
  }
  return pos;
}

/**
 * The registry of live secret buffers. Every Uint8Array that holds key material and that this
 * package creates is registered here when it is made and released (zeroed and removed) when it is
 * no longer needed. `liveSecretCount()` lets the tests prove that `lock()` leaves nothing behind.
 *
 * Best effort, as everything in JS: the engine or a library may hold copies we cannot reach (an
 * HMAC's internal state, a bigint). What we can reach, we zero.
 */

import type { HDKey } from '@scure/bip32';

const live = new Set<Uint8Array>();

/** An object that holds secrets we cannot reach as buffers (an HD node's private key). */
interface SecretHolder {
  hasSecrets(): boolean;
}
const holders = new Set<SecretHolder>();

/**
 * Registers an HD node holding a private key. It counts as live until `wipePrivateData()` has
 * been called on it (checked through its public API, the copy it returns is zeroed at once).
 */
export function trackNode(node: HDKey): HDKey {
  holders.add({
    hasSecrets() {
      const copy = node.privateKey;
      if (copy === null) return false;
      copy.fill(0);
      return true;
    },
  });
  return node;
}

/** Registers `buf` as live key material and returns it. */
export function trackSecret(buf: Uint8Array): Uint8Array {
  live.add(buf);
  return buf;
}

/** Zeroes `buf` and forgets it. Accepts undefined/null so `finally` blocks stay short. */
export function releaseSecret(buf: Uint8Array | null | undefined): void {
  if (buf === null || buf === undefined) return;
  buf.fill(0);
  live.delete(buf);
}

/** Zeroes and forgets every given buffer. */
export function releaseSecrets(...bufs: (Uint8Array | null | undefined)[]): void {
  for (const b of bufs) releaseSecret(b);
}

/** How many registered secret buffers and HD nodes are still live. After every key is locked it must be 0. */
export function liveSecretCount(): number {
  for (const h of holders) if (!h.hasSecrets()) holders.delete(h);
  return live.size + holders.size;
}

/** Zeroes a buffer that was never registered (a temporary, a caller's passphrase). */
export function wipeBytes(...bufs: (Uint8Array | null | undefined)[]): void {
  for (const b of bufs) b?.fill(0);
}

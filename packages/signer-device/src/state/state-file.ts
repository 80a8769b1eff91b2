/**
 * The byte layout of one state file, pure (docs/state-and-audit.md §2):
 *
 *   0   8   magic "KLSTATE1"
 *   8   4   n = length of the body, u32 big-endian
 *   12  n   body: canonical CBOR of { generation: uint, memory: DeviceMemory }
 *   12+n 32 tag: HMAC-SHA256(macKey, "keyline/state/v1" || bytes 0..12+n)
 *
 * The state hash recorded in the audit log is SHA-256 of the whole file.
 */

import { decodeStrict, encodeCanonical } from '@keyline/wire-protocol';
import { equalBytes } from '@noble/ciphers/utils.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { DeviceMemory } from '../device-memory.js';
import { SignerError } from '../errors.js';
import { parseDeviceMemory } from './memory-schema.js';

export const STATE_MAGIC = Object.freeze([0x4b, 0x4c, 0x53, 0x54, 0x41, 0x54, 0x45, 0x31]); // KLSTATE1
const DOMAIN = new TextEncoder().encode('keyline/state/v1');
const HEADER = 12;
const TAG = 32;
export const MAC_KEY_BYTES = 32;
/** Generous bounds for a device's own memory; the file is authenticated before it is decoded. */
export const STATE_CBOR_LIMITS = Object.freeze({
  maxDepth: 16,
  maxBytes: 64 * 1024 * 1024,
  maxItems: 4_000_000,
  maxStringBytes: 1024 * 1024,
});

/** Why a state file was not accepted (stable codes, the `reason` of a fail-closed load). */
export type StateFileProblem =
  | 'STATE_BAD_FORMAT'
  | 'STATE_BAD_MAC'
  | 'STATE_BAD_CBOR'
  | 'STATE_BAD_SCHEMA';

export type DecodedStateFile =
  | {
      readonly ok: true;
      readonly generation: number;
      readonly memory: DeviceMemory;
      readonly hash: Uint8Array;
    }
  | { readonly ok: false; readonly reason: StateFileProblem; readonly message: string };

export function checkMacKey(place: string, macKey: unknown): asserts macKey is Uint8Array {
  if (!(macKey instanceof Uint8Array) || macKey.length !== MAC_KEY_BYTES) {
    const got = macKey instanceof Uint8Array ? `${macKey.length} bytes` : typeof macKey;
    throw new SignerError(
      'BAD_CONFIG',
      `${place}: expected a ${MAC_KEY_BYTES}-byte state MAC key, got ${got}`,
    );
  }
}

function tagOf(macKey: Uint8Array, authenticated: Uint8Array): Uint8Array {
  const msg = new Uint8Array(DOMAIN.length + authenticated.length);
  msg.set(DOMAIN, 0);
  msg.set(authenticated, DOMAIN.length);
  return hmac(sha256, macKey, msg);
}

/** Constant-time comparison of two byte strings of public length. */

/** The file bytes for `memory` at `generation`. */
export function encodeStateFile(
  memory: DeviceMemory,
  generation: number,
  macKey: Uint8Array,
): Uint8Array {
  checkMacKey('state-file/encode', macKey);
  if (!Number.isSafeInteger(generation) || generation < 1) {
    throw new SignerError(
      'BAD_CONFIG',
      `state-file/encode: expected a generation >= 1, got ${String(generation)}`,
    );
  }
  const body = encodeCanonical({ generation, memory }, STATE_CBOR_LIMITS);
  const out = new Uint8Array(HEADER + body.length + TAG);
  out.set(STATE_MAGIC, 0);
  new DataView(out.buffer).setUint32(8, body.length, false);
  out.set(body, HEADER);
  out.set(tagOf(macKey, out.subarray(0, HEADER + body.length)), HEADER + body.length);
  return out;
}

/** Authenticate, then decode, then schema-check a state file. Never throws on bad file bytes. */
export function decodeStateFile(file: Uint8Array, macKey: Uint8Array): DecodedStateFile {
  checkMacKey('state-file/decode', macKey);
  const fail = (reason: StateFileProblem, message: string): DecodedStateFile =>
    Object.freeze({ ok: false, reason, message: `state-file/decode: ${message}` });
  if (file.length < HEADER + TAG) {
    return fail('STATE_BAD_FORMAT', `expected at least ${HEADER + TAG} bytes, got ${file.length}`);
  }
  if (!STATE_MAGIC.every((b, i) => file[i] === b)) {
    return fail('STATE_BAD_FORMAT', 'expected magic KLSTATE1');
  }
  const n = new DataView(file.buffer, file.byteOffset, file.byteLength).getUint32(8, false);
  if (file.length !== HEADER + n + TAG) {
    return fail('STATE_BAD_FORMAT', `expected ${HEADER + n + TAG} bytes, got ${file.length}`);
  }
  const expected = tagOf(macKey, file.subarray(0, HEADER + n));
  if (!equalBytes(expected, file.subarray(HEADER + n))) {
    return fail('STATE_BAD_MAC', 'the tag does not authenticate the file');
  }
  let doc: unknown;
  try {
    doc = decodeStrict(file.subarray(HEADER, HEADER + n), STATE_CBOR_LIMITS);
  } catch (e) {
    return fail('STATE_BAD_CBOR', `body is not strict CBOR: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return fail('STATE_BAD_SCHEMA', 'expected a map { generation, memory }');
  }
  const keys = Object.keys(doc).sort();
  const { generation, memory } = doc as { generation?: unknown; memory?: unknown };
  if (keys.length !== 2 || keys[0] !== 'generation' || keys[1] !== 'memory') {
    return fail('STATE_BAD_SCHEMA', `expected keys generation, memory, got ${keys.join(', ')}`);
  }
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 1) {
    return fail('STATE_BAD_SCHEMA', `expected generation >= 1, got ${String(generation)}`);
  }
  const parsed = parseDeviceMemory(memory);
  if (!parsed.ok) return fail('STATE_BAD_SCHEMA', `memory.${parsed.issue}`);
  return Object.freeze({ ok: true, generation, memory: parsed.memory, hash: sha256(file) });
}

/**
 * The printable form of an activation challenge: what the device's console shows and the holder
 * reads aloud, types or scans into their CLI. Hex in groups of 4 and a short checksum so that a
 * misread group is caught before the holder signs. The checksum is for transcription errors
 * only; the security is the holder's signature over the exact bytes. docs/lifecycle.md §3.2.
 *
 *   KEYLINE ACTIVATION v1
 *   device    <deviceId>
 *   expires   <expiresAt, decimal unix seconds>
 *   challenge xxxx xxxx … (16 groups of 4 lower-case hex)
 *   boot      xxxx xxxx … (16 groups)
 *   check     xxxx xxxx   (first 4 bytes of sha256(activation message), 2 groups)
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { SignerError } from '../errors.js';
import {
  activationMessage,
  BOOT_NONCE_BYTES,
  CHALLENGE_BYTES,
  checkPendingActivation,
  MAX_TIME,
  type PendingActivation,
} from './activation.js';
import { isKeyId } from './pinned-keys.js';

export const DISPLAY_HEADER = 'KEYLINE ACTIVATION v1';
export const CHECKSUM_BYTES = 4;
/** Longest text `parseActivationDisplay` reads. */
export const MAX_DISPLAY_CHARS = 1024;

const PLACE = 'device/activation-display';
const LABELS = Object.freeze(['device', 'expires', 'challenge', 'boot', 'check'] as const);

function groups(bytes: Uint8Array): string {
  return (bytesToHex(bytes).match(/.{4}/g) ?? []).join(' ');
}

function checksum(p: PendingActivation): Uint8Array {
  return sha256(activationMessage(p)).subarray(0, CHECKSUM_BYTES);
}

/** The console text for a pending activation. */
export function formatActivationDisplay(p: PendingActivation): string {
  checkPendingActivation(`${PLACE}/format`, p);
  return [
    DISPLAY_HEADER,
    `device    ${p.deviceId}`,
    `expires   ${p.expiresAt}`,
    `challenge ${groups(p.challenge)}`,
    `boot      ${groups(p.bootNonce)}`,
    `check     ${groups(checksum(p))}`,
  ].join('\n');
}

function bad(message: string): never {
  throw new SignerError('BAD_SIGNED_DOCUMENT', `${PLACE}/parse: ${message}`);
}

function hexField(label: string, value: string, n: number): Uint8Array {
  const compact = value.replace(/[\s-]+/g, '').toLowerCase();
  if (!/^[0-9a-f]*$/.test(compact) || compact.length !== 2 * n)
    bad(`${label}: expected ${n} bytes as ${2 * n} hex digits, got ${compact.length} characters`);
  return hexToBytes(compact);
}

/**
 * The holder CLI's side: read the console text back (spacing, case and `-` between groups are
 * free), check the checksum, return the content to sign. Throws BAD_SIGNED_DOCUMENT.
 */
export function parseActivationDisplay(text: string): PendingActivation {
  if (typeof text !== 'string') bad(`expected text, got ${typeof text}`);
  if (text.length > MAX_DISPLAY_CHARS)
    bad(`expected at most ${MAX_DISPLAY_CHARS} characters, got ${text.length}`);
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines[0] !== DISPLAY_HEADER) bad(`expected the first line ${DISPLAY_HEADER}`);
  if (lines.length !== 1 + LABELS.length)
    bad(`expected ${1 + LABELS.length} lines, got ${lines.length}`);
  const fields = new Map<string, string>();
  LABELS.forEach((label, i) => {
    const line = lines[i + 1] ?? '';
    const m = /^(\S+)\s+(.+)$/.exec(line);
    if (m === null || m[1] !== label) bad(`line ${i + 2}: expected "${label} <value>"`);
    fields.set(label, m[2] ?? '');
  });
  const deviceId = fields.get('device') ?? '';
  if (!isKeyId(deviceId)) bad('device: expected a device id (printable ASCII, 1..64)');
  const expiresText = fields.get('expires') ?? '';
  if (!/^(0|[1-9]\d{0,12})$/.test(expiresText))
    bad('expires: expected decimal unix seconds without leading zeros');
  const expiresAt = Number(expiresText);
  if (expiresAt > MAX_TIME) bad('expires: expected at most 2^40');
  const p: PendingActivation = {
    deviceId,
    expiresAt,
    challenge: hexField('challenge', fields.get('challenge') ?? '', CHALLENGE_BYTES),
    bootNonce: hexField('boot', fields.get('boot') ?? '', BOOT_NONCE_BYTES),
  };
  const check = hexField('check', fields.get('check') ?? '', CHECKSUM_BYTES);
  const expected = checksum(p);
  if (!check.every((b, i) => b === expected[i]))
    bad('check: expected the checksum of the fields above, got another (a group was misread)');
  return Object.freeze(p);
}

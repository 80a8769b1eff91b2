/**
 * One audit log entry (docs/state-and-audit.md §7): what each kind's body holds, how the body is
 * encoded, and how an entry is hashed and signed.
 *
 *   hash      = SHA-256("keyline/audit/v1" || canonical CBOR { seq, time, kind, body, prevHash })
 *   signature = Ed25519(audit identity key, hash)
 *
 * Bodies never hold key material, by construction: an event is a structured value whose text
 * fields are codes or hex identifiers that must match a pattern, and whose only byte fields are
 * SHA-256 digests computed here (`Sha256Digest` can only be made by `sha256Digest`).
 */

import { encodeCanonical, MAX_AUDIT_BODY_BYTES } from '@keyline/wire-protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { SignerError } from '../errors.js';

export const AUDIT_KINDS = Object.freeze([
  'request',
  'decision',
  'signature',
  'policy',
  'state',
  'lifecycle',
] as const);
export type AuditKind = (typeof AUDIT_KINDS)[number];

export const LIFECYCLE_EVENTS = Object.freeze([
  'log-created',
  'log-reopened',
  'torn-tail-recovered',
  'boot',
  'unlock',
  'activate',
  'arm',
  'pause',
  'resume',
  'lock',
  'shutdown',
  'state-fail-closed',
  'clock-clamped',
] as const);
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

export const DECISION_OUTCOMES = Object.freeze(['sign', 'refuse', 'accept', 'reject'] as const);
export type DecisionOutcome = (typeof DECISION_OUTCOMES)[number];

declare const digestBrand: unique symbol;
/** 32 bytes that are a SHA-256 digest computed by this module: never raw input bytes. */
export type Sha256Digest = Uint8Array & { readonly [digestBrand]: true };

export function sha256Digest(data: Uint8Array): Sha256Digest {
  return sha256(data) as Sha256Digest;
}

/** Re-brand 32 bytes read back from a verified entry (internal to the audit module). */
export function digestFromVerified(bytes: Uint8Array): Sha256Digest {
  return Uint8Array.from(bytes) as Sha256Digest;
}

/** The events the log accepts. Codes: `[A-Za-z0-9_.:/[\]-]{1,64}`; hex ids lower-case. */
export type AuditEvent =
  | { readonly kind: 'request'; readonly method: string; readonly params: Uint8Array }
  | {
      readonly kind: 'decision';
      readonly method: string;
      readonly outcome: DecisionOutcome;
      readonly code: string | null;
      readonly reason: string | null;
      readonly rule: string | null;
      readonly output: number | null;
      readonly txid: string | null;
    }
  | {
      readonly kind: 'signature';
      readonly txid: string;
      readonly walletId: string;
      readonly inputs: readonly number[];
      readonly amount: bigint;
      readonly fee: bigint;
    }
  | { readonly kind: 'policy'; readonly version: number; readonly hash: string }
  | { readonly kind: 'state'; readonly generation: number; readonly stateHash: Sha256Digest }
  | { readonly kind: 'lifecycle'; readonly event: LifecycleEvent; readonly detail: string | null };

const CODE = /^[A-Za-z0-9_.:/[\]-]{1,64}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX = /^(?:[0-9a-f]{2}){1,64}$/;
const MAX_INPUTS = 10_000;

function bad(message: string): SignerError {
  return new SignerError('BAD_AUDIT_LOG', `audit/append: ${message}`);
}

function code(name: string, v: unknown, nullable: boolean): string | null {
  if (v === null && nullable) return null;
  if (typeof v !== 'string' || !CODE.test(v)) {
    throw bad(`expected ${name} to be a code matching ${CODE.source}, got ${typeof v}`);
  }
  return v;
}

function hexId(name: string, v: unknown, re: RegExp): string {
  if (typeof v !== 'string' || !re.test(v)) throw bad(`expected ${name} as lower-case hex`);
  return v;
}

function uintField(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw bad(`expected ${name} to be a non-negative integer, got ${String(v)}`);
  }
  return v;
}

function satsField(name: string, v: unknown): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > 2_100_000_000_000_000n) {
    throw bad(`expected ${name} as bigint satoshis in 0..21e14`);
  }
  return v;
}

/** The body map of an event, validated field by field; bytes only as digests made here. */
export function eventBody(event: AuditEvent): Record<string, unknown> {
  switch (event.kind) {
    case 'request':
      if (!(event.params instanceof Uint8Array)) throw bad('expected request params as bytes');
      return { method: code('method', event.method, false), paramsDigest: sha256(event.params) };
    case 'decision': {
      if (!DECISION_OUTCOMES.includes(event.outcome)) throw bad('expected a decision outcome');
      return {
        method: code('method', event.method, false),
        outcome: event.outcome,
        code: code('code', event.code, true),
        reason: code('reason', event.reason, true),
        rule: code('rule', event.rule, true),
        output: event.output === null ? null : uintField('output', event.output),
        txid: event.txid === null ? null : hexId('txid', event.txid, HEX64),
      };
    }
    case 'signature':
      if (!Array.isArray(event.inputs) || event.inputs.length > MAX_INPUTS) {
        throw bad(`expected at most ${MAX_INPUTS} input indexes`);
      }
      return {
        txid: hexId('txid', event.txid, HEX64),
        walletId: hexId('walletId', event.walletId, HEX),
        inputs: event.inputs.map((i, n) => uintField(`inputs[${n}]`, i)),
        amount: satsField('amount', event.amount),
        fee: satsField('fee', event.fee),
      };
    case 'policy':
      return {
        version: uintField('version', event.version),
        hash: hexId('hash', event.hash, HEX64),
      };
    case 'state':
      if (!(event.stateHash instanceof Uint8Array) || event.stateHash.length !== 32) {
        throw bad('expected stateHash as a 32-byte digest');
      }
      return {
        generation: uintField('generation', event.generation),
        stateHash: Uint8Array.from(event.stateHash),
      };
    case 'lifecycle':
      if (!LIFECYCLE_EVENTS.includes(event.event)) throw bad('expected a lifecycle event');
      return { event: event.event, detail: code('detail', event.detail, true) };
    default:
      throw bad(`expected an event kind of ${AUDIT_KINDS.join(', ')}`);
  }
}

export function encodeEventBody(event: AuditEvent): Uint8Array {
  const body = encodeCanonical(eventBody(event));
  if (body.length > MAX_AUDIT_BODY_BYTES) {
    throw bad(`expected a body of at most ${MAX_AUDIT_BODY_BYTES} bytes, got ${body.length}`);
  }
  return body;
}

/** An entry as exported by get_audit_log (no per-entry signature). */
export interface AuditEntryData {
  readonly seq: number;
  readonly time: number;
  readonly kind: string;
  readonly body: Uint8Array;
  readonly prevHash: Uint8Array;
  readonly hash: Uint8Array;
}

/** An entry as stored: the export fields and the device's signature over `hash`. */
export interface AuditEntry extends AuditEntryData {
  readonly signature: Uint8Array;
}

export const GENESIS_PREV_HASH: Uint8Array = new Uint8Array(32);
const DOMAIN = new TextEncoder().encode('keyline/audit/v1');

/** SHA-256(domain || canonical CBOR { seq, time, kind, body, prevHash }). */
export function entryHash(e: Omit<AuditEntryData, 'hash'>): Uint8Array {
  const cbor = encodeCanonical({
    seq: e.seq,
    time: e.time,
    kind: e.kind,
    body: e.body,
    prevHash: e.prevHash,
  });
  const msg = new Uint8Array(DOMAIN.length + cbor.length);
  msg.set(DOMAIN, 0);
  msg.set(cbor, DOMAIN.length);
  return sha256(msg);
}

/** A signed entry following `prev` (null for the first). The seed is only read. */
export function makeEntry(
  prev: { readonly seq: number; readonly hash: Uint8Array } | null,
  time: number,
  event: AuditEvent,
  seed: Uint8Array,
): AuditEntry {
  const body = encodeEventBody(event);
  const seq = prev === null ? 0 : prev.seq + 1;
  const prevHash = prev === null ? GENESIS_PREV_HASH : prev.hash;
  const base = { seq, time, kind: event.kind, body, prevHash: Uint8Array.from(prevHash) };
  const hash = entryHash(base);
  return Object.freeze({ ...base, hash, signature: ed25519.sign(hash, seed) });
}

export function auditPublicKeyOf(seed: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(seed);
}

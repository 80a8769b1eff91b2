/**
 * The audit events the signer writes for RPC requests and their outcomes, and the wire shape of
 * an audit export. Text fields of audit bodies must be codes (`[A-Za-z0-9_.:/[\]-]{1,64}`): a value
 * that is not one is recorded as null, never forced in. docs/signing-flow.md §5.
 */
import { encodeCanonical, type MethodName, type MethodResultInput } from '@keyline/wire-protocol';
import type { AuditEvent } from '../audit/audit-entry.js';
import type { AuditExport } from '../audit/audit-log.js';
import type { SignerError } from '../errors.js';

const CODE = /^[A-Za-z0-9_.:/[\]-]{1,64}$/;

/** `v` when it is a code the audit log accepts, else null. */
export function asCode(v: unknown): string | null {
  return typeof v === 'string' && CODE.test(v) ? v : null;
}

/** A byte copy with its own ArrayBuffer (what the wire result types ask for). */
export function copyBytes(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(b);
}

/** `request`: the method and SHA-256 of the canonical CBOR of its params (computed by the log). */
export function requestEvent(method: MethodName, params: unknown): AuditEvent {
  return { kind: 'request', method, params: encodeCanonical(params) };
}

/** `decision` for a failed request: refused (a verdict) or rejected (malformed, state, I/O). */
export function failureEvent(method: MethodName, e: SignerError, txid: string | null): AuditEvent {
  const output = e.detail.output;
  return {
    kind: 'decision',
    method,
    outcome: e.kind === 'refused' ? 'refuse' : 'reject',
    code: e.code,
    reason: asCode(e.detail.reason),
    rule: asCode(e.detail.rule),
    output:
      typeof output === 'number' && Number.isSafeInteger(output) && output >= 0 ? output : null,
    txid,
  };
}

/** An audit export as the get_audit_log result (fresh byte copies). */
export function auditExportResult(out: AuditExport): MethodResultInput<'get_audit_log'> {
  return {
    entries: out.entries.map((e) => ({
      seq: e.seq,
      time: e.time,
      kind: e.kind,
      body: copyBytes(e.body),
      prevHash: copyBytes(e.prevHash),
      hash: copyBytes(e.hash),
    })),
    head: {
      seq: out.head.seq,
      hash: copyBytes(out.head.hash),
      signature: copyBytes(out.head.signature),
    },
  };
}

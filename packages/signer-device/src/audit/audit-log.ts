/**
 * The device's append-only, hash-chained, signed audit log (docs/state-and-audit.md §7).
 *
 * File: magic "KLAUDIT1", then records, each a u32 big-endian length and the canonical CBOR of
 * { seq, time, kind, body, prevHash, hash, signature }. Every append is fsync'd before it
 * resolves. Open verifies the whole chain and fails with a coded error when it does not hold; a
 * record cut short at the end of the file (power lost during an append that never resolved) is
 * cut off and the recovery is itself logged.
 *
 * The log is also the state store's witness: the latest `state` entry records the generation and
 * hash of the durable state, so an older state file copied back is detected.
 */

import { dirname } from 'node:path';
import { decodeStrict, encodeCanonical } from '@keyline/wire-protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { SignerError } from '../errors.js';
import { type Fs, nodeFs } from '../state/fs.js';
import type { StateMark, StateWitness } from '../state/state-store.js';
import {
  type AuditEntry,
  type AuditEntryData,
  type AuditEvent,
  auditPublicKeyOf,
  digestFromVerified,
  makeEntry,
} from './audit-entry.js';
import { verifyLinks } from './audit-verify.js';
import { cborItemEnd } from './cbor-item.js';

export const AUDIT_MAGIC = Object.freeze([0x4b, 0x4c, 0x41, 0x55, 0x44, 0x49, 0x54, 0x31]); // KLAUDIT1
const MAX_RECORD = 256 * 1024;
export const MAX_EXPORT = 1000;

export interface AuditLogOptions {
  readonly path: string;
  /** 32-byte Ed25519 seed of the audit identity; copied, and the copy wiped by close(). */
  readonly seed: Uint8Array;
  /** Create the log when the file is missing (provisioning only); otherwise missing is an error. */
  readonly create: boolean;
  /** Device time for entries written while opening. */
  readonly time: number;
  /** 'all' checks every entry's signature on open; 'head' only the last (hash links prove the rest). */
  readonly verifySignatures?: 'all' | 'head';
  readonly fs?: Fs;
}

export interface AuditExport {
  readonly entries: readonly AuditEntryData[];
  readonly head: {
    readonly seq: number;
    readonly hash: Uint8Array;
    readonly signature: Uint8Array;
  };
}

function ioError(place: string, e: unknown): SignerError {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  const why = typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
  return new SignerError('IO', `audit-log/${place}: ${why}`, {}, { cause: e });
}

function bad(message: string, detail: Record<string, unknown> = {}): SignerError {
  return new SignerError('BAD_AUDIT_LOG', `audit-log/open: ${message}`, detail);
}

/** The length-prefixed record of one entry. */
export function encodeRecord(e: AuditEntry): Uint8Array {
  const cbor = encodeCanonical({
    seq: e.seq,
    time: e.time,
    kind: e.kind,
    body: e.body,
    prevHash: e.prevHash,
    hash: e.hash,
    signature: e.signature,
  });
  const out = new Uint8Array(4 + cbor.length);
  new DataView(out.buffer).setUint32(0, cbor.length, false);
  out.set(cbor, 4);
  return out;
}

const isBytes = (v: unknown, n?: number): v is Uint8Array =>
  v instanceof Uint8Array && (n === undefined || v.length === n);
const isUint = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function decodeRecord(bytes: Uint8Array, index: number): AuditEntry {
  let v: unknown;
  try {
    v = decodeStrict(bytes);
  } catch {
    throw bad(`record ${index} is not strict CBOR`, { index });
  }
  const o = v as Record<string, unknown>;
  const keys = typeof v === 'object' && v !== null ? Object.keys(v).sort().join(',') : '';
  if (
    keys !== 'body,hash,kind,prevHash,seq,signature,time' ||
    !isUint(o.seq) ||
    !isUint(o.time) ||
    typeof o.kind !== 'string' ||
    !isBytes(o.body) ||
    !isBytes(o.prevHash, 32) ||
    !isBytes(o.hash, 32) ||
    !isBytes(o.signature, 64)
  ) {
    throw bad(`record ${index} is not an audit entry`, { index });
  }
  return Object.freeze({
    seq: o.seq,
    time: o.time,
    kind: o.kind,
    body: o.body,
    prevHash: o.prevHash,
    hash: o.hash,
    signature: o.signature,
  });
}

/** Split the file into records; `tornAt` is where an incomplete last record starts. */
function parseFile(file: Uint8Array): { entries: AuditEntry[]; tornAt: number | null } {
  if (file.length < AUDIT_MAGIC.length || !AUDIT_MAGIC.every((b, i) => file[i] === b)) {
    throw bad('expected magic KLAUDIT1');
  }
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const entries: AuditEntry[] = [];
  let off = AUDIT_MAGIC.length;
  while (off < file.length) {
    if (file.length - off < 4) return { entries, tornAt: off };
    const n = view.getUint32(off, false);
    if (n === 0 || n > MAX_RECORD)
      throw bad(`record ${entries.length} has length ${n}`, { index: entries.length });
    if (file.length - off - 4 < n) {
      // A torn append leaves one cut record at the end; a length that claims more than the file
      // holds in front of a whole record is corruption or tampering, not a crash.
      if (cborItemEnd(file, off + 4) !== -1) {
        throw bad(`record ${entries.length} has a length beyond a whole record`, {
          index: entries.length,
        });
      }
      return { entries, tornAt: off };
    }
    entries.push(decodeRecord(file.subarray(off + 4, off + 4 + n), entries.length));
    off += 4 + n;
  }
  return { entries, tornAt: null };
}

function stateMarkOf(e: AuditEntry): StateMark | null {
  if (e.kind !== 'state') return null;
  const b = decodeStrict(e.body) as { generation?: unknown; stateHash?: unknown };
  if (!isUint(b.generation) || !isBytes(b.stateHash, 32)) {
    throw bad(`seq ${e.seq}: a state entry without generation and stateHash`, { seq: e.seq });
  }
  return Object.freeze({ generation: b.generation, hash: digestFromVerified(b.stateHash) });
}

export class AuditLog implements StateWitness {
  private readonly fs: Fs;
  private readonly seed: Uint8Array;
  private readonly path: string;
  readonly publicKey: Uint8Array;
  private readonly entries: AuditEntry[];
  private stateMark: StateMark | null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Set when an append failed part-way: the file may end in a torn record until reopened. */
  private broken = false;
  private closed = false;

  private constructor(opts: AuditLogOptions, entries: AuditEntry[], mark: StateMark | null) {
    this.fs = opts.fs ?? nodeFs;
    this.path = opts.path;
    this.seed = Uint8Array.from(opts.seed);
    this.publicKey = auditPublicKeyOf(this.seed);
    this.entries = entries;
    this.stateMark = mark;
  }

  /**
   * Open (or, with `create`, start) the log and verify it. Throws AUDIT_CHAIN_BROKEN (with
   * detail.seq) or BAD_AUDIT_LOG when it does not verify, IO when it cannot be read: the caller
   * fails closed.
   */
  static async open(opts: AuditLogOptions): Promise<AuditLog> {
    if (!isBytes(opts.seed, 32)) {
      throw new SignerError('BAD_CONFIG', 'audit-log/open: expected a 32-byte audit identity seed');
    }
    if (!isUint(opts.time)) {
      throw new SignerError(
        'BAD_CONFIG',
        `audit-log/open: expected time >= 0, got ${String(opts.time)}`,
      );
    }
    const fs = opts.fs ?? nodeFs;
    let file: Uint8Array | null;
    try {
      file = await fs.readFile(opts.path);
    } catch (e) {
      throw ioError('open', e);
    }
    if (file === null) {
      if (!opts.create) throw bad('the log file is missing', { reason: 'AUDIT_MISSING' });
      const log = new AuditLog(opts, [], null);
      try {
        await fs.writeFile(opts.path, Uint8Array.from(AUDIT_MAGIC));
        await fs.fsyncFile(opts.path);
        await fs.fsyncDir(dirname(opts.path));
      } catch (e) {
        throw ioError('create', e);
      }
      await log.append({ kind: 'lifecycle', event: 'log-created', detail: null }, opts.time);
      return log;
    }
    const { entries, tornAt } = parseFile(file);
    if (entries.length === 0) {
      // Only a crash between creating the file and its first entry leaves it empty.
      if (!opts.create) throw bad('the log holds no entry', { reason: 'AUDIT_EMPTY' });
      const log = new AuditLog(opts, [], null);
      try {
        await fs.truncateDurable(opts.path, AUDIT_MAGIC.length);
      } catch (e) {
        throw ioError('create', e);
      }
      await log.append({ kind: 'lifecycle', event: 'log-created', detail: null }, opts.time);
      return log;
    }
    verifyLinks(entries, 0, null);
    const pub = auditPublicKeyOf(opts.seed);
    const mode = opts.verifySignatures ?? 'all';
    let mark: StateMark | null = null;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as AuditEntry;
      if (mode === 'all' || i === entries.length - 1) {
        if (!ed25519.verify(e.signature, e.hash, pub)) {
          throw new SignerError(
            'AUDIT_CHAIN_BROKEN',
            `audit-log/open: seq ${e.seq}: signature does not verify`,
            { seq: e.seq },
          );
        }
      }
      mark = stateMarkOf(e) ?? mark;
    }
    const log = new AuditLog(opts, entries, mark);
    if (tornAt !== null) {
      try {
        await fs.truncateDurable(opts.path, tornAt);
      } catch (e) {
        throw ioError('truncate torn tail', e);
      }
      await log.append(
        { kind: 'lifecycle', event: 'torn-tail-recovered', detail: null },
        opts.time,
      );
    }
    return log;
  }

  /** The latest entry. */
  get head(): AuditEntry {
    const h = this.entries[this.entries.length - 1];
    if (h === undefined) throw new SignerError('IO', 'audit-log/head: the log holds no entry');
    return h;
  }

  get length(): number {
    return this.entries.length;
  }

  /** Append an event at device time `time`; resolves with the entry once it is fsync'd. */
  append(event: AuditEvent, time: number): Promise<AuditEntry> {
    const run = this.queue.then(() => this.appendNow(event, time));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow(event: AuditEvent, time: number): Promise<AuditEntry> {
    if (this.closed) throw new SignerError('IO', 'audit-log/append: the log is closed');
    if (this.broken) {
      throw new SignerError('IO', 'audit-log/append: an earlier append failed; reopen the log');
    }
    if (!isUint(time)) {
      throw new SignerError(
        'BAD_AUDIT_LOG',
        `audit-log/append: expected time >= 0, got ${String(time)}`,
      );
    }
    const prev = this.entries[this.entries.length - 1] ?? null;
    const entry = makeEntry(prev, time, event, this.seed);
    try {
      await this.fs.appendFileDurable(this.path, encodeRecord(entry));
    } catch (e) {
      this.broken = true;
      throw ioError('append', e);
    }
    this.entries.push(entry);
    if (event.kind === 'state') {
      this.stateMark = Object.freeze({
        generation: event.generation,
        hash: digestFromVerified(event.stateHash),
      });
    }
    return entry;
  }

  /** StateWitness: the generation and hash of the latest `state` entry. */
  lastStateGeneration(): StateMark | null {
    return this.stateMark;
  }

  /** StateWitness: record a committed state generation. */
  async recordState(mark: StateMark, time: number): Promise<void> {
    await this.append({ kind: 'state', generation: mark.generation, stateHash: mark.hash }, time);
  }

  /**
   * Entries with seq in [fromSeq, fromSeq + limit), shaped as the get_audit_log result. `head` is
   * the signed entry that anchors the range: its last entry, or the log's head when it is empty.
   */
  exportRange(fromSeq: number, limit: number): AuditExport {
    if (!isUint(fromSeq)) {
      throw new SignerError(
        'BAD_AUDIT_LOG',
        `audit-log/export: expected fromSeq >= 0, got ${String(fromSeq)}`,
      );
    }
    if (!isUint(limit) || limit < 1 || limit > MAX_EXPORT) {
      throw new SignerError(
        'BAD_AUDIT_LOG',
        `audit-log/export: expected limit in 1..${MAX_EXPORT}, got ${String(limit)}`,
      );
    }
    const slice = this.entries.slice(fromSeq, fromSeq + limit);
    const anchor = slice[slice.length - 1] ?? this.head;
    return Object.freeze({
      entries: slice.map((e) =>
        Object.freeze({
          seq: e.seq,
          time: e.time,
          kind: e.kind,
          body: e.body,
          prevHash: e.prevHash,
          hash: e.hash,
        }),
      ),
      head: Object.freeze({ seq: anchor.seq, hash: anchor.hash, signature: anchor.signature }),
    });
  }

  /** Wipe the log's copy of the seed; later appends reject. */
  close(): void {
    this.closed = true;
    this.seed.fill(0);
  }
}

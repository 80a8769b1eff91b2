/**
 * The gateway's two in-memory indexes (docs/gateway.md §2):
 * - `ScriptIndex`: every scriptPubKey we watch (deposit and change addresses) → its owner tag.
 *   Millions of entries: a script is keyed by a one-byte-per-char string of its bytes (34 chars
 *   for P2WSH; far less heap than a hex key), spread over 16 Maps by its last byte so that no
 *   single Map reaches V8's limit of 2^24 entries.
 * - `OutpointIndex`: our unspent outputs by `txid:vout`, to recognise a spend of ours.
 * Both are plain data structures: no I/O. The follower keeps `OutpointIndex` in step with the
 * blocks it commits; the owner of the store fills both at start from its own records.
 */
import { CoordinatorError } from '../errors.js';
import { assertId, assertSats } from '../ledger/accounts.js';
import { describe } from '../storage/validate.js';

/** Consensus limit on a spendable script (MAX_SCRIPT_SIZE): nothing longer can be ours. */
export const MAX_WATCHED_SCRIPT_BYTES = 10_000;
const SHARDS = 16;
const TXID = /^[0-9a-f]{64}$/;

/** The bytes of a script as a string of one char per byte (lossless, compact map key). */
function scriptKey(script: Uint8Array): string {
  // fromCharCode.apply over at most 10,000 bytes stays far from the engine's argument limit.
  return String.fromCharCode.apply(null, script as unknown as number[]);
}

function assertScript(place: string, script: unknown): Uint8Array {
  if (
    !(script instanceof Uint8Array) ||
    script.length === 0 ||
    script.length > MAX_WATCHED_SCRIPT_BYTES
  ) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected a scriptPubKey of 1..${MAX_WATCHED_SCRIPT_BYTES} bytes, got ${describe(script)}`,
    );
  }
  return script;
}

export class ScriptIndex {
  readonly #shards: Map<string, string>[] = Array.from({ length: SHARDS }, () => new Map());
  #size = 0;

  #shard(script: Uint8Array): Map<string, string> {
    // The last byte of a P2WSH/P2WPKH/P2TR script is a hash byte: an even spread.
    return this.#shards[(script[script.length - 1] ?? 0) % SHARDS] as Map<string, string>;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Watch `script` for `owner` (1..128 printable ASCII, e.g. an address id). Adding the same
   * script with the same owner again is a no-op; with another owner it is refused (DUPLICATE):
   * one script belongs to one address.
   */
  add(script: Uint8Array, owner: string): void {
    const place = 'gateway/watch-index/add';
    assertScript(place, script);
    assertId(place, 'owner', owner);
    const shard = this.#shard(script);
    const key = scriptKey(script);
    const existing = shard.get(key);
    if (existing === owner) return;
    if (existing !== undefined) {
      throw new CoordinatorError(
        'DUPLICATE',
        `${place}: expected a script not yet watched or watched for '${owner}', got one watched for '${existing}'`,
        { owner, existing },
      );
    }
    shard.set(key, owner);
    this.#size += 1;
  }

  /** Stop watching `script`; true if it was watched. */
  remove(script: Uint8Array): boolean {
    assertScript('gateway/watch-index/remove', script);
    const removed = this.#shard(script).delete(scriptKey(script));
    if (removed) this.#size -= 1;
    return removed;
  }

  /** The owner of `script`, or undefined. Any byte string may be asked (no throw): it is hot. */
  lookup(script: Uint8Array): string | undefined {
    if (script.length === 0 || script.length > MAX_WATCHED_SCRIPT_BYTES) return undefined;
    return this.#shard(script).get(scriptKey(script));
  }

  has(script: Uint8Array): boolean {
    return this.lookup(script) !== undefined;
  }
}

/** One of our unspent outputs, as the gateway knows it. */
export interface OwnedOutput {
  readonly txid: string;
  readonly vout: number;
  readonly value: bigint;
  readonly scriptPubKey: Uint8Array;
  readonly owner: string;
  /** Created by a coinbase transaction (spendable only after 100 confirmations). */
  readonly coinbase: boolean;
}

/** The conventional `txid:vout` name of an outpoint. */
export function outpointKey(txid: string, vout: number): string {
  return `${txid}:${vout}`;
}

/** Validate an owned output (it may come from a database at start) and return a frozen copy. */
export function ownedOutput(place: string, o: unknown): OwnedOutput {
  if (typeof o !== 'object' || o === null) {
    throw new CoordinatorError('BAD_REQUEST', `${place}: expected an output, got ${describe(o)}`);
  }
  const x = o as Record<string, unknown>;
  if (typeof x.txid !== 'string' || !TXID.test(x.txid)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected txid as 64 lowercase hex characters, got ${describe(x.txid)}`,
    );
  }
  if (
    typeof x.vout !== 'number' ||
    !Number.isInteger(x.vout) ||
    x.vout < 0 ||
    x.vout > 0xffffffff
  ) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected vout as an integer in 0..2^32-1, got ${describe(x.vout)}`,
    );
  }
  if (typeof x.coinbase !== 'boolean') {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected coinbase as a boolean, got ${describe(x.coinbase)}`,
    );
  }
  return Object.freeze({
    txid: x.txid,
    vout: x.vout,
    value: assertSats(place, 'value', x.value),
    scriptPubKey: assertScript(place, x.scriptPubKey),
    owner: assertId(place, 'owner', x.owner),
    coinbase: x.coinbase,
  });
}

export class OutpointIndex {
  readonly #map = new Map<string, OwnedOutput>();

  get size(): number {
    return this.#map.size;
  }

  /** Record one of our unspent outputs (validated). Re-adding the same outpoint replaces it. */
  add(output: OwnedOutput): void {
    const o = ownedOutput('gateway/outpoint-index/add', output);
    this.#map.set(outpointKey(o.txid, o.vout), o);
  }

  remove(txid: string, vout: number): boolean {
    return this.#map.delete(outpointKey(txid, vout));
  }

  get(txid: string, vout: number): OwnedOutput | undefined {
    return this.#map.get(outpointKey(txid, vout));
  }

  has(txid: string, vout: number): boolean {
    return this.#map.has(outpointKey(txid, vout));
  }

  /** Every output, in insertion order. */
  values(): IterableIterator<OwnedOutput> {
    return this.#map.values();
  }
}

/**
 * Our broadcast transactions until they are buried (docs/gateway.md §7). A tracked transaction is
 * its txid and its exact bytes, checked to hash to that txid when tracked; the bytes are never
 * rebuilt. Each `tick()` asks the backend where every active transaction stands and re-sends
 * the SAME bytes when it is neither in the mempool nor in a block. It stops at `confirmDepth`
 * confirmations (`final`), at once on a conflict (our inputs spent by another transaction: the
 * owner must investigate), and after `maxRejections` other rejections in a row (`gave_up`).
 * A backend that is down ends the tick with one `unavailable` event; the next tick retries. Any
 * other backend error about one transaction is reported for it and the tick goes on.
 * State lives in memory: at start the owner re-tracks its unfinished transactions from its
 * records (it stored the bytes before the first broadcast).
 */
import { equalBytes } from '@noble/curves/utils.js';
import type { ChainBackend } from '../chain/interface.js';
import { CoordinatorError, isCoordinatorError } from '../errors.js';
import { checkTxStatus } from './chain-data.js';
import type { BroadcastConfig } from './config.js';
import { txidOfRaw } from './txid.js';

export type BroadcastEvent =
  /** The bytes were sent (first: the first send by this broadcaster). */
  | { readonly type: 'sent'; readonly txid: string; readonly first: boolean }
  | { readonly type: 'in_mempool'; readonly txid: string }
  | { readonly type: 'confirming'; readonly txid: string; readonly confirmations: number }
  /** Buried at `confirmDepth`: no longer tracked. */
  | { readonly type: 'final'; readonly txid: string; readonly confirmations: number }
  /** The node says our inputs are spent or claimed by another transaction: stopped. */
  | { readonly type: 'conflict'; readonly txid: string; readonly reason: string }
  /** Refused for another reason; sent again next tick until `maxRejections` in a row. */
  | {
      readonly type: 'rejected';
      readonly txid: string;
      readonly reason: string;
      readonly count: number;
    }
  /** Refused `maxRejections` times in a row: stopped. */
  | {
      readonly type: 'gave_up';
      readonly txid: string;
      readonly reason: string;
      readonly count: number;
    }
  /** The backend could not answer; the tick ended early and the next one retries. */
  | { readonly type: 'unavailable'; readonly txid: string; readonly error: CoordinatorError };

export type TrackState = 'active' | 'conflict' | 'gave_up';

/**
 * Bitcoin Core reject reasons (also relayed by Esplora inside its error text) that mean "your
 * inputs are spent, or claimed by a mempool transaction we keep": re-sending cannot help.
 */
export const CONFLICT_REASONS: readonly RegExp[] = Object.freeze([
  /txn-mempool-conflict/i,
  /bad-txns-inputs-missingorspent/i,
  /missing[- ]inputs/i,
  /bad-txns-spends-conflicting-tx/i,
  /rejecting replacement/i,
  /replacement-adds-unconfirmed/i,
  /too many potential replacements/i,
]);

export function isConflictReason(reason: string): boolean {
  return CONFLICT_REASONS.some((r) => r.test(reason));
}

interface Tracked {
  readonly txid: string;
  readonly raw: Uint8Array;
  state: TrackState;
  sent: boolean;
  rejections: number;
}

export class Broadcaster {
  readonly #backend: ChainBackend;
  readonly #config: BroadcastConfig;
  readonly #tracked = new Map<string, Tracked>();

  constructor(backend: ChainBackend, config: BroadcastConfig) {
    this.#backend = backend;
    this.#config = config;
  }

  /**
   * Track `raw` as `txid`. Refused (BAD_REQUEST) unless the bytes hash to the txid; refused
   * (DUPLICATE) if the txid is tracked with other bytes (a re-signed witness is another
   * transaction on the wire). Tracking it again with the same bytes re-activates it after a
   * conflict or give-up, once the owner has looked.
   */
  track(txid: string, raw: Uint8Array): void {
    const place = 'gateway/broadcaster/track';
    const actual = txidOfRaw(raw);
    if (actual !== txid) {
      throw new CoordinatorError(
        'BAD_REQUEST',
        `${place}: expected bytes that hash to ${txid}, got bytes of ${actual}`,
        { txid, actual },
      );
    }
    const existing = this.#tracked.get(txid);
    if (existing !== undefined) {
      if (!equalBytes(existing.raw, raw)) {
        throw new CoordinatorError(
          'DUPLICATE',
          `${place}: expected the same bytes as already tracked for ${txid}, got other bytes (another witness)`,
          { txid },
        );
      }
      existing.state = 'active';
      existing.rejections = 0;
      return;
    }
    this.#tracked.set(txid, {
      txid,
      raw: raw.slice(),
      state: 'active',
      sent: false,
      rejections: 0,
    });
  }

  untrack(txid: string): boolean {
    return this.#tracked.delete(txid);
  }

  /** Whether `txid` is tracked (in any state): a block containing it is reported to us. */
  has(txid: string): boolean {
    return this.#tracked.has(txid);
  }

  state(txid: string): TrackState | undefined {
    return this.#tracked.get(txid)?.state;
  }

  get size(): number {
    return this.#tracked.size;
  }

  /** One round over the active transactions, in the order they were tracked. */
  async tick(): Promise<BroadcastEvent[]> {
    const events: BroadcastEvent[] = [];
    for (const t of [...this.#tracked.values()]) {
      if (t.state !== 'active') continue;
      try {
        const event = await this.#step(t);
        events.push(event);
      } catch (e) {
        if (!isCoordinatorError(e)) throw e;
        events.push({ type: 'unavailable', txid: t.txid, error: e });
        // Down: the others would fail too. A bad answer about one tx must not starve the rest.
        if (e.code === 'CHAIN_UNAVAILABLE') break;
      }
    }
    return events;
  }

  async #step(t: Tracked): Promise<BroadcastEvent> {
    const place = 'gateway/broadcaster/status';
    const status = checkTxStatus(place, await this.#backend.transactionStatus(t.txid));
    if (status.confirmations >= this.#config.confirmDepth) {
      this.#tracked.delete(t.txid);
      return { type: 'final', txid: t.txid, confirmations: status.confirmations };
    }
    if (status.confirmations > 0) {
      t.rejections = 0;
      return { type: 'confirming', txid: t.txid, confirmations: status.confirmations };
    }
    if (status.inMempool) {
      t.rejections = 0;
      return { type: 'in_mempool', txid: t.txid };
    }
    return this.#send(t);
  }

  async #send(t: Tracked): Promise<BroadcastEvent> {
    const place = 'gateway/broadcaster/send';
    let got: unknown;
    try {
      // A copy: the backend never holds our only copy of the bytes.
      got = await this.#backend.broadcast(t.raw.slice());
    } catch (e) {
      if (!isCoordinatorError(e, 'CHAIN_REJECTED')) throw e;
      const reason = rejectReason(e);
      if (isConflictReason(reason)) {
        t.state = 'conflict';
        return { type: 'conflict', txid: t.txid, reason };
      }
      t.rejections += 1;
      if (t.rejections >= this.#config.maxRejections) {
        t.state = 'gave_up';
        return { type: 'gave_up', txid: t.txid, reason, count: t.rejections };
      }
      return { type: 'rejected', txid: t.txid, reason, count: t.rejections };
    }
    if (got !== t.txid) {
      throw new CoordinatorError(
        'CHAIN_BAD_RESPONSE',
        `${place}: expected the node to answer txid ${t.txid}, got ${typeof got === 'string' ? got.slice(0, 64) : typeof got}`,
        { txid: t.txid },
      );
    }
    const first = !t.sent;
    t.sent = true;
    t.rejections = 0;
    return { type: 'sent', txid: t.txid, first };
  }
}

function rejectReason(e: CoordinatorError): string {
  const r = e.detail.rejectReason;
  return typeof r === 'string' && r.length > 0 ? r.slice(0, 500) : e.message.slice(0, 500);
}

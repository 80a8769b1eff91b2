/**
 * The chain follower (docs/gateway.md §4-§6): follows the backend's active chain block by block,
 * hands each block's effects on us to the consumer exactly once, walks back to the fork point on
 * a reorg and hands over the reversals newest first, and waits with capped exponential backoff
 * whenever the backend, the store or the consumer fails. It never skips a block and never
 * guesses: a condition it cannot resolve (a reorg deeper than the kept history, a cursor moved
 * by someone else, the wrong network) stops it with a fatal error.
 *
 * Steps of one poll: tip → (reorg? findFork → disconnect newest first) → next block → check it
 * → scanBlock → store.commit(update, consumer) → apply to the outpoint index → … → onTip.
 */
import type { ChainBackend, ChainBlock, ChainTip } from '../chain/interface.js';
import { CoordinatorError } from '../errors.js';
import { backoffDelay, realSleep, type Sleep } from './backoff.js';
import { checkBlock, checkBlockHash, checkTip } from './chain-data.js';
import type { FollowerConfig } from './config.js';
import {
  applyCursorUpdate,
  type BlockRef,
  type CursorUpdate,
  cursorTip,
  EMPTY_CURSOR,
  type GatewayCursor,
  type ProcessedBlock,
  parseCursor,
} from './cursor.js';
import { gatewayFatal, isGatewayFatal } from './fatal.js';
import { findFork } from './reorg.js';
import { applyEffects, type BlockEffects, revertEffects, scanBlock } from './scan-block.js';
import type { GatewayStore } from './store.js';
import type { OutpointIndex, ScriptIndex } from './watch-index.js';

export interface BlockConnectedEvent {
  readonly type: 'block_connected';
  readonly height: number;
  readonly hash: string;
  readonly previousHash: string;
  /** Header time, seconds since the epoch. */
  readonly time: number;
  readonly effects: BlockEffects;
  /** The block itself (raw transactions: the consumer stores the ones paying us). */
  readonly block: ChainBlock;
}

export interface BlockDisconnectedEvent {
  readonly type: 'block_disconnected';
  readonly height: number;
  readonly hash: string;
  /** What the block had done to us (as reported when it connected): undo all of it. */
  readonly reversed: BlockEffects;
}

export type BlockEvent = BlockConnectedEvent | BlockDisconnectedEvent;

/** After each poll: the backend's tip and our last processed block. */
export interface TipReport {
  readonly tip: ChainTip;
  readonly processed: BlockRef | null;
  /** The backend's chain is shorter than ours on the same branch: waiting for it. */
  readonly backendBehind: boolean;
}

export interface RetryReport {
  readonly error: unknown;
  /** Failures in a row, 1 for the first. */
  readonly attempt: number;
  readonly delayMs: number;
}

export interface PollResult {
  readonly connected: number;
  readonly disconnected: number;
  readonly report: TipReport;
}

export interface FollowerOptions<Tx> {
  readonly backend: ChainBackend;
  readonly store: GatewayStore<Tx>;
  readonly scripts: ScriptIndex;
  readonly outpoints: OutpointIndex;
  /** Our broadcast transactions, to report when a block confirms one (e.g. a Broadcaster). */
  readonly tracked?: { has(txid: string): boolean };
  readonly config: FollowerConfig;
  /**
   * The consumer: store the event's effects with `tx`, the store's transaction (the cursor is
   * written in the same transaction). A throw rolls both back; the block is offered again.
   */
  readonly handler: (event: BlockEvent, tx: Tx) => Promise<void>;
  readonly onTip?: (report: TipReport) => void | Promise<void>;
  readonly onRetry?: (report: RetryReport) => void;
  readonly sleep?: Sleep;
}

interface Pending {
  readonly update: CursorUpdate;
  readonly effects: BlockEffects;
}

export class ChainFollower<Tx> {
  readonly #o: FollowerOptions<Tx>;
  readonly #sleep: Sleep;
  #cursor: GatewayCursor | null = null;
  #networkChecked = false;
  /** A commit whose outcome is unknown (it threw): settled against the store before going on. */
  #pending: Pending | null = null;
  #busy = false;

  constructor(options: FollowerOptions<Tx>) {
    this.#o = options;
    this.#sleep = options.sleep ?? realSleep;
  }

  /** The cursor as last loaded or committed (null before the first load). */
  get cursor(): GatewayCursor | null {
    return this.#cursor;
  }

  /**
   * Follow until `signal` aborts (resolves) or a fatal condition (rejects). Every other failure
   * is reported through `onRetry` and retried after backoff.
   */
  async run(signal?: AbortSignal): Promise<void> {
    const { config, onRetry } = this.#o;
    const aborted = (): boolean => signal?.aborted === true;
    let failures = 0;
    while (!aborted()) {
      let waitMs: number;
      try {
        const r = await this.poll();
        failures = 0;
        waitMs = r.connected + r.disconnected > 0 ? 0 : config.pollIntervalMs;
      } catch (error) {
        if (isGatewayFatal(error)) throw error;
        failures += 1;
        waitMs = backoffDelay(failures, config.backoff);
        onRetry?.({ error, attempt: failures, delayMs: waitMs });
      }
      if (waitMs > 0 && !aborted()) await this.#sleep(waitMs, signal);
    }
  }

  /** One pass: catch up with the tip seen at its start. Throws on any failure (no retry here). */
  async poll(): Promise<PollResult> {
    if (this.#busy) {
      throw new CoordinatorError(
        'INVALID_TRANSITION',
        'gateway/follower/poll: expected one poll at a time, got a second while one runs',
      );
    }
    this.#busy = true;
    try {
      return await this.#poll();
    } finally {
      this.#busy = false;
    }
  }

  async #poll(): Promise<PollResult> {
    await this.#prepare();
    const { backend, config } = this.#o;
    const tip = checkTip('gateway/follower/tip', await backend.tip());
    let connected = 0;
    let disconnected = 0;
    let backendBehind = false;
    for (;;) {
      const last = cursorTip(this.#current());
      if (last === null) {
        if (tip.height < config.startHeight) break;
        const block = await this.#fetch(config.startHeight);
        if (block === null) break;
        await this.#connect(block, null);
        connected += 1;
        continue;
      }
      if (last.height === tip.height && last.hash === tip.hash) break;
      if (tip.height > last.height) {
        const block = await this.#fetch(last.height + 1);
        if (block === null) break; // the chain got shorter since `tip`: next poll
        if (block.previousHash === last.hash) {
          await this.#connect(block, last);
          connected += 1;
          continue;
        }
      }
      const n = await this.#reorg();
      if (n === 'none') {
        backendBehind = tip.height < last.height;
        break;
      }
      disconnected += n;
    }
    const processed = cursorTip(this.#current());
    const report: TipReport = Object.freeze({
      tip,
      processed: processed === null ? null : { height: processed.height, hash: processed.hash },
      backendBehind,
    });
    await this.#o.onTip?.(report);
    return { connected, disconnected, report };
  }

  #current(): GatewayCursor {
    if (this.#cursor === null) throw new Error('gateway/follower: cursor used before load');
    return this.#cursor;
  }

  /** Load the cursor (first time, or after a failed commit) and check the network once. */
  async #prepare(): Promise<void> {
    if (this.#cursor === null || this.#pending !== null) await this.#load();
    if (!this.#networkChecked) {
      const got = await this.#o.backend.network();
      if (got !== this.#o.config.network) {
        throw gatewayFatal(
          'BAD_CONFIG',
          'wrong_network',
          `gateway/follower: expected a backend on ${this.#o.config.network}, got ${String(got)}`,
        );
      }
      this.#networkChecked = true;
    }
  }

  async #load(): Promise<void> {
    const loaded = await this.#o.store.load();
    const stored = loaded === null ? EMPTY_CURSOR : parseCursor(loaded);
    const pending = this.#pending;
    if (this.#cursor === null) {
      this.#cursor = stored;
      return;
    }
    if (pending !== null) {
      const storedTip = cursorTip(stored);
      const before = cursorTip(this.#cursor);
      const after = cursorTip(applyCursorUpdate(this.#cursor, pending.update));
      if (sameTip(storedTip, after)) {
        this.#settle(pending); // the commit landed although it threw
      } else if (!sameTip(storedTip, before)) {
        throw gatewayFatal(
          'INTERNAL',
          'cursor_moved',
          `gateway/follower: expected the stored cursor at ${refText(before)} or ${refText(after)}, got ${refText(storedTip)}`,
        );
      }
      this.#pending = null;
    }
  }

  /** The active block at `height` (checked), or null if the chain is shorter now. */
  async #fetch(height: number): Promise<ChainBlock | null> {
    const place = 'gateway/follower/block';
    const hash = checkBlockHash(place, await this.#o.backend.blockHash(height));
    if (hash === null) return null;
    return checkBlock(place, await this.#o.backend.block(hash), { hash, height });
  }

  async #connect(block: ChainBlock, parent: ProcessedBlock | null): Promise<void> {
    const { scripts, outpoints, tracked } = this.#o;
    const effects = scanBlock(
      block,
      tracked ? { scripts, outpoints, tracked } : { scripts, outpoints },
    );
    const processed: ProcessedBlock = Object.freeze({
      height: block.height,
      hash: block.hash,
      previousHash: block.previousHash,
      effects,
    });
    const event: BlockConnectedEvent = Object.freeze({
      type: 'block_connected',
      height: block.height,
      hash: block.hash,
      previousHash: block.previousHash,
      time: block.time,
      effects,
      block,
    });
    const update: CursorUpdate = Object.freeze({
      kind: 'connect',
      block: processed,
      expectedTip: parent === null ? null : { height: parent.height, hash: parent.hash },
      keepFrom: block.height - this.#o.config.reorgDepth,
    });
    await this.#commit({ update, effects }, event);
  }

  /** Walk back to the fork point and disconnect above it; the count, or 'none'. */
  async #reorg(): Promise<number | 'none'> {
    const { backend, config } = this.#o;
    const blocks = this.#current().blocks;
    const fork = await findFork(
      blocks,
      async (h) => checkBlockHash('gateway/follower/reorg', await backend.blockHash(h)),
      config.startHeight,
    );
    if (fork.kind !== 'fork') return 'none';
    for (let i = 0; i < fork.disconnect; i++) {
      const top = cursorTip(this.#current()) as ProcessedBlock;
      const event: BlockDisconnectedEvent = Object.freeze({
        type: 'block_disconnected',
        height: top.height,
        hash: top.hash,
        reversed: top.effects,
      });
      const update: CursorUpdate = Object.freeze({
        kind: 'disconnect',
        block: { height: top.height, hash: top.hash },
      });
      await this.#commit({ update, effects: top.effects }, event);
    }
    return fork.disconnect;
  }

  async #commit(pending: Pending, event: BlockEvent): Promise<void> {
    this.#pending = pending;
    await this.#o.store.commit(pending.update, (tx) => this.#o.handler(event, tx));
    this.#settle(pending);
    this.#pending = null;
  }

  /** The commit is stored: move the in-memory cursor and outpoint index with it. */
  #settle(p: Pending): void {
    this.#cursor = applyCursorUpdate(this.#current(), p.update);
    if (p.update.kind === 'connect') applyEffects(this.#o.outpoints, p.effects);
    else revertEffects(this.#o.outpoints, p.effects);
  }
}

function sameTip(a: BlockRef | null, b: BlockRef | null): boolean {
  return a === null || b === null ? a === b : a.height === b.height && a.hash === b.hash;
}

function refText(r: BlockRef | null): string {
  return r === null ? 'an empty cursor' : `${r.hash} at height ${r.height}`;
}

/**
 * The follower's persistence port (docs/gateway.md §4). One call, `commit`, moves the cursor
 * and runs the consumer's work for that block in ONE transaction: either both are stored or
 * neither. A SQL store opens a database transaction, passes it to `work` (the consumer writes
 * its deposits, spends and ledger entries with it), writes the cursor update with it, and
 * commits; any throw rolls everything back. The follower moves its in-memory view only after
 * `commit` resolves, so each block's effects reach the consumer exactly once.
 */
import {
  applyCursorUpdate,
  type CursorUpdate,
  EMPTY_CURSOR,
  type GatewayCursor,
} from './cursor.js';

export interface GatewayStore<Tx> {
  /** The stored cursor, or null before the first block. The follower validates it. */
  load(): Promise<GatewayCursor | null>;
  /**
   * Run `work(tx)` and store `update` atomically with what `work` wrote. Must refuse an update
   * that does not fit the stored cursor (use `applyCursorUpdate` or the same checks in SQL:
   * connect on top of `expectedTip`, disconnect only the tip).
   */
  commit(update: CursorUpdate, work: (tx: Tx) => Promise<void>): Promise<void>;
}

/**
 * A store in memory, for the tests and the embedded demo. `work` gets no transaction
 * (`undefined`): a consumer that keeps its state in memory applies it directly, and a throw
 * from `work` leaves the cursor unchanged.
 */
export class InMemoryGatewayStore implements GatewayStore<undefined> {
  #cursor: GatewayCursor | null;
  commits = 0;

  constructor(initial: GatewayCursor | null = null) {
    this.#cursor = initial;
  }

  async load(): Promise<GatewayCursor | null> {
    return this.#cursor;
  }

  async commit(update: CursorUpdate, work: (tx: undefined) => Promise<void>): Promise<void> {
    // Check first, so that a refused update never runs the consumer's work.
    const next = applyCursorUpdate(this.#cursor ?? EMPTY_CURSOR, update);
    await work(undefined);
    this.#cursor = next;
    this.commits += 1;
  }

  /** The current cursor (frozen). */
  get cursor(): GatewayCursor | null {
    return this.#cursor;
  }
}

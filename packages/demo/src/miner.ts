/**
 * The devnet's miner for the demo: while running it mines one block (to the devnet's own wallet)
 * every `blockIntervalMs`, as a chain with very fast blocks. Deposits and payouts confirm by
 * themselves a moment after they are broadcast, and coins reach the depth the coordinator's coin
 * selection asks of a deposit before it spends it (3 confirmations) without anyone stepping in.
 */
import type { DevnetClient } from './devnet.js';
import { sleep } from './wait.js';

export class Miner {
  #blocks = 0;
  #running: Promise<void> | null = null;
  #stop: AbortController | null = null;
  #lastError: string | null = null;

  constructor(
    private readonly devnet: DevnetClient,
    private readonly address: string,
    private readonly blockIntervalMs: number,
  ) {}

  get blocksMined(): number {
    return this.#blocks;
  }
  get lastError(): string | null {
    return this.#lastError;
  }

  start(): void {
    if (this.#running !== null) return;
    const stop = new AbortController();
    this.#stop = stop;
    this.#running = (async () => {
      while (!stop.signal.aborted) {
        try {
          await this.devnet.mine(1, this.address);
          this.#blocks += 1;
        } catch (e) {
          this.#lastError = e instanceof Error ? e.message : String(e);
        }
        await sleep(this.blockIntervalMs, stop.signal).catch(() => undefined);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#running;
    this.#running = null;
  }
}

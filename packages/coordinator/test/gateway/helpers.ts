/**
 * Test helpers: a consumer that keeps what the follower told it (the "wallet view"), a fake
 * sleep that records delays, and a follower factory over a FakeChain.
 */
import type { ChainBlock } from '../../src/chain/interface.js';
import {
  type BlockEvent,
  ChainFollower,
  type FollowerConfigInput,
  type FollowerOptions,
  InMemoryGatewayStore,
  OutpointIndex,
  outpointKey,
  parseFollowerConfig,
  ScriptIndex,
  type Sleep,
} from '../../src/gateway/index.js';
import type { FakeChain } from './fake-chain.js';

/** The consumer's view, built only from events. */
export class WalletView {
  readonly events: BlockEvent[] = [];
  /** Outputs received and not reversed: outpoint → value. */
  readonly received = new Map<string, bigint>();
  /** Outpoints spent and not reversed → spending txid. */
  readonly spent = new Map<string, string>();
  readonly confirmedTracked = new Map<string, number>();
  /** Fail the next call for a block at this height, once (before applying anything). */
  failOnceAt: number | null = null;
  calls = 0;

  readonly handler = async (event: BlockEvent): Promise<void> => {
    this.calls += 1;
    if (this.failOnceAt === event.height) {
      this.failOnceAt = null;
      throw new Error('wallet-view: injected handler failure');
    }
    this.apply(event);
  };

  apply(event: BlockEvent): void {
    this.events.push(event);
    if (event.type === 'block_connected') {
      for (const o of event.effects.received) {
        const k = outpointKey(o.txid, o.vout);
        if (this.received.has(k)) throw new Error(`wallet-view: ${k} received twice`);
        this.received.set(k, o.value);
      }
      for (const s of event.effects.spent) {
        const k = outpointKey(s.output.txid, s.output.vout);
        if (this.spent.has(k)) throw new Error(`wallet-view: ${k} spent twice`);
        this.spent.set(k, s.spendingTxid);
      }
      for (const t of event.effects.confirmedTracked) this.confirmedTracked.set(t, event.height);
    } else {
      for (const s of event.reversed.spent) {
        const k = outpointKey(s.output.txid, s.output.vout);
        if (!this.spent.delete(k)) throw new Error(`wallet-view: reversal of unknown spend ${k}`);
      }
      for (const o of event.reversed.received) {
        const k = outpointKey(o.txid, o.vout);
        if (!this.received.delete(k)) throw new Error(`wallet-view: reversal of unknown ${k}`);
      }
      for (const t of event.reversed.confirmedTracked) this.confirmedTracked.delete(t);
    }
  }

  /** Outpoints received and not spent. */
  unspent(): Set<string> {
    return new Set([...this.received.keys()].filter((k) => !this.spent.has(k)));
  }

  /** [type, height] of each event, for compact assertions. */
  trail(): string[] {
    return this.events.map((e) => `${e.type === 'block_connected' ? '+' : '-'}${e.height}`);
  }
}

/** A sleep that returns at once and records what was asked; `onSleep` may abort the run. */
export function fakeSleep(onSleep?: (ms: number) => void): { sleep: Sleep; delays: number[] } {
  const delays: number[] = [];
  const sleep: Sleep = async (ms) => {
    delays.push(ms);
    onSleep?.(ms);
  };
  return { sleep, delays };
}

export interface Rig {
  readonly follower: ChainFollower<undefined>;
  readonly store: InMemoryGatewayStore;
  readonly view: WalletView;
  readonly scripts: ScriptIndex;
  readonly outpoints: OutpointIndex;
}

export function rig(
  chain: FakeChain,
  opts: {
    config?: Partial<FollowerConfigInput>;
    store?: InMemoryGatewayStore;
    view?: WalletView;
    scripts?: ScriptIndex;
    outpoints?: OutpointIndex;
    sleep?: Sleep;
    tracked?: FollowerOptions<undefined>['tracked'];
    onRetry?: FollowerOptions<undefined>['onRetry'];
    onTip?: FollowerOptions<undefined>['onTip'];
  } = {},
): Rig {
  const store = opts.store ?? new InMemoryGatewayStore();
  const view = opts.view ?? new WalletView();
  const scripts = opts.scripts ?? new ScriptIndex();
  const outpoints = opts.outpoints ?? new OutpointIndex();
  const config = parseFollowerConfig({
    network: 'regtest',
    startHeight: 1,
    pollIntervalMs: 1000,
    ...opts.config,
  });
  const follower = new ChainFollower<undefined>({
    backend: chain,
    store,
    scripts,
    outpoints,
    config,
    handler: view.handler,
    ...(opts.sleep ? { sleep: opts.sleep } : {}),
    ...(opts.tracked ? { tracked: opts.tracked } : {}),
    ...(opts.onRetry ? { onRetry: opts.onRetry } : {}),
    ...(opts.onTip ? { onTip: opts.onTip } : {}),
  });
  return { follower, store, view, scripts, outpoints };
}

/**
 * The expected view, recomputed naively from the final active chain (no scanBlock): every
 * output paying a watched script from `startHeight` on, and which of them are spent.
 */
export function recompute(
  blocks: readonly ChainBlock[],
  watched: (script: Uint8Array) => boolean,
): { received: Map<string, bigint>; spent: Map<string, string> } {
  const received = new Map<string, bigint>();
  const spent = new Map<string, string>();
  for (const b of blocks) {
    for (const tx of b.transactions) {
      for (const i of tx.inputs) {
        const k = outpointKey(i.txid, i.vout);
        if (!i.coinbase && received.has(k) && !spent.has(k)) spent.set(k, tx.txid);
      }
      tx.outputs.forEach((o, vout) => {
        if (watched(o.scriptPubKey)) received.set(outpointKey(tx.txid, vout), o.value);
      });
    }
  }
  return { received, spent };
}

/**
 * startDevnet: the node (fresh, or replayed from the data file), the JSON-RPC server on it, and
 * persistence after every change; `close()` stops the server and writes the final state.
 */

import { DevnetNode } from './node.js';
import type { DevnetOptions } from './options.js';
import { resolveOptions } from './options.js';
import { loadNode, Persister } from './persistence.js';
import { startRpcServer } from './server.js';

export interface RunningDevnet {
  /** 'http://127.0.0.1:<port>/'. */
  readonly url: string;
  readonly rpcUser: string;
  readonly rpcPassword: string;
  /** The in-process node: the same state the RPC serves. */
  readonly node: DevnetNode;
  /** Stops the server and flushes persistence. */
  close(): Promise<void>;
}

export async function startDevnet(options: DevnetOptions = {}): Promise<RunningDevnet> {
  const opts = resolveOptions(options);
  const nodeOptions = {
    minRelayFeeSatPerKvB: opts.minRelayFeeSatPerKvB,
    feeRateSatPerKvB: opts.feeRateSatPerKvB,
    now: opts.now,
    fullRbf: opts.fullRbf,
  };
  let node: DevnetNode;
  let persister: Persister | null = null;
  if (opts.dataFile !== null) {
    const loaded = await loadNode(opts.dataFile, nodeOptions);
    node = loaded?.node ?? new DevnetNode(nodeOptions);
    opts.log({
      event: 'devnet.loaded',
      dataFile: opts.dataFile,
      fresh: loaded === null,
      height: node.tip().height,
      droppedMempool: loaded?.dropped.length ?? 0,
      rejectedBlocks: loaded?.rejectedBlocks ?? [],
    });
    persister = new Persister(node, opts.dataFile, (err) =>
      opts.log({ event: 'devnet.persist_failed', error: String(err) }),
    );
    // Write the file now, so a fresh devnet has one from the start.
    persister.schedule();
    await persister.flush();
  } else {
    node = new DevnetNode(nodeOptions);
  }
  const server = await startRpcServer(node, {
    host: opts.host,
    port: opts.port,
    rpcUser: opts.rpcUser,
    rpcPassword: opts.rpcPassword,
    maxBodyBytes: opts.maxBodyBytes,
    allowRemote: opts.allowRemote,
    authFailureDelayMs: opts.authFailureDelayMs,
    log: opts.log,
  });
  const hostPart = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${hostPart}:${server.port}/`;
  opts.log({ event: 'devnet.started', url, height: node.tip().height });
  let closing: Promise<void> | null = null;
  return Object.freeze({
    url,
    rpcUser: opts.rpcUser,
    rpcPassword: opts.rpcPassword,
    node,
    close: () => {
      closing ??= (async () => {
        await server.close();
        await persister?.close();
        opts.log({ event: 'devnet.stopped' });
      })();
      return closing;
    },
  });
}

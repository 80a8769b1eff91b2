/**
 * The coordinator daemon's composition root, read top to bottom:
 *
 *   1. open      the database (migrations run at open) and the two secret key files
 *   2. chain     the backend: the embedded devnet (started here, spoken to over its JSON-RPC),
 *                Bitcoin Core, or Esplora — one ChainBackend; its network must match the config
 *   3. wallet    the 2-of-3 descriptor from the three enrolled devices
 *   4. devices   one DeviceLink per enrolled device (serial line, pinned link key)
 *   5. gateway   the watch index from the stored addresses and UTXOs, the tip follower, the
 *                SQL cursor; its consumer books deposits, UTXOs and confirmations
 *   6. pipeline  batch → sign → broadcast → confirm, every `payouts.pollMs`
 *   7. api       fastify on the configured address, with metrics shared with the pipeline
 *
 * `stop()` (SIGTERM/SIGINT in the CLI) stops accepting requests, lets the in-flight loop
 * iteration finish (a signing attempt in progress completes or is abandoned safely: its payout
 * stays in `signing` and is asked again after restart), closes the links, the node and the
 * database, and wipes the secret keys.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { SerialTransport } from '@keyline/wire-protocol/serial';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import pino from 'pino';
import { createApiLogger } from '../api/logger.js';
import { createMetrics } from '../api/metrics.js';
import { buildApi } from '../api/server.js';
import { BitcoindBackend } from '../chain/bitcoind-backend.js';
import { EsploraBackend } from '../chain/esplora-backend.js';
import type { ChainBackend } from '../chain/interface.js';
import { CoordinatorError } from '../errors.js';
import { Broadcaster } from '../gateway/broadcaster.js';
import { parseBroadcastConfig, parseFeeConfig, parseFollowerConfig } from '../gateway/config.js';
import { estimateFee } from '../gateway/fees.js';
import { ChainFollower } from '../gateway/follower.js';
import { OutpointIndex, ScriptIndex } from '../gateway/watch-index.js';
import { signWithdrawalIntent } from '../risk/intent.js';
import { addressToScript } from '../service/address.js';
import { handleBlockEvent } from '../service/chain-events.js';
import { KeylineService } from '../service/coordinator-service.js';
import { bumpStep, confirmStep, type PayoutDeps, runPipelineOnce } from '../service/payouts.js';
import { treasuryStep } from '../service/treasury.js';
import { DeviceLink, type OpenTransport } from '../signing/device-link.js';
import { apiKeyStore } from '../storage/api-keys.js';
import { type Database, openDatabase } from '../storage/database.js';
import { SqlGatewayStore } from '../storage/gateway-store.js';
import { payoutsInState } from '../storage/signing.js';
import { createPayoutVault } from '../vault/payout-vault.js';
import type { CoordinatorConfig } from './config.js';
import { readSecretKeyFile } from './key-files.js';
import { loadWallet } from './wallet-from-devices.js';

export interface RunningCoordinator {
  readonly api: FastifyInstance;
  /** `http://host:port` the API listens on. */
  readonly apiUrl: string;
  readonly backend: ChainBackend;
  /** The embedded devnet's RPC address, when the chain is devnet. */
  readonly devnetUrl: string | null;
  readonly db: Database;
  stop(): Promise<void>;
}

/** The part of @keyline/devnet the daemon uses (packages/devnet README). */
interface DevnetModule {
  startDevnet(options: {
    port?: number;
    rpcUser?: string;
    rpcPassword?: string;
    dataFile?: string;
  }): Promise<{ url: string; close(): Promise<void> }>;
}

export interface RunOptions {
  readonly logger?: Logger;
  readonly now?: () => number;
  /** How a device's line is opened (default: the serial port at its path). Tests inject pairs. */
  readonly openTransport?: OpenTransport;
}

async function openChain(config: CoordinatorConfig, log: Logger) {
  const c = config.chain;
  if (c.kind === 'devnet') {
    // Loaded only when configured: a production coordinator never starts a devnet node.
    const { startDevnet } = (await import('@keyline/devnet')) as unknown as DevnetModule;
    // Like Bitcoin Core, the embedded node's RPC password lives in a cookie file (0600) in the
    // data directory, rewritten at each start: `curl --user "$(cat devnet.cookie)" ...` works.
    const password = bytesToHex(randomBytes(32));
    const cookie = join(config.dataPath, 'devnet.cookie');
    rmSync(cookie, { force: true });
    writeFileSync(cookie, `__cookie__:${password}`, { mode: 0o600, flag: 'wx' });
    const devnet = await startDevnet({
      port: c.port,
      rpcUser: '__cookie__',
      rpcPassword: password,
      ...(c.dataFile === undefined
        ? {}
        : { dataFile: isAbsolute(c.dataFile) ? c.dataFile : join(config.dataPath, c.dataFile) }),
    });
    log.info({ event: 'devnet_started', url: devnet.url, cookie }, 'embedded devnet node started');
    const backend = BitcoindBackend.fromConfig({ url: devnet.url, cookieFile: cookie });
    return { backend, devnetUrl: devnet.url, close: () => devnet.close() };
  }
  if (c.kind === 'bitcoind') {
    const { kind: _kind, ...rest } = c;
    return { backend: BitcoindBackend.fromConfig(rest), devnetUrl: null, close: async () => {} };
  }
  const { kind: _esplora, ...esplora } = c;
  const backend = EsploraBackend.fromConfig({ ...esplora, network: config.network });
  return { backend, devnetUrl: null, close: async () => {} };
}

export async function runCoordinator(
  config: CoordinatorConfig,
  options: RunOptions = {},
): Promise<RunningCoordinator> {
  const log =
    options.logger ?? createApiLogger({ level: config.logLevel, stream: pino.destination(2) });
  const now = options.now ?? Date.now;

  // 1. open
  const database = await openDatabase(config.database);
  const db = database.db;
  const riskKey = readSecretKeyFile(config.keys.riskKeyFile, 'risk');
  const linkKey = readSecretKeyFile(config.keys.linkKeyFile, 'link');
  const cleanups: (() => Promise<void>)[] = [async () => database.close()];
  const wipe = () => {
    riskKey.fill(0);
    linkKey.fill(0);
  };
  try {
    // 2. chain
    const chain = await openChain(config, log);
    cleanups.unshift(chain.close);
    const backend = chain.backend;
    const network = await backend.network();
    if (network !== config.network) {
      throw new CoordinatorError(
        'BAD_CONFIG',
        `daemon/chain: expected a ${config.network} node, got ${network}`,
      );
    }

    // 3. wallet
    const { wallet, devices: enrolled } = await loadWallet(db, config.network);

    // 4. devices
    const links = enrolled.map(
      (d) =>
        new DeviceLink(
          {
            deviceId: d.id,
            serialPath: d.serialPath,
            baud: d.baud,
            linkPublicKey: d.linkPublicKey,
          },
          {
            coordinatorKey: linkKey,
            open:
              options.openTransport ??
              ((path, baud) => SerialTransport.open({ path, baudRate: baud })),
            now,
            signTimeoutMs: config.devices.signTimeoutMs,
            infoTimeoutMs: config.devices.infoTimeoutMs,
          },
        ),
    );
    cleanups.unshift(async () => {
      for (const l of links) await l.close();
    });

    // 5. gateway
    const scripts = new ScriptIndex();
    const outpoints = new OutpointIndex();
    let lastAddressId = 0n;
    const syncAddresses = async () => {
      const rows = await db
        .selectFrom('vault_addresses')
        .select(['id', 'script', 'branch', 'address_index'])
        .where('id', '>', lastAddressId)
        .orderBy('id')
        .execute();
      for (const r of rows) {
        scripts.add(new Uint8Array(r.script), `${r.branch}/${r.address_index}`);
        lastAddressId = BigInt(r.id);
      }
    };
    await syncAddresses();
    for (const u of await db
      .selectFrom('vault_utxos as u')
      .innerJoin('vault_addresses as a', 'a.id', 'u.address_id')
      .select(['u.txid', 'u.vout', 'u.value', 'a.script', 'a.branch', 'a.address_index'])
      .where('u.state', '!=', 'spent')
      .execute()) {
      outpoints.add({
        txid: u.txid,
        vout: Number(u.vout),
        value: BigInt(u.value),
        scriptPubKey: new Uint8Array(u.script),
        owner: `${u.branch}/${u.address_index}`,
        coinbase: false,
      });
    }
    // Our broadcast payouts: re-sent (the same bytes) until buried, and reported by the follower
    // when a block includes them (that records the payout's height; it settles at depth).
    const broadcaster = new Broadcaster(backend, parseBroadcastConfig({}));
    for (const p of await payoutsInState(db, 'broadcast')) {
      if (p.txid !== null && p.rawTx !== null) broadcaster.track(p.txid, p.rawTx);
    }
    let tip: number | null = null;
    const depositDeps = { risk: config.risk, confirmations: config.deposits.confirmations, now };
    const follower = new ChainFollower({
      backend,
      store: new SqlGatewayStore(db, now),
      scripts,
      outpoints,
      tracked: broadcaster,
      config: parseFollowerConfig({ ...config.gateway, network: config.network }),
      handler: (event, trx) =>
        handleBlockEvent(
          { ...depositDeps, backend, log: (e, f) => log.info({ event: e, ...f }) },
          event,
          trx,
        ),
      onTip: async (report) => {
        tip = report.processed?.height ?? null;
        await syncAddresses();
      },
      onRetry: (r) =>
        log.warn({
          event: 'gateway_retry',
          attempt: r.attempt,
          delayMs: r.delayMs,
          error: String(r.error),
        }),
    });

    // 6. pipeline
    const service = new KeylineService({
      db,
      network: config.network,
      risk: config.risk,
      wallet,
      deposits: depositDeps,
      now,
      devices: () => links,
      chainTip: () => tip,
      log: (e, f) => log.info({ event: e, ...f }),
    });
    const metrics = createMetrics(service);
    const fees = parseFeeConfig(config.fees);
    const payoutDeps: PayoutDeps = {
      db,
      vault: createPayoutVault({
        wallet,
        now: () => new Date(now()),
        limits: {
          minConfirmationsDeposit: config.payouts.minConfirmationsDeposit,
          minConfirmationsChange: config.payouts.minConfirmationsChange,
        },
      }),
      chain: {
        broadcast: async (raw) => {
          const txid = await backend.broadcast(raw);
          broadcaster.track(txid, raw);
          return txid;
        },
        tipHeight: async () => tip ?? (await backend.tip()).height,
        feeRate: async () =>
          (await estimateFee(backend, fees, config.payouts.feeTargetBlocks)).satPerKvB,
      },
      devices: () => links,
      walletName: config.wallet.name,
      signIntent: (content) => signWithdrawalIntent(content, riskKey),
      now,
      intentTtlSeconds: config.payouts.intentTtlSeconds,
      maxBatch: config.payouts.maxBatch,
      confirmations: config.payouts.confirmations,
      observeSigning: (seconds, outcome) =>
        metrics.observeSigningLatency(seconds, outcome as never),
      log: (e, f) => log.info({ event: e, ...f }),
    };
    const abort = new AbortController();
    const loops: Promise<void>[] = [];
    const every = (name: string, ms: number, fn: () => Promise<void>) =>
      loops.push(
        (async () => {
          while (!abort.signal.aborted) {
            try {
              await fn();
            } catch (e) {
              log.error({
                event: `${name}_failed`,
                error: e instanceof Error ? e.message : String(e),
              });
            }
            await new Promise<void>((resolve) => {
              const done = () => {
                clearTimeout(t);
                abort.signal.removeEventListener('abort', done);
                resolve();
              };
              const t = setTimeout(done, ms);
              abort.signal.addEventListener('abort', done, { once: true });
            });
          }
        })(),
      );
    loops.push(
      follower.run(abort.signal).catch((e: unknown) => {
        log.fatal({ event: 'gateway_stopped', error: e instanceof Error ? e.message : String(e) });
      }),
    );
    const hotWallet = config.hotWallet;
    const treasury =
      hotWallet === undefined
        ? null
        : {
            db,
            thresholds: {
              refillBelow: hotWallet.lowMark,
              target: (hotWallet.lowMark + hotWallet.highMark) / 2n,
              sweepAbove: hotWallet.highMark,
            },
            coldScript: addressToScript(config.network, hotWallet.coldAddress),
            now,
            log: (e: string, f: Record<string, unknown>) => log.info({ event: e, ...f }),
          };
    // Ask every device once before the first payout: one that does not answer starts `offline`
    // and is tried after the armed ones (it would otherwise cost a whole signing timeout).
    await Promise.all(links.map((l) => l.refresh()));
    every('pipeline', config.payouts.pollMs, async () => {
      if (treasury !== null && tip !== null) await treasuryStep(treasury);
      await runPipelineOnce(payoutDeps);
      await bumpStep(payoutDeps, { afterMs: config.payouts.bumpAfterMinutes * 60_000 });
      for (const e of await broadcaster.tick()) {
        if (e.type === 'conflict' || e.type === 'gave_up') {
          log.error({ event: `broadcast_${e.type}`, txid: e.txid, reason: e.reason });
        } else if (e.type === 'sent' && !e.first) {
          log.info({ event: 'rebroadcast', txid: e.txid });
        }
      }
      if (tip !== null) await confirmStep(payoutDeps, tip);
    });
    every('devices', 10_000, async () => {
      for (const l of links) {
        const r = await l.refresh();
        await db
          .updateTable('devices')
          .set({
            state: r.state,
            last_seen: l.lastSeen === null ? null : BigInt(l.lastSeen),
            policy_version: r.policyVersion === null ? null : BigInt(r.policyVersion),
          })
          .where('id', '=', l.deviceId)
          .execute();
      }
    });

    // 7. api
    const api = buildApi({
      service,
      keys: apiKeyStore(db, () => new Date(now())),
      metrics,
      logger: { level: config.logLevel, stream: pino.destination(2) },
      limits: {
        bodyLimitBytes: config.api.bodyLimitBytes,
        rateLimit: { max: config.api.rateLimit.max, timeWindowMs: config.api.rateLimit.windowMs },
        metricsPublic: config.api.metricsPublic,
      },
    });
    const address = await api.listen({ host: config.api.host, port: config.api.port });
    log.info(
      { event: 'coordinator_started', api: address, network, devices: links.length },
      'coordinator serving',
    );

    let stopping: Promise<void> | null = null;
    return {
      api,
      apiUrl: address,
      backend,
      devnetUrl: chain.devnetUrl,
      db: database,
      stop: () => {
        stopping ??= (async () => {
          log.info({ event: 'coordinator_stopping' });
          await api.close();
          abort.abort();
          // Close the device lines first: a signing call in flight (maybe to a dead device,
          // waiting out its timeout) fails at once; its payout stays `signing` and is asked again
          // after the restart, with the same PSBT.
          // Bounded: a line whose device is gone may not close cleanly; the process is ending.
          await Promise.all(
            links.map((l) =>
              Promise.race([l.close(), new Promise<void>((r) => setTimeout(r, 2_000).unref())]),
            ),
          );
          await Promise.allSettled(loops);
          for (const c of cleanups) await c().catch(() => undefined);
          wipe();
          log.info({ event: 'coordinator_stopped' });
        })();
        return stopping;
      },
    };
  } catch (e) {
    for (const c of cleanups) await c().catch(() => undefined);
    wipe();
    throw e;
  }
}

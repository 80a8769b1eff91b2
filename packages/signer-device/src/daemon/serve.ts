/**
 * `keyline-signer serve`: the composition root of the device daemon. In this order:
 *
 *   1. refuse a debugger (before any secret exists); block SIGUSR1 (it would open the inspector)
 *   2. load the configuration file with the CLI overrides (validated, deep-frozen)
 *   3. logger (JSON lines on stderr, sanitized), lifecycle (signals, crash handlers) installed
 *   4. read the device key file (public part), build the Signer on the state directory
 *   5. the holder's passphrase on the console (or the test-only passphrase file) → unlock
 *   6. print the activation challenge on the console (a second holder signs it elsewhere)
 *   7. open the serial port, serve the coordinator: Noise KK with the device's link static key
 *      (from the unlocked key file) and the coordinator key pinned in the configuration
 *
 * Shutdown (SIGTERM/SIGINT, a closed serial line): new RPCs refused, in-flight ones drained, then
 * the async hooks in reverse registration order — stop serving → close the link → close the
 * Signer (audit `lock`, wipe the key and the stores' key copies) — then the synchronous wipe
 * hooks. docs/daemon.md §6.
 */
import {
  type DeviceEndpoint,
  isWireError,
  type MethodName,
  type RpcHandler,
  type RpcHandlers,
  serveCoordinator,
} from '@keyline/wire-protocol';
import { SerialTransport } from '@keyline/wire-protocol/serial';
import { formatActivationDisplay } from '../device/activation-display.js';
import { signerHandlers, toWireError } from '../device/handlers.js';
import { Signer } from '../device/signer.js';
import { signerConfigFromDaemon } from '../device/signer-config.js';
import { isSignerError, SignerError } from '../errors.js';
import { readKeyFile } from '../keystore/key-file.js';
import type { KdfPolicy, KeyFile } from '../keystore/key-file-format.js';
import { releaseSecret } from '../keystore/secrets.js';
import { type ConfigOverrides, type DaemonConfig, loadConfigFile, pinnedKeys } from './config.js';
import { readConsolePassphrase, readPassphraseFile } from './console-passphrase.js';
import { assertNoDebugger, blockInspectorSignal } from './debugger-guard.js';
import { Lifecycle, type ProcessPort } from './lifecycle.js';
import { createLogger, type DaemonLogger, type LogDestination } from './logger.js';

export const SERVE_LIMITS = Object.freeze({
  /** Passphrase attempts on the console before the daemon gives up (a file gets one). */
  consolePassphraseAttempts: 3,
});

const PLACE = 'daemon/serve';

/** Where the challenge and operator notices go: the device's own console (stdout). */
export interface ConsoleWriter {
  write(text: string): unknown;
}

export interface ServeOptions {
  /** The JSON configuration file (docs/daemon.md §1). */
  readonly configPath: string;
  /** CLI overrides: port, baud, keyFile, stateDir, passphraseFile, logLevel. */
  readonly overrides?: ConfigOverrides;
  /** First start of a new device only: create the audit log when it is missing. */
  readonly provision?: boolean;
  /** TESTS ONLY: accept a key file sealed with scrypt N = 2^10. Refused on mainnet. */
  readonly insecureTestKdf?: boolean;
  /** Default: process.stdout. */
  readonly console?: ConsoleWriter;
  /** Default: the controlling terminal, echo off (`readConsolePassphrase`). */
  readonly readPassphrase?: (prompt: string, signal: AbortSignal) => Promise<Uint8Array>;
  /** Default: the real process (signals, exit). */
  readonly process?: ProcessPort;
  /** Default: stderr, synchronous. */
  readonly logDestination?: LogDestination;
}

export interface ServingDaemon {
  readonly config: DaemonConfig;
  readonly signer: Signer;
  readonly lifecycle: Lifecycle;
  readonly endpoint: DeviceEndpoint;
  readonly logger: DaemonLogger;
}

function checkOptions(options: ServeOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new SignerError('BAD_CONFIG', `${PLACE}: expected options, got ${typeof options}`);
  }
  if (typeof options.configPath !== 'string' || options.configPath.length === 0) {
    throw new SignerError(
      'BAD_CONFIG',
      `${PLACE}: expected configPath a non-empty path, got ${typeof options.configPath}`,
    );
  }
}

/**
 * Each RPC runs as one lifecycle work unit (refused once shutdown began, drained before the
 * Signer closes) and is logged by method, request id and outcome — never its parameters or
 * result. A refusal logs its code and wire data (codes, positions, rule): no values.
 */
export function guardedHandlers(
  inner: RpcHandlers,
  lifecycle: Lifecycle,
  log: DaemonLogger,
): RpcHandlers {
  const wrap =
    <M extends MethodName>(method: M): RpcHandler<M> =>
    async (params, ctx) => {
      const handler: RpcHandler<M> = inner[method];
      log.debug({ method, id: ctx.id }, 'rpc start');
      try {
        const result = await lifecycle.run(method, () => handler(params, ctx));
        log.info({ method, id: ctx.id, outcome: 'ok' }, 'rpc');
        return result;
      } catch (e) {
        const mapped = isSignerError(e) ? toWireError(e) : e;
        if (isWireError(mapped)) {
          log.warn({ method, id: ctx.id, outcome: mapped.code, data: mapped.data ?? null }, 'rpc');
        } else {
          // Not ours: its message is not reviewed for what it may quote; the name only.
          const type = mapped instanceof Error ? mapped.name : typeof mapped;
          log.error({ method, id: ctx.id, outcome: 'INTERNAL', type }, 'rpc');
        }
        throw mapped;
      }
    };
  return Object.freeze({
    ping: wrap('ping'),
    get_info: wrap('get_info'),
    get_xpub: wrap('get_xpub'),
    unlock_status: wrap('unlock_status'),
    activate: wrap('activate'),
    register_wallet: wrap('register_wallet'),
    update_policy: wrap('update_policy'),
    sign_psbt: wrap('sign_psbt'),
    pause: wrap('pause'),
    resume: wrap('resume'),
    get_audit_log: wrap('get_audit_log'),
    lock: wrap('lock'),
  });
}

interface PassphraseSource {
  readonly kind: 'file' | 'console';
  read(signal: AbortSignal): Promise<Uint8Array>;
}

function passphraseSource(config: DaemonConfig, options: ServeOptions): PassphraseSource {
  const file = config.passphraseFile;
  if (file !== undefined) {
    return { kind: 'file', read: async () => readPassphraseFile(file) };
  }
  const prompt = `Passphrase of the device key ${config.deviceId}: `;
  const read =
    options.readPassphrase ?? ((p: string, signal) => readConsolePassphrase({ prompt: p, signal }));
  return { kind: 'console', read: (signal) => read(prompt, signal) };
}

/**
 * Unlock with the holder's passphrase: a wrong one may be retyped on the console (at most
 * `consolePassphraseAttempts` times); a passphrase file gets one try. Every buffer is wiped.
 */
async function unlockSigner(
  signer: Signer,
  keyFile: KeyFile,
  source: PassphraseSource,
  held: { passphrase: Uint8Array | null },
  out: ConsoleWriter,
  log: DaemonLogger,
  signal: AbortSignal,
): Promise<void> {
  const attempts = source.kind === 'file' ? 1 : SERVE_LIMITS.consolePassphraseAttempts;
  for (let attempt = 1; ; attempt += 1) {
    const passphrase = await source.read(signal);
    held.passphrase = passphrase;
    try {
      await signer.unlock(keyFile, passphrase);
      log.info({ source: source.kind, state: signer.state }, 'unlocked');
      return;
    } catch (e) {
      if (isSignerError(e, 'WRONG_PASSPHRASE') && attempt < attempts) {
        log.warn({ attempt, of: attempts }, 'wrong passphrase');
        out.write('Wrong passphrase, try again.\n');
        continue;
      }
      throw e;
    } finally {
      passphrase.fill(0);
      held.passphrase = null;
    }
  }
}

/** The challenge of the pending activation, as the console shows it. */
async function showActivation(signer: Signer, out: ConsoleWriter): Promise<void> {
  const status = await signer.unlockStatus();
  if (status.activation === null) return;
  const text = formatActivationDisplay({
    deviceId: signer.config.deviceId,
    challenge: Uint8Array.from(status.activation.challenge),
    bootNonce: Uint8Array.from(status.activation.bootNonce),
    expiresAt: status.activation.expiresAt,
  });
  out.write(
    `\n${text}\n\nA second key holder signs this challenge (keyline-signer sign-activation);\n` +
      'the coordinator delivers it with `activate`. `unlock_status` shows a fresh one after expiry.\n\n',
  );
}

async function openSerial(config: DaemonConfig): Promise<SerialTransport> {
  try {
    return await SerialTransport.open({ path: config.port, baudRate: config.baud });
  } catch (e) {
    const why = isWireError(e) ? e.message : 'an error';
    throw new SignerError(
      'IO',
      `${PLACE}: expected to open the serial port ${config.port} at ${config.baud} baud, got ${why}`,
      { reason: 'serial' },
      { cause: e },
    );
  }
}

/**
 * Start the daemon: returns once it serves the coordinator. It then runs until a signal (or a
 * closed serial line); the lifecycle exits the process. A failure before serving releases
 * everything (Signer locked, port closed, handlers removed) and throws the SignerError.
 */
export async function serve(options: ServeOptions): Promise<ServingDaemon> {
  assertNoDebugger();
  checkOptions(options);
  const config = await loadConfigFile(options.configPath, options.overrides ?? {});
  if (options.insecureTestKdf === true && config.network === 'mainnet') {
    throw new SignerError(
      'BAD_CONFIG',
      `${PLACE}: expected the insecure test KDF only off mainnet, got it with network mainnet`,
    );
  }
  const out = options.console ?? process.stdout;
  const logger = createLogger({
    level: config.logLevel,
    base: { deviceId: config.deviceId },
    ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
  });
  blockInspectorSignal(process, () => logger.warn({ signal: 'SIGUSR1' }, 'inspector refused'));
  const lifecycle = new Lifecycle({
    logger,
    ...(options.process === undefined ? {} : { process: options.process }),
  });
  lifecycle.install();
  const provision = options.provision === true;
  const kdf: KdfPolicy = options.insecureTestKdf === true ? { allowWeakKdfForTests: true } : {};
  logger.info(
    {
      network: config.network,
      port: config.port,
      baud: config.baud,
      keyFile: config.keyFile,
      stateDir: config.stateDir,
      provision,
      testKdf: options.insecureTestKdf === true,
      unlockFrom: config.passphraseFile === undefined ? 'console' : 'file',
    },
    'starting',
  );

  let signer: Signer | undefined;
  let transport: SerialTransport | undefined;
  const held: { passphrase: Uint8Array | null } = { passphrase: null };
  try {
    const keyFile = await readKeyFile(config.keyFile, kdf);
    const device = new Signer({
      config: signerConfigFromDaemon(config, config.ownHolderKeyId),
      keyFile,
      stateDir: config.stateDir,
      provision,
      kdf,
    });
    signer = device;
    // Registered first, so it runs last: after the RPC server stopped and the link closed.
    lifecycle.onShutdown('signer', () => device.close());
    lifecycle.onWipe('passphrase', () => held.passphrase?.fill(0));
    lifecycle.onWipe('signer-keys', () => device.wipeNow());
    const source = passphraseSource(config, options);
    await lifecycle.run('unlock', (signal) =>
      unlockSigner(device, keyFile, source, held, out, logger, signal),
    );
    await showActivation(device, out);

    const serial = await openSerial(config);
    transport = serial;
    const identity = device.linkIdentity();
    if (identity === null) {
      throw new SignerError('LOCKED', `${PLACE}: expected an unlocked signer, got a locked one`);
    }
    let endpoint: DeviceEndpoint;
    try {
      endpoint = serveCoordinator(
        serial,
        {
          staticPrivateKey: identity.privateKey,
          remoteStaticPublicKey: pinnedKeys(config).coordinatorLinkKey,
        },
        guardedHandlers(signerHandlers(device), lifecycle, logger),
      );
    } finally {
      // The session keeps its own copy (wiped when the session closes); ours goes now.
      releaseSecret(identity.privateKey);
    }
    lifecycle.onShutdown('link', () => endpoint.close());
    lifecycle.onShutdown('rpc', () => endpoint.server.close());
    // Synchronous: the session's close wipes its static key and session keys before any await.
    lifecycle.onWipe('link-session', () => void endpoint.session.close());
    serial.onClose((error) => {
      if (lifecycle.closing) return;
      logger.error({ port: config.port, type: error?.name ?? null }, 'serial line closed');
      void lifecycle.shutdown('serial line closed');
    });
    logger.info({ port: config.port, baud: config.baud, state: device.state }, 'serving');
    out.write(`Serving the coordinator on ${config.port} (${config.baud} baud).\n`);
    return Object.freeze({ config, signer: device, lifecycle, endpoint, logger });
  } catch (e) {
    held.passphrase?.fill(0);
    await transport?.close().catch(() => undefined);
    await signer?.close().catch(() => undefined);
    lifecycle.uninstall();
    logger.error({ err: isSignerError(e) ? e : null }, 'start failed');
    throw e;
  }
}

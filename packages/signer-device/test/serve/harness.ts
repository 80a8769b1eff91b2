/**
 * Process-level harness for `keyline-signer serve`: a provisioned deployment on disk (key files,
 * passphrase files, configuration), the daemon spawned as a child process from source (tsx) on
 * one end of a real pty pair (socat), and the coordinator side (SerialTransport + connectToDevice)
 * on the other end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CoordinatorEndpoint,
  connectToDevice,
  generateStaticKeyPair,
  type StaticKeyPair,
} from '@keyline/wire-protocol';
import { SerialTransport } from '@keyline/wire-protocol/serial';
import { createPtyPair, type PtyPair } from '@keyline/wire-protocol/testing';
import { bytesToHex } from '@noble/hashes/utils.js';
import { signActivation } from '../../src/device/activation.js';
import { writeKeyFile } from '../../src/keystore/key-file.js';
import { DEVICE_IDS, type Deployment, setupDeployment } from '../flow/fixtures.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_DIR = join(HERE, '..', '..');
export const ENTRY = join(HERE, 'entry.ts');
/** Upper bound on waiting for the daemon (a hang guard, not a timing assertion). */
export const WAIT_MS = 20_000;

export interface DaemonSetup {
  readonly d: Deployment;
  readonly coordinator: StaticKeyPair;
  /** Config file path per device index. */
  config(i: number): string;
  stateDir(i: number): string;
  linkPublicKey(i: number): Uint8Array;
}

/** Deployment + key files (0600), passphrase files (0600) and one config file per device. */
export async function setupDaemons(label: string): Promise<DaemonSetup> {
  const d = await setupDeployment(`serve-${label}`);
  const coordinator = generateStaticKeyPair();
  const pin = (k: { keyId: string; publicKey: Uint8Array }) => ({
    keyId: k.keyId,
    publicKey: bytesToHex(k.publicKey),
  });
  for (const [i, kit] of d.devices.entries()) {
    const keyFile = join(d.dir, `${kit.id}-key.json`);
    await writeKeyFile(keyFile, kit.ceremony.keyFile);
    const passphraseFile = join(d.dir, `${kit.id}-pass.txt`);
    await writeFile(passphraseFile, `${kit.passphrase}\n`, { mode: 0o600 });
    const config = {
      port: '/dev/null-replaced-by-port-override',
      baud: 115200,
      keyFile,
      stateDir: join(d.dir, kit.id),
      network: 'regtest',
      deviceId: DEVICE_IDS[i],
      coordinatorLinkKey: bytesToHex(coordinator.publicKey),
      holders: d.holders.map(pin),
      officers: d.officers.map(pin),
      officerThreshold: 2,
      activationTtlSeconds: 900,
      changeWindow: 100,
      refusalLockout: { max: 20, windowSeconds: 3600 },
      passphraseFile,
      logLevel: 'debug',
    };
    await writeFile(join(d.dir, `${kit.id}-config.json`), JSON.stringify(config, null, 2));
  }
  return {
    d,
    coordinator,
    config: (i) => join(d.dir, `${d.devices[i]?.id}-config.json`),
    stateDir: (i) => join(d.dir, d.devices[i]?.id ?? 'none'),
    linkPublicKey: (i) => Uint8Array.from(d.devices[i]?.ceremony.linkPublicKey ?? []),
  };
}

export interface Daemon {
  readonly child: ChildProcess;
  readonly pty: PtyPair;
  stdout(): string;
  stderr(): string;
  /** The JSON log lines written so far. */
  logs(): Record<string, unknown>[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(msg: string): Promise<Record<string, unknown>>;
  /** Coordinator side on the other pty end. */
  connect(): Promise<CoordinatorEndpoint>;
  /** Kill (SIGKILL) if still running, close the pty pair. */
  dispose(): Promise<void>;
}

function parseLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a partial line at the end
    }
  }
  return out;
}

/** Spawn `node --import tsx entry.ts serve --config … --port <pty B> --insecure-test-kdf …`. */
export async function startDaemon(
  s: DaemonSetup,
  i: number,
  extra: { args?: string[]; nodeArgs?: string[]; env?: Record<string, string> } = {},
): Promise<Daemon> {
  const pty = await createPtyPair();
  const child = spawn(
    process.execPath,
    [
      ...(extra.nodeArgs ?? []),
      '--import',
      'tsx',
      ENTRY,
      'serve',
      '--config',
      s.config(i),
      '--port',
      pty.pathB,
      '--insecure-test-kdf',
      ...(extra.args ?? []),
    ],
    {
      cwd: PACKAGE_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', ...extra.env },
    },
  );
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (t: string) => {
    out += t;
  });
  child.stderr?.setEncoding('utf8').on('data', (t: string) => {
    err += t;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const waitForLog = async (msg: string): Promise<Record<string, unknown>> => {
    const start = Date.now();
    for (;;) {
      const hit = parseLines(err).find((l) => l.msg === msg);
      if (hit !== undefined) return hit;
      if (done || Date.now() - start > WAIT_MS) {
        throw new Error(
          `daemon: no log "${msg}"; exited=${done}; stderr:\n${err}\nstdout:\n${out}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const endpoints: CoordinatorEndpoint[] = [];
  return {
    child,
    pty,
    stdout: () => out,
    stderr: () => err,
    logs: () => parseLines(err),
    exited,
    waitForLog,
    connect: async () => {
      const transport = await SerialTransport.open({ path: pty.pathA, baudRate: 115200 });
      const endpoint = connectToDevice(
        transport,
        { staticPrivateKey: s.coordinator.privateKey, remoteStaticPublicKey: s.linkPublicKey(i) },
        { rpc: { defaultTimeoutMs: WAIT_MS } },
      );
      endpoints.push(endpoint);
      return endpoint;
    },
    dispose: async () => {
      if (!done) child.kill('SIGKILL');
      await exited;
      for (const e of endpoints) await e.close().catch(() => undefined);
      await pty.close();
    },
  };
}

/** unlock_status → the challenge → signed by the next holder (not the device's own) → activate. */
export async function activateOver(s: DaemonSetup, i: number, e: CoordinatorEndpoint) {
  const status = await e.client.call('unlock_status', {});
  if (status.activation === null) throw new Error('no challenge');
  const holder = s.d.holders[(i + 1) % 3];
  if (holder === undefined) throw new Error('no holder');
  const signed = signActivation(
    { deviceId: DEVICE_IDS[i] ?? '', ...status.activation },
    { keyId: holder.keyId, sign: (m) => holder.sign(m) },
  );
  return e.client.call('activate', { activation: signed });
}

export { leaks, secretsOf } from '../helpers/key-leaks.js';

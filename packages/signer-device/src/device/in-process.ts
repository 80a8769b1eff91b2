/**
 * The in-process library entry: a Signer unlocked from a key file, and the real four-layer stack
 * (link, Noise KK session, RPC) between it and a coordinator client over an in-memory transport
 * pair. Used by tests and by an embedded demo; the daemon uses the same Signer and handlers over a
 * serial transport instead.
 */
import {
  connectToDevice,
  createMemoryTransportPair,
  type EndpointOptions,
  generateStaticKeyPair,
  type RpcClient,
  type RpcClientOptions,
  type StaticKeyPair,
  serveCoordinator,
} from '@keyline/wire-protocol';
import { SignerError } from '../errors.js';
import { readKeyFile } from '../keystore/key-file.js';
import type { KdfPolicy, KeyFile } from '../keystore/key-file-format.js';
import type { Fs } from '../state/fs.js';
import type { RandomBytes } from './activation.js';
import { signerHandlers } from './handlers.js';
import { Signer } from './signer.js';
import type { SignerConfigInput } from './signer-config.js';

export interface CreateSignerOptions {
  /** A key file path (read and parsed strictly) or an already parsed device key file. */
  readonly keyFile: string | KeyFile;
  /** The holder's passphrase; consumed (zeroed) whatever happens. */
  readonly passphrase: Uint8Array;
  readonly stateDir: string;
  readonly config: SignerConfigInput;
  /** Monotonic milliseconds since boot (default: performance.now()). */
  readonly clock?: () => number;
  readonly random?: RandomBytes;
  /** Create the audit log if missing: the first start of a provisioned device only. */
  readonly provision?: boolean;
  readonly kdf?: KdfPolicy;
  readonly auditPath?: string;
  readonly fs?: Fs;
}

/** A Signer, unlocked (state `unlocked`: a second holder's activation arms it). */
export async function createSigner(options: CreateSignerOptions): Promise<Signer> {
  let file: KeyFile;
  try {
    file =
      typeof options.keyFile === 'string'
        ? await readKeyFile(options.keyFile, options.kdf ?? {})
        : options.keyFile;
  } catch (e) {
    options.passphrase?.fill?.(0);
    throw e;
  }
  let signer: Signer;
  try {
    signer = new Signer({
      config: options.config,
      keyFile: file,
      stateDir: options.stateDir,
      ...(options.auditPath === undefined ? {} : { auditPath: options.auditPath }),
      ...(options.provision === undefined ? {} : { provision: options.provision }),
      ...(options.clock === undefined ? {} : { monotonicMs: options.clock }),
      ...(options.random === undefined ? {} : { random: options.random }),
      ...(options.fs === undefined ? {} : { fs: options.fs }),
      ...(options.kdf === undefined ? {} : { kdf: options.kdf }),
    });
  } catch (e) {
    options.passphrase?.fill?.(0);
    throw e;
  }
  await signer.unlock(file, options.passphrase);
  return signer;
}

export interface InProcessLink {
  readonly client: RpcClient;
  /** The coordinator's static key pair (pinned by the device end of this link). */
  readonly coordinator: StaticKeyPair;
  /** The device's link public key (from the key file's link identity). */
  readonly deviceLinkPublicKey: Uint8Array;
  close(): Promise<void>;
}

export interface ConnectOptions {
  readonly coordinator?: StaticKeyPair;
  readonly rpc?: Partial<RpcClientOptions>;
  readonly endpoint?: EndpointOptions;
}

/**
 * Serve `signer` over the real stack in this process. The device end uses the link identity of
 * the unlocked key (its private half is a registered secret, wiped by `lock()`); the coordinator
 * end pins the device's link public key.
 */
export function connectInProcess(signer: Signer, options: ConnectOptions = {}): InProcessLink {
  const identity = signer.linkIdentity();
  if (identity === null) {
    throw new SignerError(
      'LOCKED',
      'in-process/connect: expected an unlocked signer (the link key is in the key file), got a locked one',
    );
  }
  const coordinator = options.coordinator ?? generateStaticKeyPair();
  const [coordinatorEnd, deviceEnd] = createMemoryTransportPair();
  const device = serveCoordinator(
    deviceEnd,
    {
      staticPrivateKey: identity.privateKey,
      remoteStaticPublicKey: coordinator.publicKey,
    },
    signerHandlers(signer),
    options.endpoint ?? {},
  );
  const endpoint = connectToDevice(
    coordinatorEnd,
    { staticPrivateKey: coordinator.privateKey, remoteStaticPublicKey: identity.publicKey },
    { ...(options.endpoint ?? {}), ...(options.rpc === undefined ? {} : { rpc: options.rpc }) },
  );
  return Object.freeze({
    client: endpoint.client,
    coordinator,
    deviceLinkPublicKey: Uint8Array.from(identity.publicKey),
    close: async () => {
      await endpoint.close();
      await device.close();
    },
  });
}

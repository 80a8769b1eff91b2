import { sha256 } from '@noble/hashes/sha2.js';
import {
  type CoordinatorEndpoint,
  connectToDevice,
  type DeviceEndpoint,
  type EndpointOptions,
  serveCoordinator,
} from '../../src/endpoint.js';
import { WireError } from '../../src/errors.js';
import { generateStaticKeyPair, type StaticKeyPair } from '../../src/keys.js';
import type { MethodParams, MethodResultInput } from '../../src/methods.js';
import type { RpcHandlers } from '../../src/rpc-server.js';
import type { Transport } from '../../src/transport.js';

/**
 * A stand-in device for wire tests, benchmarks and the link demo: it answers every method of the
 * table with well-formed data, and its `sign_psbt` reply is derived from the exact PSBT bytes it
 * received, so a caller can prove both directions arrived intact. It holds no key and signs
 * nothing; the real device is @keyline/signer-device.
 */
export const SIGNATURE_ENTRY_BYTES = 130; // approximate CBOR size of one {input, pubkey, signature}

export function expectedSignatures(
  psbt: Uint8Array,
  count: number,
): MethodResultInput<'sign_psbt'> {
  const digest = sha256(psbt);
  const signatures = [];
  for (let i = 0; i < count; i++) {
    const pubkey = new Uint8Array(33);
    pubkey[0] = 0x02;
    pubkey.set(digest, 1);
    const signature = new Uint8Array(72);
    for (let j = 0; j < 72; j++) signature[j] = (digest[j % 32] ?? 0) ^ (i & 0xff) ^ j;
    signatures.push({ input: i, pubkey, signature });
  }
  return { signatures, auditSeq: count };
}

/** How many signature entries make a reply of about `bytes` bytes. */
export function signaturesForReplyOf(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / SIGNATURE_ENTRY_BYTES));
}

export interface EchoDeviceOptions {
  /** Reply size of sign_psbt, as a number of signature entries; default: as many as make a reply as large as the PSBT. */
  replySignatures?: (params: MethodParams<'sign_psbt'>) => number;
  started?: number;
}

export function echoDeviceHandlers(options: EchoDeviceOptions = {}): RpcHandlers {
  const started = options.started ?? Date.now();
  const notHere = (method: string) => async () => {
    throw new WireError('UNINITIALIZED', `echo-device/${method}: this stand-in holds no key`);
  };
  return {
    ping: async ({ nonce }) => ({ nonce, uptimeMs: Date.now() - started }),
    get_info: async () => ({
      protocolVersion: 1,
      deviceId: 'echo-device',
      firmware: 'wire-test',
      network: 'regtest',
      state: 'uninitialized',
      fingerprint: null,
      policyVersion: null,
      wallets: 0,
    }),
    unlock_status: async () => ({ state: 'uninitialized', activation: null }),
    sign_psbt: async (params) =>
      expectedSignatures(
        params.psbt,
        options.replySignatures?.(params) ?? signaturesForReplyOf(params.psbt.length),
      ),
    get_xpub: notHere('get_xpub'),
    activate: notHere('activate'),
    register_wallet: notHere('register_wallet'),
    update_policy: notHere('update_policy'),
    pause: notHere('pause'),
    resume: notHere('resume'),
    get_audit_log: notHere('get_audit_log'),
    lock: notHere('lock'),
  };
}

export function signRequest(psbt: Uint8Array<ArrayBuffer>): MethodParams<'sign_psbt'> {
  return {
    wallet: 'wire-test',
    psbt,
    time: { unixSeconds: 1_700_000_000, height: 800_000 },
    intents: [],
  };
}

/** Deterministic pseudo-random bytes (not for keys): a PSBT-sized payload with every byte value. */
export function patternBytes(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export interface Pair {
  coordinator: CoordinatorEndpoint;
  device: DeviceEndpoint;
  keys: { coordinator: StaticKeyPair; device: StaticKeyPair };
  close(): Promise<void>;
}

/** Both ends of the four-layer stack over two transports, keys pinned to each other. */
export function openPair(
  coordinatorTransport: Transport,
  deviceTransport: Transport,
  options: EndpointOptions & { handlers?: RpcHandlers; timeoutMs?: number } = {},
): Pair {
  const keys = { coordinator: generateStaticKeyPair(), device: generateStaticKeyPair() };
  const device = serveCoordinator(
    deviceTransport,
    { staticPrivateKey: keys.device.privateKey, remoteStaticPublicKey: keys.coordinator.publicKey },
    options.handlers ?? echoDeviceHandlers(),
    options,
  );
  const coordinator = connectToDevice(
    coordinatorTransport,
    { staticPrivateKey: keys.coordinator.privateKey, remoteStaticPublicKey: keys.device.publicKey },
    { ...options, rpc: { defaultTimeoutMs: options.timeoutMs ?? 120_000 } },
  );
  return {
    coordinator,
    device,
    keys,
    close: async () => {
      await coordinator.close();
      await device.close();
    },
  };
}

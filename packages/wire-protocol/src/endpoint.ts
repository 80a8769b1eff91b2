import { Link, type LinkOptions } from './link.js';
import { RpcClient, type RpcClientOptions } from './rpc-client.js';
import { type RpcHandlers, RpcServer, type RpcServerOptions } from './rpc-server.js';
import { SecureSession, type SecureSessionOptions } from './session.js';
import type { Transport } from './transport.js';

/**
 * The composition of the four layers over one transport:
 *   Transport (bytes) -> Link (frames, reliable delivery) -> SecureSession (Noise KK) -> RPC.
 * The coordinator end initiates the handshake and holds an RpcClient; the device end responds
 * and holds an RpcServer. Closing tears the layers down from the top.
 */
export interface EndpointKeys {
  /** This end's static X25519 private key (32 bytes). */
  staticPrivateKey: Uint8Array;
  /** The peer's static X25519 public key, pinned at enrollment (32 bytes). */
  remoteStaticPublicKey: Uint8Array;
  /** Extra prologue bytes both ends must agree on (e.g. the network name). */
  prologue?: Uint8Array;
}

export interface EndpointOptions {
  link?: Partial<LinkOptions>;
  session?: Partial<Omit<SecureSessionOptions, 'role' | keyof EndpointKeys>>;
}

interface Layers {
  readonly transport: Transport;
  readonly link: Link;
  readonly session: SecureSession;
}

function stack(
  transport: Transport,
  role: 'initiator' | 'responder',
  keys: EndpointKeys,
  options: EndpointOptions,
): Layers {
  const link = new Link(transport, options.link);
  const session = new SecureSession(link, {
    ...options.session,
    role,
    staticPrivateKey: keys.staticPrivateKey,
    remoteStaticPublicKey: keys.remoteStaticPublicKey,
    ...(keys.prologue === undefined ? {} : { prologue: keys.prologue }),
  });
  link.start();
  return { transport, link, session };
}

async function closeLayers(layers: Layers): Promise<void> {
  await layers.session.close();
  await layers.link.close();
  await layers.transport.close();
}

export interface CoordinatorEndpoint extends Layers {
  readonly client: RpcClient;
  close(): Promise<void>;
}

/** The coordinator's end of a device link: initiates the session, sends requests. */
export function connectToDevice(
  transport: Transport,
  keys: EndpointKeys,
  options: EndpointOptions & { rpc?: Partial<RpcClientOptions> } = {},
): CoordinatorEndpoint {
  const layers = stack(transport, 'initiator', keys, options);
  const client = new RpcClient(layers.session, options.rpc);
  return { ...layers, client, close: () => closeLayers(layers) };
}

export interface DeviceEndpoint extends Layers {
  readonly server: RpcServer;
  close(): Promise<void>;
}

/** The device's end of the link: answers the handshake, serves requests one at a time. */
export function serveCoordinator(
  transport: Transport,
  keys: EndpointKeys,
  handlers: RpcHandlers,
  options: EndpointOptions & { rpc?: Partial<RpcServerOptions> } = {},
): DeviceEndpoint {
  const layers = stack(transport, 'responder', keys, options);
  const server = new RpcServer(layers.session, handlers, options.rpc);
  return { ...layers, server, close: () => closeLayers(layers) };
}

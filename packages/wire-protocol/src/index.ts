/**
 * @keyline/wire-protocol — how the coordinator and a signer device talk over a serial line.
 *
 *   Transport (bytes) -> Link (COBS frames, CRC-32C, reliable delivery)
 *     -> SecureSession (Noise KK) -> RPC (strict deterministic CBOR, chunked, zod schemas)
 *
 * `SerialTransport` lives in its own entry point (`@keyline/wire-protocol/serial`) so that only
 * code that opens a real port loads `serialport`; test tools are in `@keyline/wire-protocol/testing`.
 * PROTOCOL.md documents every layer byte by byte.
 */

export { decodeStrict, encodeCanonical } from './cbor.js';
export { type CborLimits, checkStrictCbor, DEFAULT_CBOR_LIMITS } from './cbor-check.js';
export type { ChannelEvents, MessageChannel } from './channel.js';
export {
  type CoordinatorEndpoint,
  connectToDevice,
  type DeviceEndpoint,
  type EndpointKeys,
  type EndpointOptions,
  serveCoordinator,
} from './endpoint.js';
export {
  ERROR_CODES,
  type ErrorKind,
  type ErrorName,
  errorNameOf,
  isWireError,
  WireError,
} from './errors.js';
export { MAX_PAYLOAD } from './frame.js';
export { generateStaticKeyPair, keysEqual, publicKeyOf, type StaticKeyPair } from './keys.js';
export { DEFAULT_LINK_OPTIONS, Link, type LinkOptions, type LinkStats } from './link.js';
export { createMemoryTransportPair } from './memory-transport.js';
export * from './methods.js';
export {
  type CallOptions,
  DEFAULT_RPC_CLIENT_OPTIONS,
  RpcClient,
  type RpcClientOptions,
} from './rpc-client.js';
export {
  DEFAULT_RPC_SERVER_OPTIONS,
  type RpcContext,
  type RpcHandler,
  type RpcHandlers,
  RpcServer,
  type RpcServerOptions,
} from './rpc-server.js';
export * from './schemas.js';
export {
  SESSION_DEFAULTS,
  SecureSession,
  type SecureSessionOptions,
  type SessionStats,
} from './session.js';
export { type ThrottleOptions, ThrottleTransport } from './throttle-transport.js';
export type { Transport } from './transport.js';

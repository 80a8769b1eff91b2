/** The demo's library imports, in one place. */
export { ThrottleTransport, type Transport } from '@keyline/wire-protocol';
export { SerialTransport } from '@keyline/wire-protocol/serial';
export {
  createPtyPair,
  type FaultStats,
  FaultTransport,
  type PtyPair,
} from '@keyline/wire-protocol/testing';
export { sha256 } from '@noble/hashes/sha2.js';
export { bytesToHex, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
export { base64, bech32 } from '@scure/base';
export { z } from 'zod';

import { afterEach, describe, expect, it } from 'vitest';
import { connectToDevice, serveCoordinator } from '../src/endpoint.js';
import { isWireError } from '../src/errors.js';
import { generateStaticKeyPair } from '../src/keys.js';
import { createMemoryTransportPair } from '../src/memory-transport.js';
import {
  echoDeviceHandlers,
  expectedSignatures,
  openPair,
  type Pair,
  patternBytes,
  signaturesForReplyOf,
  signRequest,
} from './helpers/stack.js';

// All four layers end to end over the in-memory transport pair.
describe('stack over memory transports', () => {
  let pair: Pair | undefined;
  afterEach(async () => {
    await pair?.close();
    pair = undefined;
  });

  it('round-trips a 100 KB request and a 100 KB reply', async () => {
    const [a, b] = createMemoryTransportPair();
    pair = openPair(a, b);
    const psbt = patternBytes(100 * 1024);
    const reply = await pair.coordinator.client.call('sign_psbt', signRequest(psbt));
    const want = expectedSignatures(psbt, signaturesForReplyOf(psbt.length));
    expect(reply.signatures.length).toBe(want.signatures.length);
    expect(reply).toEqual({ ...want, auditSeq: want.auditSeq });
    // Both directions crossed many frames and records.
    expect(pair.coordinator.link.stats.framesSent).toBeGreaterThan(200);
    expect(pair.device.link.stats.framesSent).toBeGreaterThan(200);
  });

  it('answers a device error with its code and keeps serving', async () => {
    const [a, b] = createMemoryTransportPair();
    pair = openPair(a, b);
    const err = await pair.coordinator.client.call('get_xpub', {}).catch((e: unknown) => e);
    expect(isWireError(err, 'UNINITIALIZED')).toBe(true);
    const pong = await pair.coordinator.client.call('ping', { nonce: new Uint8Array([1, 2, 3]) });
    expect(pong.nonce).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('refuses a coordinator whose static key the device did not pin', async () => {
    const [c, d] = createMemoryTransportPair();
    const deviceKeys = generateStaticKeyPair();
    const pinnedCoordinator = generateStaticKeyPair();
    const stranger = generateStaticKeyPair();
    const device = serveCoordinator(
      d,
      {
        staticPrivateKey: deviceKeys.privateKey,
        remoteStaticPublicKey: pinnedCoordinator.publicKey,
      },
      echoDeviceHandlers(),
    );
    const intruder = connectToDevice(
      c,
      { staticPrivateKey: stranger.privateKey, remoteStaticPublicKey: deviceKeys.publicKey },
      { rpc: { defaultTimeoutMs: 2000 } },
    );
    try {
      const err = await intruder.client
        .call('ping', { nonce: new Uint8Array(0) })
        .catch((e: unknown) => e);
      expect(isWireError(err, 'TIMEOUT')).toBe(true);
      expect(device.session.isUp).toBe(false);
      expect(device.session.stats.handshakeFailures).toBeGreaterThan(0);
      expect(device.server.stats.envelopes).toBe(0);
    } finally {
      await intruder.close();
      await device.close();
    }
  });
});

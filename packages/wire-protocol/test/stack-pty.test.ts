import { afterEach, describe, expect, it } from 'vitest';
import { FaultTransport } from '../src/fault-transport.js';
import { createPtyPair, type PtyPair } from '../src/pty-pair.js';
import { SerialTransport } from '../src/serial-transport.js';
import { ThrottleTransport } from '../src/throttle-transport.js';
import type { Transport } from '../src/transport.js';
import {
  expectedSignatures,
  openPair,
  type Pair,
  patternBytes,
  signaturesForReplyOf,
  signRequest,
} from './helpers/stack.js';

// All four layers over a real pseudo-terminal pair made by socat, opened on both ends with the
// real serialport binding (SerialTransport) — the path a Pi's UART takes, minus the cable.
describe('stack over a socat pty pair with the real serialport binding', () => {
  let pty: PtyPair | undefined;
  let pair: Pair | undefined;

  afterEach(async () => {
    await pair?.close();
    await pty?.close();
    pair = undefined;
    pty = undefined;
  });

  async function openPorts(): Promise<[SerialTransport, SerialTransport]> {
    pty = await createPtyPair();
    const a = await SerialTransport.open({ path: pty.pathA, baudRate: 115200 });
    const b = await SerialTransport.open({ path: pty.pathB, baudRate: 115200 });
    return [a, b];
  }

  async function roundTrip(size: number): Promise<void> {
    if (pair === undefined) throw new Error('test: no pair');
    const psbt = patternBytes(size, size);
    const reply = await pair.coordinator.client.call('sign_psbt', signRequest(psbt));
    expect(reply).toEqual(expectedSignatures(psbt, signaturesForReplyOf(psbt.length)));
  }

  it('carries a 100 KB request and a 100 KB reply, both directions', async () => {
    const [a, b] = await openPorts();
    pair = openPair(a, b);
    await roundTrip(100 * 1024);
    // The reply was about as large as the request: both directions carried ~100 KB.
    expect(pair.device.link.stats.bytesSent).toBeGreaterThan(100 * 1024);
    expect(pair.coordinator.link.stats.bytesSent).toBeGreaterThan(100 * 1024);
  });

  it('completes correctly through bit errors at 1e-4 on both receive sides', async () => {
    const [a, b] = await openPorts();
    const noisyA = new FaultTransport(a, { seed: 11, bitErrorRate: 1e-4 });
    const noisyB = new FaultTransport(b, { seed: 12, bitErrorRate: 1e-4 });
    pair = openPair(noisyA, noisyB);
    await roundTrip(100 * 1024);
    await roundTrip(100 * 1024);
    const flipped = noisyA.stats.bitsFlipped + noisyB.stats.bitsFlipped;
    expect(flipped).toBeGreaterThan(50);
    const retransmits =
      pair.coordinator.link.stats.retransmits + pair.device.link.stats.retransmits;
    expect(retransmits).toBeGreaterThan(0);
    // Errors were caught by the frame CRC, never by the session (which would tear it down).
    expect(pair.coordinator.session.stats.broken + pair.device.session.stats.broken).toBe(0);
  });

  it('works when both ends are paced like a 115200 8N1 UART', async () => {
    const [a, b] = await openPorts();
    const paced = (t: Transport) => new ThrottleTransport(t, { baudRate: 115200 });
    pair = openPair(paced(a), paced(b));
    await roundTrip(8 * 1024);
    const pong = await pair.coordinator.client.call('ping', { nonce: new Uint8Array([7]) });
    expect(pong.nonce).toEqual(new Uint8Array([7]));
  });

  it('recovers after the device end restarts: new link epoch, new session keys', async () => {
    const [a, b] = await openPorts();
    pair = openPair(a, b);
    await roundTrip(4 * 1024);
    const handshakesBefore = pair.coordinator.session.stats.handshakes;
    // The device process "reboots": its stack goes away and a fresh one opens the same port.
    await pair.device.session.close();
    await pair.device.link.close();
    const { serveCoordinator } = await import('../src/endpoint.js');
    const { echoDeviceHandlers } = await import('./helpers/stack.js');
    const reborn = serveCoordinator(
      b,
      {
        staticPrivateKey: pair.keys.device.privateKey,
        remoteStaticPublicKey: pair.keys.coordinator.publicKey,
      },
      echoDeviceHandlers(),
    );
    try {
      // The coordinator learns of the restart from the new link epoch and re-handshakes;
      // a call in flight across the restart fails with SESSION_CLOSED and is simply retried.
      const coordinatorSession = pair.coordinator.session;
      await new Promise<void>((resolve) => {
        const check = () => {
          if (coordinatorSession.stats.handshakes > handshakesBefore && coordinatorSession.isUp) {
            coordinatorSession.off('up', check);
            resolve();
          }
        };
        coordinatorSession.on('up', check);
        check();
      });
      const pong = await pair.coordinator.client.call('ping', { nonce: new Uint8Array([9]) });
      expect(pong.nonce).toEqual(new Uint8Array([9]));
      expect(pair.coordinator.session.stats.handshakes).toBeGreaterThan(handshakesBefore);
    } finally {
      await reborn.session.close();
      await reborn.link.close();
    }
  });
});

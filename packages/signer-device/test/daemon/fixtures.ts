import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { DaemonConfigInput } from '../../src/daemon/config.js';

/** A deterministic Ed25519 public key (hex) for test key `n`. */
export function testPublicKey(n: number): string {
  return bytesToHex(ed25519.getPublicKey(new Uint8Array(32).fill(n)));
}

interface PinnedFixture {
  keyId: string;
  publicKey: string;
}
export type ConfigFixture = Partial<DaemonConfigInput> &
  Record<string, unknown> & { holders: PinnedFixture[]; officers: PinnedFixture[] };

export function validConfig(): ConfigFixture {
  return {
    port: '/dev/ttyAMA0',
    baud: 115200,
    keyFile: '/var/lib/keyline/key.json',
    stateDir: '/var/lib/keyline/state',
    network: 'regtest',
    deviceId: 'signer-a',
    coordinatorLinkKey: 'ab'.repeat(32),
    holders: [
      { keyId: 'holder-a', publicKey: testPublicKey(1) },
      { keyId: 'holder-b', publicKey: testPublicKey(2) },
      { keyId: 'holder-c', publicKey: testPublicKey(3) },
    ],
    officers: [
      { keyId: 'officer-1', publicKey: testPublicKey(11) },
      { keyId: 'officer-2', publicKey: testPublicKey(12) },
      { keyId: 'officer-3', publicKey: testPublicKey(13) },
    ],
    officerThreshold: 2,
    activationTtlSeconds: 300,
    changeWindow: 1000,
    refusalLockout: { max: 5, windowSeconds: 3600 },
    logLevel: 'info',
  };
}

import type { DeviceMemory, SpendRecord } from '../../src/device-memory.js';
import { emptyMemory } from '../../src/device-memory.js';
import type { StateMark, StateWitness } from '../../src/state/state-store.js';

export const MAC_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff);
export const DIR = '/state';

export function hex64(n: number): string {
  return n.toString(16).padStart(64, '0');
}

export function spend(at: number, n: number, amount: bigint): SpendRecord {
  return {
    at,
    txid: hex64(n),
    amount,
    fee: 1_000n,
    outpoints: [`${hex64(n + 1000)}:0`],
    withdrawalIds: [`w-${n}`],
  };
}

/** A memory with a bit of everything, including an amount above 2^53. */
export function sampleMemory(): DeviceMemory {
  return {
    ...emptyMemory('regtest'),
    policyVersion: 3,
    policyHash: 'ab'.repeat(32),
    spends: [spend(1_000, 1, 2_100_000_000_000_000n), spend(1_100, 2, 5n)],
    withdrawals: {
      'w-1': {
        withdrawalId: 'w-1',
        txids: [hex64(1)],
        outpoints: [`${hex64(1001)}:0`],
        output: '0014aabb:2099999999999000',
        maxFee: 1_000n,
        replacements: 0,
      },
    },
    changeIndex: { cafe: 7 },
    lastTime: 1_100,
    lastHeight: 800_000,
  };
}

/** A witness that only lives in memory (for tests of the store alone). */
export class MemWitness implements StateWitness {
  mark: StateMark | null = null;
  failNext = false;
  lastStateGeneration(): StateMark | null {
    return this.mark;
  }
  async recordState(mark: StateMark): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw Object.assign(new Error('EIO'), { code: 'EIO' });
    }
    this.mark = mark;
  }
}

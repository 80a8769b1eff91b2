import type { AuditEvent } from '../../src/audit/audit-entry.js';
import { sha256Digest } from '../../src/audit/audit-entry.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { MemFs } from '../state/mem-fs.js';

export const SEED = Uint8Array.from({ length: 32 }, (_, i) => (i * 13 + 5) & 0xff);
export const PATH = '/state/audit.log';

/** One event of each kind, cycling with n. */
export function eventFor(n: number): AuditEvent {
  switch (n % 6) {
    case 0:
      return { kind: 'request', method: 'sign_psbt', params: Uint8Array.of(n & 0xff, 1, 2) };
    case 1:
      return {
        kind: 'decision',
        method: 'sign_psbt',
        outcome: n % 4 === 1 ? 'sign' : 'refuse',
        code: n % 4 === 1 ? null : 'POLICY_REFUSED',
        reason: n % 4 === 1 ? null : 'VELOCITY_AMOUNT',
        rule: n % 4 === 1 ? null : 'rules[2].velocity',
        output: n % 4 === 1 ? null : 1,
        txid: 'ab'.repeat(32),
      };
    case 2:
      return {
        kind: 'signature',
        txid: 'cd'.repeat(32),
        walletId: 'ef'.repeat(16),
        inputs: [0, 1],
        amount: BigInt(n) * 10n ** 9n,
        fee: 500n,
      };
    case 3:
      return { kind: 'policy', version: n, hash: '12'.repeat(32) };
    case 4:
      return { kind: 'state', generation: n, stateHash: sha256Digest(Uint8Array.of(n & 0xff)) };
    default:
      return { kind: 'lifecycle', event: 'boot', detail: null };
  }
}

export async function logWith(n: number, fs = new MemFs()): Promise<{ log: AuditLog; fs: MemFs }> {
  const log = await AuditLog.open({ path: PATH, seed: SEED, create: true, time: 1_000, fs });
  for (let i = 1; i < n; i++) await log.append(eventFor(i), 1_000 + i);
  return { log, fs };
}

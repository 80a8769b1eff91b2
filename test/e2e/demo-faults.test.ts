/**
 * Link faults end to end (issue 6 §2): `pnpm demo --once --faults` — every relay flips bits at
 * 1e-4 and drops bytes in both directions, and signer-a's line is cut for 5 s while the first
 * round is signed. Every withdrawal must still complete, each paid once (the ledger reconciles with
 * the chain to the satoshi, before and after the sweep), and every daemon must stop cleanly.
 * Runs the built CLIs (CI builds first); about 95 s on a 2-core machine.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { demoProcess, RESULT_PREFIX, RUN_LIMIT_MS } from './demo-process.js';

const demo = demoProcess();
afterAll(() => demo.stop(), 60_000);

describe('pnpm demo --once --faults (bit errors, lost bytes, a 5 s disconnect)', () => {
  it(
    'completes every withdrawal exactly once over faulty lines',
    async () => {
      const { code, stdout, line } = await demo.run(['--once', '--faults', '--no-build']);
      expect(line, `no result line; stdout tail:\n${stdout.slice(-4000)}`).toBeDefined();
      const result = JSON.parse((line ?? '').slice(RESULT_PREFIX.length)) as {
        ok: boolean;
        missed: string[];
        withdrawals: { submitted: number; confirmed: number };
        reconciliation: { ok: boolean; ledgerSats: string; chainSats: string } | null;
        sweep: { state: string; reconciliation: { ok: boolean } | null } | null;
        lineFaults: { id: string; bitsFlipped: number; bytesDropped: number }[] | null;
        shutdown: { clean: boolean } | null;
      };
      expect(result.missed).toEqual([]);
      expect(result.ok).toBe(true);
      expect(code).toBe(0);
      // Faults really happened on every line, and the cut line lost bytes.
      expect(result.lineFaults?.map((f) => f.id).sort()).toEqual([
        'signer-a',
        'signer-b',
        'signer-c',
      ]);
      for (const f of result.lineFaults ?? []) expect(f.bitsFlipped).toBeGreaterThan(0);
      expect(
        result.lineFaults?.find((f) => f.id === 'signer-a')?.bytesDropped ?? 0,
      ).toBeGreaterThan(0);
      // Every withdrawal but the one the devices refuse confirmed; paid once: ledger = chain.
      expect(result.withdrawals.confirmed).toBe(result.withdrawals.submitted - 1);
      expect(result.reconciliation?.ok).toBe(true);
      expect(result.reconciliation?.ledgerSats).toBe(result.reconciliation?.chainSats);
      expect(result.sweep?.state).toBe('confirmed');
      expect(result.sweep?.reconciliation?.ok).toBe(true);
      expect(result.shutdown?.clean).toBe(true);
    },
    RUN_LIMIT_MS,
  );
});

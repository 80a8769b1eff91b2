/**
 * End to end: `pnpm demo --once` as a child process — the key ceremony, three `keyline-signer
 * serve` daemons on socat pty pairs paced at 115200 baud, `keyline-coordinator serve` on SQLite
 * and the devnet, deposits, withdrawals, a device refusal, a device killed and the failover, the
 * reconciliation, a coordinator restart with hot-wallet thresholds and the cold sweep it makes,
 * and the clean shutdown — then the figures of its final `KEYLINE_DEMO_RESULT` line.
 *
 * The two CLIs run from their TypeScript sources (`--from-source`) so that the test checks the
 * code of this checkout even when a package's dist/ is older than its sources; the packages the
 * demo imports (wire-protocol, devnet) must be built (`--no-build`: fail fast, CI builds first).
 * Measured on a 2-core machine: about 95 s.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoProcess, RESULT_PREFIX, RUN_LIMIT_MS } from './demo-process.js';

const demo = demoProcess();

/** Processes (other than ours) whose command line mentions `text`. */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(join('/proc', pid, 'cmdline'), 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(text)) found.push(`${pid}: ${cmd.slice(0, 200)}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

afterAll(() => demo.stop(), 60_000);

describe('pnpm demo --once (the whole system end to end)', () => {
  it(
    'runs every step and reports the expected figures, then leaves nothing behind',
    async () => {
      const { code, stdout, stderr, seconds, line } = await demo.run([
        '--once',
        '--from-source',
        '--no-build',
      ]);
      console.log(`demo --once: exit ${String(code)} after ${seconds} s`);

      expect(
        line,
        `no result line; stdout tail:\n${stdout.slice(-4000)}\nstderr:\n${stderr.slice(-2000)}`,
      ).toBeDefined();
      const result = JSON.parse((line ?? '').slice(RESULT_PREFIX.length)) as {
        ok: boolean;
        missed: string[];
        users: number;
        deposits: { sent: number; credited: number; delayed: number; cleared: number };
        withdrawals: { submitted: number; confirmed: number; transactions: number };
        refusals: number;
        refusal: {
          state: string;
          onlineRisk: string | null;
          deviceReport: {
            deviceId: string;
            code: number;
            name: string;
            reason: string | null;
          } | null;
        } | null;
        failovers: number;
        failover: {
          killed: string;
          signersAfter: string[];
          tookOver: string[];
          faultsOnKilled: number;
        } | null;
        reconciliation: { ok: boolean; ledgerSats: string; chainSats: string } | null;
        sweep: {
          amountSats: string;
          txid: string | null;
          address: string;
          state: string;
          signedBy: string[];
          deviceReport: { deviceId: string; name: string } | null;
          onChainSats: string | null;
          confirmations: number | null;
          restart: { code: number | null; stopped: boolean; withdrawalsResumed: number };
          reconciliation: { ok: boolean; ledgerSats: string; chainSats: string } | null;
        } | null;
        ownHolderActivation: string | null;
        shutdown: {
          clean: boolean;
          coordinator: { code: number | null } | null;
          signers: Record<
            string,
            { code: number | null; signal: string | null; killedByDemo: boolean }
          >;
        } | null;
      };
      expect(result.missed).toEqual([]);
      expect(result.ok).toBe(true);
      expect(code).toBe(0);

      // 2-of-3 activation: the holder who unlocked signer-a could not also activate it.
      expect(result.ownHolderActivation).toMatch(/2003.*own holder/);
      // Deposits: 30 users, all credited; exactly one delayed by risk, then cleared by an operator.
      expect(result.users).toBe(30);
      expect(result.deposits).toMatchObject({ sent: 30, credited: 30, delayed: 1, cleared: 1 });
      // Withdrawals: 12 + 10 paid in batched transactions; the 23rd is the refused one.
      expect(result.withdrawals.submitted).toBe(23);
      expect(result.withdrawals.confirmed).toBe(22);
      expect(result.withdrawals.transactions).toBeGreaterThanOrEqual(2);
      // The devices, not the online risk engine, refused the deny-listed destination.
      expect(result.refusals).toBe(1);
      expect(result.refusal?.state).toBe('refused');
      expect(result.refusal?.onlineRisk).toBe('approve');
      expect(result.refusal?.deviceReport?.name).toBe('POLICY_REFUSED');
      // The reason is the rule's code (DESTINATION_DENIED; older devices named the rule itself).
      expect(result.refusal?.deviceReport?.reason).toMatch(/DESTINATION_DENIED|denyDestinations/);
      // A device killed mid-run: the other two signed round 2, the third one taking over.
      expect(result.failovers).toBe(1);
      const f = result.failover;
      expect(f?.signersAfter).toHaveLength(2);
      expect(f?.signersAfter).not.toContain(f?.killed);
      // The third device took over (it had not signed before), or the coordinator tried the dead
      // one and failed over (its device_fault is logged); usually both.
      expect((f?.tookOver.length ?? 0) + (f?.faultsOnKilled ?? 0)).toBeGreaterThanOrEqual(1);
      // Ledger and chain agree.
      expect(result.reconciliation?.ok).toBe(true);
      expect(result.reconciliation?.ledgerSats).toBe(result.reconciliation?.chainSats);
      // The cold sweep, after a clean restart that resumed the 23 withdrawals from the database:
      // 0.8 BTC to a devnet address, paid in full in its txid and confirmed, ledger = chain after
      // it — or, a real outcome too, refused by the devices with their report.
      const sw = result.sweep;
      expect(sw).not.toBeNull();
      expect(sw?.restart).toMatchObject({ code: 0, stopped: true, withdrawalsResumed: 23 });
      expect(sw?.amountSats).toBe('80000000');
      expect(sw?.address).toMatch(/^bcrt1/);
      if (sw?.state === 'refused') {
        expect(sw.deviceReport).not.toBeNull();
        expect(sw.txid).toBeNull();
      } else {
        expect(sw?.state).toBe('confirmed');
        expect(sw?.txid).toMatch(/^[0-9a-f]{64}$/);
        expect(sw?.onChainSats).toBe(sw?.amountSats);
        expect(sw?.confirmations).toBeGreaterThanOrEqual(1);
        expect(sw?.signedBy).toHaveLength(2);
        expect(sw?.signedBy).not.toContain(f?.killed);
        expect(sw?.reconciliation?.ok).toBe(true);
        expect(sw?.reconciliation?.ledgerSats).toBe(sw?.reconciliation?.chainSats);
        expect(stdout).toContain(`cold sweep    0.80000000 BTC to ${sw?.address} in ${sw?.txid}`);
      }
      // Clean shutdown: coordinator and surviving signers exit 0; the killed one died by SIGKILL.
      expect(result.shutdown?.clean).toBe(true);
      expect(result.shutdown?.coordinator?.code).toBe(0);
      for (const [id, s] of Object.entries(result.shutdown?.signers ?? {})) {
        if (s.killedByDemo) expect(s.signal, id).toBe('SIGKILL');
        else expect(s.code, id).toBe(0);
      }

      // Nothing secret on the console: keygen's recovery words and the generated passphrases.
      expect(stdout).not.toMatch(/RECOVERY WORDS/);
      expect(stdout + stderr).not.toMatch(/demo-[0-9a-f]{32}/);
      // Nothing left behind: the work directory is gone and no process still uses it.
      const workDir = /work directory (\/\S+) \(removed at the end\)/.exec(stdout)?.[1];
      expect(workDir).toBeDefined();
      expect(existsSync(workDir ?? '/')).toBe(false);
      expect(processesMentioning(workDir ?? '/nonexistent')).toEqual([]);
    },
    RUN_LIMIT_MS,
  );
});

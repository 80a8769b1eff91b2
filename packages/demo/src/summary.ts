/**
 * The end of the scenario: ledger vs chain reconciliation from the API, the summary a viewer
 * reads, the list of expected outcomes that did not happen (any makes `--once` exit non-zero),
 * and one machine-readable line for tests: `KEYLINE_DEMO_RESULT {json}`.
 */
import { btc, type Context, type Outcomes } from './scenario-context.js';
import { withdrawalPlan } from './scenario-withdrawals.js';
import { waitFor } from './wait.js';

export const RESULT_PREFIX = 'KEYLINE_DEMO_RESULT ';

export interface ShutdownReport {
  readonly coordinator: { code: number | null; signal: string | null } | null;
  readonly signers: Record<
    string,
    { code: number | null; signal: string | null; killedByDemo: boolean }
  >;
  readonly clean: boolean;
}

/** Wait until nothing is in flight (mempool empty, payouts settled), then reconcile. */
export async function reconcile(ctx: Context, out: Outcomes): Promise<void> {
  ctx.say.heading('Ledger vs chain');
  const r = await waitFor(
    'a reconciliation without differences (GET /v1/reconciliation)',
    async () => {
      const mempool = await ctx.devnet.mempoolSize();
      const rec = await ctx.api.reconciliation();
      const state = `mempool ${mempool}, ledger ${rec.ledgerHotWallet} sat vs chain ${rec.chainHotWallet} sat${rec.differences.map((d) => `; ${d.what}: ${d.detail}`).join('')}`;
      ctx.say.progress(`reconciliation: ${state}`);
      return mempool === 0 && rec.ok ? { done: true, value: rec } : { done: false, state };
    },
    { timeoutMs: 30_000, intervalMs: 1000, signal: ctx.signal },
  ).catch(async () => ctx.api.reconciliation());
  out.reconciliation = {
    ok: r.ok,
    ledger: r.ledgerHotWallet,
    chain: r.chainHotWallet,
    differences: r.differences.map((d) => `${d.what}: ${d.detail}`),
  };
  ctx.say.step(
    `GET /v1/reconciliation: ${r.ok ? 'ok' : 'DIFFERENCES'} — hot wallet per ledger ${btc(r.ledgerHotWallet)}, per chain ${btc(r.chainHotWallet)}${r.differences.map((d) => `; ${d.what}: ${d.detail}`).join('')}`,
  );
}

/** Every expected outcome that did not happen, as a sentence. */
export function missedExpectations(
  users: number,
  out: Outcomes,
  shutdown: ShutdownReport | null,
): string[] {
  const plan = withdrawalPlan(users);
  const missed: string[] = [];
  const expectThat = (ok: boolean, what: string) => {
    if (!ok) missed.push(what);
  };
  expectThat(
    out.usersWithAddresses === users,
    `${users} deposit addresses (got ${out.usersWithAddresses})`,
  );
  expectThat(
    out.depositsCredited === users,
    `${users} deposits credited (got ${out.depositsCredited})`,
  );
  expectThat(
    out.delayedDeposits.length === 1 && out.delayedCleared === 1,
    `one deposit delayed by risk and cleared (got ${out.delayedDeposits.length} delayed, ${out.delayedCleared} cleared)`,
  );
  const expectedPaid = plan.round1.length + plan.round2.length;
  expectThat(
    out.withdrawalsConfirmed === expectedPaid,
    `${expectedPaid} withdrawals confirmed (got ${out.withdrawalsConfirmed})`,
  );
  expectThat(
    out.refusal?.state === 'refused' &&
      out.refusal.deviceReport !== null &&
      out.refusal.onlineRisk === 'approve',
    `the deny-listed withdrawal approved online, refused by a device with a report (got ${JSON.stringify(out.refusal)})`,
  );
  const f = out.failover;
  expectThat(
    f !== null &&
      f.withdrawalsConfirmed === f.withdrawalsExpected &&
      f.signersAfter.length === 2 &&
      !f.signersAfter.includes(f.killed) &&
      (f.tookOver.length >= 1 || f.faultsOnKilled >= 1),
    `round 2 signed by the two surviving devices after one was killed, a device that had not signed taking over or the killed one tried and failed over (got ${JSON.stringify(f)})`,
  );
  expectThat(
    out.reconciliation?.ok === true,
    `ledger and chain reconciled (got ${JSON.stringify(out.reconciliation, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))})`,
  );
  if (shutdown !== null)
    expectThat(shutdown.clean, `a clean shutdown (got ${JSON.stringify(shutdown)})`);
  return missed;
}

export function printSummary(ctx: Context, out: Outcomes, apiUrl: string): void {
  const { say } = ctx;
  const f = out.failover;
  const r = out.refusal;
  const rec = out.reconciliation;
  say.heading('Summary');
  const lines = [
    `deposits      ${out.depositsSent} paid, ${out.depositsCredited} credited (${btc(out.depositAmount)}); ${out.delayedDeposits.length} delayed by online risk and cleared by an operator: ${out.delayedDeposits.map((d) => `${d.userId} ${btc(d.amount)} [${d.reasons.join(', ')}]`).join('; ')}`,
    `withdrawals   ${out.withdrawalsSubmitted} submitted, ${out.withdrawalsConfirmed} confirmed (${btc(out.withdrawnAmount)}) in ${out.payoutTxids.size} batched transactions signed 2 of 3 over 115200-baud serial lines`,
    `refusals      ${r === null ? 0 : 1}: ${r === null ? '-' : `${r.id} approved by online risk (${r.onlineRisk}), refused by ${r.deviceReport?.deviceId ?? '?'}: ${r.deviceReport?.code ?? '?'} ${r.deviceReport?.name ?? '?'} ${r.deviceReport?.reason ?? ''}; held in the review queue`}`,
    `failovers     ${f === null ? 0 : 1}: ${f === null ? '-' : `${f.killed} killed; round 2 signed by ${f.signersAfter.join(' + ')} (${f.tookOver.join(', ') || 'no new device'} took over; ${f.faultsOnKilled} fault(s) on ${f.killed} seen by the coordinator)`}`,
    `reconcile     ${rec === null ? 'not run' : `${rec.ok ? 'ok' : 'DIFFERENCES'}: ledger ${btc(rec.ledger)} = chain ${btc(rec.chain)}${rec.differences.map((d) => `; ${d}`).join('')}`}`,
    'cold sweep    not implemented: the coordinator decides when to sweep (ledger/hot-wallet-action.ts) but does not build the sweep transaction yet',
    `serial lines  ${ctx.signers
      .map((s) => {
        const st = s.line.stats();
        return `${s.id} ${st.toDevice.toLocaleString('en-US')} B in / ${st.toCoordinator.toLocaleString('en-US')} B out${s.killed ? ' (killed)' : ''}`;
      })
      .join('; ')} at ${ctx.signers[0]?.line.baud ?? '?'} baud`,
    `chain         ${out.blocksMined} blocks mined during the scenario`,
    `API           ${apiUrl}`,
  ];
  for (const l of lines) say.detail(l);
}

export function resultLine(
  users: number,
  out: Outcomes,
  shutdown: ShutdownReport | null,
  missed: readonly string[],
  extra: Record<string, unknown>,
): string {
  const body = {
    ok: missed.length === 0,
    missed,
    users,
    deposits: {
      sent: out.depositsSent,
      credited: out.depositsCredited,
      delayed: out.delayedDeposits.length,
      cleared: out.delayedCleared,
      amountSats: out.depositAmount.toString(),
    },
    withdrawals: {
      submitted: out.withdrawalsSubmitted,
      confirmed: out.withdrawalsConfirmed,
      amountSats: out.withdrawnAmount.toString(),
      transactions: out.payoutTxids.size,
    },
    refusals: out.refusal === null ? 0 : 1,
    refusal: out.refusal,
    failovers: out.failover === null ? 0 : 1,
    failover: out.failover,
    reconciliation:
      out.reconciliation === null
        ? null
        : {
            ok: out.reconciliation.ok,
            ledgerSats: out.reconciliation.ledger.toString(),
            chainSats: out.reconciliation.chain.toString(),
            differences: out.reconciliation.differences,
          },
    sweep: 'not implemented',
    blocksMined: out.blocksMined,
    shutdown,
    ...extra,
  };
  return `${RESULT_PREFIX}${JSON.stringify(body)}\n`;
}

/**
 * The end of the scenario: ledger vs chain reconciliation from the API, the summary a viewer
 * reads, the list of expected outcomes that did not happen (any makes `--once` exit non-zero),
 * and one machine-readable line for tests: `KEYLINE_DEMO_RESULT {json}`.
 */
import {
  btc,
  type Context,
  type Outcomes,
  type ReconciliationOutcome,
  type SweepOutcome,
} from './scenario-context.js';
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
export async function reconcile(ctx: Context, heading: string): Promise<ReconciliationOutcome> {
  ctx.say.heading(heading);
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
  ctx.say.step(
    `GET /v1/reconciliation: ${r.ok ? 'ok' : 'DIFFERENCES'} — hot wallet per ledger ${btc(r.ledgerHotWallet)}, per chain ${btc(r.chainHotWallet)}${r.differences.map((d) => `; ${d.what}: ${d.detail}`).join('')}`,
  );
  return {
    ok: r.ok,
    ledger: r.ledgerHotWallet,
    chain: r.chainHotWallet,
    differences: r.differences.map((d) => `${d.what}: ${d.detail}`),
  };
}

/**
 * Whether the sweep happened as the demo expects: a clean restart, exactly one treasury
 * withdrawal, and either paid (the cold address got exactly its amount in its txid, confirmed,
 * ledger = chain afterwards) or refused by the devices with a coded report — a real outcome.
 */
export function sweepAsExpected(s: SweepOutcome | null): boolean {
  if (s === null) return false;
  const restarted = s.restart.code === 0 && s.restart.stopped;
  const paid =
    s.state === 'confirmed' &&
    s.txid !== null &&
    s.onChain !== null &&
    s.onChain.outputs === 1 &&
    s.onChain.amount === s.amount &&
    s.onChain.confirmations >= 1 &&
    s.reconciliation?.ok === true;
  const refused = s.state === 'refused' && s.deviceReport !== null;
  return restarted && s.withdrawals === 1 && (paid || refused);
}

const asJson = (v: unknown) =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));

/** The sweep in the summary: paid, refused (with the device's report) or what is missing. */
function sweepLine(s: SweepOutcome | null): string {
  if (s === null) return 'not run';
  if (s.state === 'confirmed' && s.txid !== null) {
    return `${btc(s.amount)} to ${s.address} in ${s.txid}, signed by ${s.signedBy.join(' + ') || '?'} (${s.withdrawalId}; hot wallet available ${btc(s.available)} > high mark ${btc(s.highMark)}, low mark ${btc(s.lowMark)}; coordinator restarted: exit ${String(s.restart.code)}, resumed at height ${s.restart.heightAfter} with ${s.restart.withdrawalsResumed} withdrawals)`;
  }
  const r = s.deviceReport;
  return `${btc(s.amount)} to ${s.address}: ${s.state}${r === null ? '' : ` — refused by ${r.deviceId}: ${r.code} ${r.name} ${r.reason ?? ''}`} (${s.withdrawalId})`;
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
    `ledger and chain reconciled (got ${asJson(out.reconciliation)})`,
  );
  expectThat(
    sweepAsExpected(out.sweep),
    `after a clean restart with hotWallet set, one sweep to the cold address confirmed with exactly its amount on chain and ledger = chain, or refused by the devices with a report (got ${asJson(out.sweep)})`,
  );
  if (shutdown !== null)
    expectThat(shutdown.clean, `a clean shutdown (got ${JSON.stringify(shutdown)})`);
  return missed;
}

function recLine(rec: ReconciliationOutcome | null): string {
  return rec === null
    ? 'not run'
    : `${rec.ok ? 'ok' : 'DIFFERENCES'}: ledger ${btc(rec.ledger)} ${rec.ok ? '=' : 'vs'} chain ${btc(rec.chain)}${rec.differences.map((d) => `; ${d}`).join('')}`;
}

/** Per line: bits flipped and bytes lost by the fault injection (`--faults`), both directions. */
export function lineFaults(signers: Context['signers']) {
  return signers.flatMap((s) => {
    const f = s.line.faultStats();
    if (f === null) return [];
    const both = [f.toCoordinator, f.toDevice];
    return [
      {
        id: s.id,
        bitsFlipped: both.reduce((n, x) => n + x.bitsFlipped, 0),
        bytesDropped: both.reduce((n, x) => n + x.bytesDropped, 0),
        writesDropped: both.reduce((n, x) => n + x.writesDropped, 0),
      },
    ];
  });
}

function faultLines(ctx: Context): string[] {
  const f = lineFaults(ctx.signers);
  if (f.length === 0) return [];
  return [
    `line faults   ${f.map((x) => `${x.id}: ${x.bitsFlipped} bits flipped, ${x.bytesDropped} bytes lost`).join('; ')} — every withdrawal still completed`,
  ];
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
    `reconcile     ${recLine(rec)}; after the sweep ${recLine(out.sweep?.reconciliation ?? null)}`,
    `cold sweep    ${sweepLine(out.sweep)}`,
    `serial lines  ${ctx.signers
      .map((s) => {
        const st = s.line.stats();
        return `${s.id} ${st.toDevice.toLocaleString('en-US')} B in / ${st.toCoordinator.toLocaleString('en-US')} B out${s.killed ? ' (killed)' : ''}`;
      })
      .join('; ')} at ${ctx.signers[0]?.line.baud ?? '?'} baud`,
    ...faultLines(ctx),
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
    sweep:
      out.sweep === null
        ? null
        : {
            amountSats: out.sweep.amount.toString(),
            txid: out.sweep.txid,
            address: out.sweep.address,
            withdrawalId: out.sweep.withdrawalId,
            state: out.sweep.state,
            signedBy: out.sweep.signedBy,
            deviceReport: out.sweep.deviceReport,
            onChainSats: out.sweep.onChain?.amount.toString() ?? null,
            confirmations: out.sweep.onChain?.confirmations ?? null,
            highMarkSats: out.sweep.highMark.toString(),
            lowMarkSats: out.sweep.lowMark.toString(),
            restart: out.sweep.restart,
            reconciliation:
              out.sweep.reconciliation === null
                ? null
                : {
                    ok: out.sweep.reconciliation.ok,
                    ledgerSats: out.sweep.reconciliation.ledger.toString(),
                    chainSats: out.sweep.reconciliation.chain.toString(),
                    differences: out.sweep.reconciliation.differences,
                  },
          },
    blocksMined: out.blocksMined,
    shutdown,
    ...extra,
  };
  return `${RESULT_PREFIX}${JSON.stringify(body)}\n`;
}

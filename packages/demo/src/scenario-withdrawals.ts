/**
 * Scenario, part 2 — withdrawals:
 *
 *   round 1   users withdraw through the API; the coordinator batches them into one transaction,
 *             two devices sign it over their serial lines, it is broadcast and confirmed;
 *   refusal   a withdrawal to the device-deny-listed script: the online risk engine approves it
 *             (that script is not on its list), the devices refuse to sign and the coordinator
 *             holds it with the device's coded report (state `refused`, `deviceReport`);
 *   failover  one device that signed round 1 is killed (SIGKILL: a power cut); round 2 is signed
 *             by the two others — the third device takes over — broadcast and confirmed.
 */
import type { Withdrawal } from './api.js';
import type { LogRecord } from './processes.js';
import {
  btc,
  type Context,
  type FailoverOutcome,
  type Outcomes,
  userId,
} from './scenario-context.js';
import { FLAGGED_USER } from './scenario-deposits.js';
import type { RunningSigner } from './signers.js';
import { DemoError, sleep, waitFor } from './wait.js';

const FINAL_BAD = new Set(['rejected', 'failed', 'held', 'refused']);

/** Users of round 1 / round 2 and the one who tries the denied destination. */
export function withdrawalPlan(users: number): {
  round1: number[];
  round2: number[];
  refused: number;
} {
  const n1 = Math.ceil(users * 0.4);
  const n2 = Math.ceil(users * 0.33);
  const round1 = Array.from({ length: n1 }, (_, i) => i);
  if (!round1.includes(FLAGGED_USER)) round1[round1.length - 1] = FLAGGED_USER;
  const rest = Array.from({ length: users }, (_, i) => i).filter((i) => !round1.includes(i));
  return { round1, round2: rest.slice(0, n2), refused: users - 1 };
}

function byState(ws: readonly Withdrawal[]): string {
  const counts = new Map<string, number>();
  for (const w of ws) counts.set(w.state, (counts.get(w.state) ?? 0) + 1);
  return [...counts.entries()]
    .sort()
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
}

/** Submit one withdrawal per user (a quarter of the deposit, to a fresh devnet address). */
async function submitRound(
  ctx: Context,
  out: Outcomes,
  round: string,
  users: readonly number[],
  deposits: ReadonlyMap<string, bigint>,
): Promise<Withdrawal[]> {
  // Addresses first, then the requests together: they reach the coordinator within one
  // pipeline pass, so they are batched into one transaction.
  const requests: { userId: string; address: string; amount: bigint; key: string }[] = [];
  for (const i of users) {
    const user = userId(i);
    const amount = ((deposits.get(user) ?? 0n) / 4n / 1000n) * 1000n;
    requests.push({
      userId: user,
      address: await ctx.devnet.newAddress(),
      amount,
      key: `${round}-${user}`,
    });
  }
  const submitted = await Promise.all(requests.map((r) => ctx.api.submitWithdrawal(r)));
  out.withdrawalsSubmitted += submitted.length;
  const total = submitted.reduce((s, w) => s + w.amount, 0n);
  ctx.say.step(
    `${submitted.length} withdrawals submitted (POST /v1/withdrawals with an Idempotency-Key), ${btc(total)} in all; online risk: ${byState(submitted)}`,
  );
  return submitted;
}

/** Wait until every one of `ids` is confirmed; fail at once if one ends anywhere else. */
async function waitConfirmed(
  ctx: Context,
  what: string,
  ids: ReadonlySet<string>,
): Promise<Withdrawal[]> {
  return waitFor(
    `${ids.size} withdrawals of ${what} confirmed`,
    async () => {
      const mine = (await ctx.api.withdrawals()).filter((w) => ids.has(w.id));
      const state = byState(mine);
      ctx.say.progress(`${what}: ${state}`);
      const bad = mine.find((w) => FINAL_BAD.has(w.state));
      if (bad !== undefined) {
        throw new DemoError(
          `demo/withdrawals: expected ${bad.id} (${bad.userId}) to be paid, got ${bad.state}${bad.deviceReport === null ? '' : ` (${bad.deviceReport.deviceId}: ${bad.deviceReport.name} ${bad.deviceReport.reason ?? ''})`}; risk ${bad.risk.reasons.join(', ')}`,
        );
      }
      const done = mine.filter((w) => w.state === 'confirmed');
      return done.length === ids.size ? { done: true, value: done } : { done: false, state };
    },
    { timeoutMs: ctx.settings.stepTimeoutMs, intervalMs: 500, signal: ctx.signal },
  );
}

function record(out: Outcomes, confirmed: readonly Withdrawal[]): string[] {
  const txids = new Set<string>();
  for (const w of confirmed) {
    out.withdrawalsConfirmed += 1;
    out.withdrawnAmount += w.amount;
    if (w.txid !== null) {
      txids.add(w.txid);
      out.payoutTxids.add(w.txid);
    }
  }
  return [...txids];
}

/** A log record's time in Unix ms (pino writes epoch ms, or ISO text when configured so). */
export function logTime(r: LogRecord): number {
  if (typeof r.time === 'number') return r.time;
  if (typeof r.time === 'string') {
    const t = Date.parse(r.time);
    if (Number.isFinite(t)) return t;
  }
  return 0;
}

/** Devices whose daemon logged a successful sign_psbt, with the log time. */
export function signLog(signers: readonly RunningSigner[]): { id: string; at: number }[] {
  const out: { id: string; at: number }[] = [];
  for (const s of signers) {
    for (const r of s.process.records()) {
      if (r.msg === 'rpc' && r.method === 'sign_psbt' && r.outcome === 'ok') {
        out.push({ id: s.id, at: logTime(r) });
      }
    }
  }
  return out;
}

export async function runWithdrawals(
  ctx: Context,
  out: Outcomes,
  deposits: ReadonlyMap<string, bigint>,
): Promise<void> {
  const { say, api, settings, signers } = ctx;
  const plan = withdrawalPlan(settings.users);

  say.heading('Withdrawals: API → online risk → batch → 2-of-3 signatures over serial → chain');
  const round1 = await submitRound(ctx, out, 'round1', plan.round1, deposits);
  if (settings.faults) {
    const a = signers.find((s) => s.id === 'signer-a');
    a?.line.disconnect(5_000);
    say.step(
      "faults: signer-a's line is cut for 5 s while round 1 is signed (and every line flips bits at 1e-4 and drops bytes)",
    );
  }
  const confirmed1 = await waitConfirmed(ctx, 'round 1', new Set(round1.map((w) => w.id)));
  const txids1 = record(out, confirmed1);
  const signed1 = [...new Set(signLog(signers).map((s) => s.id))].sort();
  say.step(
    `round 1 confirmed: ${confirmed1.length} withdrawals paid by ${txids1.length} batched transaction(s) ${txids1.map((t) => `${t.slice(0, 16)}…`).join(', ')}, signed by ${signed1.join(' + ')} over their 115200-baud lines`,
  );

  say.heading('A withdrawal the devices refuse (their offline policy, not the online risk engine)');
  const refusedUser = userId(plan.refused);
  const bad = await api.submitWithdrawal({
    userId: refusedUser,
    address: settings.denied.address,
    amount: 1_000_000n,
    key: `denied-${refusedUser}`,
  });
  out.withdrawalsSubmitted += 1;
  say.step(
    `${refusedUser} asks for ${btc(bad.amount)} to ${settings.denied.address}; online risk: ${bad.risk.outcome ?? 'pending'} (the script is not on the coordinator's deny list)`,
  );
  const refused = await waitFor(
    `withdrawal ${bad.id} refused by the devices`,
    async () => {
      const w = await api.withdrawal(bad.id);
      say.progress(`${bad.id}: ${w.state}`);
      if (w.state === 'confirmed' || w.state === 'broadcast' || w.state === 'signed') {
        throw new DemoError(
          `demo/refusal: expected the devices to refuse ${bad.id}, got it ${w.state} (txid ${w.txid ?? '?'})`,
        );
      }
      return w.state === 'refused' ? { done: true, value: w } : { done: false, state: w.state };
    },
    { timeoutMs: settings.stepTimeoutMs, intervalMs: 400, signal: ctx.signal },
  );
  out.refusal = {
    id: refused.id,
    state: refused.state,
    onlineRisk: refused.risk.outcome,
    deviceReport:
      refused.deviceReport === null
        ? null
        : {
            deviceId: refused.deviceReport.deviceId,
            code: refused.deviceReport.code,
            name: refused.deviceReport.name,
            reason: refused.deviceReport.reason,
          },
  };
  const r = refused.deviceReport;
  say.step(
    `GET /v1/withdrawals/${refused.id}: state ${refused.state}; deviceReport ${r === null ? 'none' : `${r.deviceId}: ${r.code} ${r.name}, ${r.reason ?? 'no reason'}`}`,
  );
  if (r !== null) say.detail(`device message: ${r.message.slice(0, 160)}`);
  const queue = await api.reviewQueue();
  const queued = queue.withdrawals.some((w) => w.id === refused.id);
  if (!queued || refused.txid !== null) {
    throw new DemoError(
      `demo/refusal: expected ${refused.id} held in the review queue with no transaction, got ${queued ? 'queued' : 'not queued'}, txid ${refused.txid ?? 'none'}`,
    );
  }
  say.step(
    `GET /v1/review-queue holds it for an operator (${queue.withdrawals.length} withdrawal(s) waiting); no transaction was signed or broadcast for it`,
  );

  say.heading('A signer device dies mid-run: signing fails over to the third device');
  out.failover = await runFailover(ctx, out, plan.round2, deposits, signed1);
}

async function runFailover(
  ctx: Context,
  out: Outcomes,
  users: readonly number[],
  deposits: ReadonlyMap<string, bigint>,
  signedBefore: readonly string[],
): Promise<FailoverOutcome> {
  const { say, signers } = ctx;
  // Kill the device that signed last: the coordinator prefers it, so it will try it first.
  const last = signLog(signers).sort((a, b) => b.at - a.at)[0];
  const victim = signers.find((s) => s.id === last?.id) ?? signers[0];
  if (victim === undefined)
    throw new DemoError('demo/failover: expected a signer to stop, got none');
  const killedAt = Date.now();
  victim.killed = true;
  victim.process.kill('SIGKILL');
  await victim.process.exited;
  say.step(
    `${victim.id}'s serve process killed with SIGKILL (a power cut: no lock, no goodbye); its serial line stays up and silent`,
  );
  await sleep(200, ctx.signal);
  const round2 = await submitRound(ctx, out, 'round2', users, deposits);
  const confirmed2 = await waitConfirmed(ctx, 'round 2', new Set(round2.map((w) => w.id)));
  const txids2 = record(out, confirmed2);
  const after = [
    ...new Set(
      signLog(signers)
        .filter((s) => s.at >= killedAt)
        .map((s) => s.id),
    ),
  ].sort();
  const tookOver = after.filter((id) => !signedBefore.includes(id));
  const faults = ctx.coordinator
    .records()
    .filter(
      (r) => r.event === 'device_fault' && r.deviceId === victim.id && logTime(r) >= killedAt,
    );
  const firstFault = faults[0];
  say.step(
    `round 2 confirmed: ${confirmed2.length} withdrawals in ${txids2.length} transaction(s), signed by ${after.join(' + ') || 'nobody?'}${tookOver.length > 0 ? ` — ${tookOver.join(', ')} took over from ${victim.id}` : ''}`,
  );
  if (firstFault !== undefined) {
    say.detail(
      `coordinator: ${faults.length} device_fault event(s) for ${victim.id} after the kill, e.g. "${String(firstFault.message).slice(0, 140)}"`,
    );
  } else {
    say.detail(`coordinator: ${victim.id} was already marked offline and was not asked`);
  }
  return {
    killed: victim.id,
    signersBefore: [...signedBefore],
    signersAfter: after,
    tookOver,
    faultsOnKilled: faults.length,
    firstFault: firstFault === undefined ? null : String(firstFault.message).slice(0, 300),
    withdrawalsConfirmed: confirmed2.length,
    withdrawalsExpected: round2.length,
  };
}

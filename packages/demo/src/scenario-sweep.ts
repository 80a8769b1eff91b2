/**
 * Scenario, part 3 — the hot → cold sweep (coordinator docs/operations.md §4):
 *
 *   1. figures   the hot wallet available to the coordinator (ledger − open withdrawals) and a
 *                fresh cold address from the devnet's wallet; marks chosen so that exactly one
 *                sweep of SWEEP_AMOUNT happens (below the devices' maxPerOutput cap)
 *   2. restart   SIGTERM to the coordinator (exit 0, `coordinator_stopped`), `hotWallet` added to
 *                config.json, `serve` again: it resumes from its SQLite database and the devnet
 *                from its data file, and reopens the serial lines (the relays keep their side)
 *   3. sweep     the coordinator creates one `@treasury` withdrawal to the cold address; it is
 *                batched, risk-signed, signed by two devices over serial, broadcast, confirmed —
 *                or refused by the devices with a coded report (a real outcome, reported as such)
 *   4. check     on the devnet: the cold address received exactly that amount in that txid;
 *                then ledger = chain again
 */
import { join } from 'node:path';
import { ApiClient, type Withdrawal } from './api.js';
import { DevnetClient } from './devnet.js';
import { Miner } from './miner.js';
import { btc, type Context, type Outcomes } from './scenario-context.js';
import { logTime, signLog } from './scenario-withdrawals.js';
import type { System } from './setup.js';
import { reconcile } from './summary.js';
import { DemoError, sleep, waitFor } from './wait.js';

/** The sweep the demo sets the marks for: 0.8 BTC, under the demo policy's 1 BTC maxPerOutput. */
export const SWEEP_AMOUNT = 80_000_000n;
/** The coordinator's owner of treasury withdrawals (coordinator src/service/treasury.ts). */
export const TREASURY_USER = '@treasury';
/**
 * States whose amount the coordinator subtracts from the ledger's hot wallet before it compares
 * with the marks (coordinator src/service/treasury.ts OPEN_STATES).
 */
const OPEN_STATES = new Set([
  'requested',
  'held',
  'approved',
  'batched',
  'signing',
  'signed',
  'broadcast',
  'refused',
  'failed',
]);
const STOP_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 60_000;
const BLOCK_INTERVAL_MS = 1000;

/**
 * High and low marks for which the coordinator sweeps exactly `amount` out of `available`:
 * target = (low + high) / 2 = available − amount, and available > high. After the sweep (and its
 * fee, paid by the hot wallet) the available figure lies between the marks: no second sweep, no
 * refill request, as long as the fee is under 3/4 of the amount.
 */
export function sweepMarks(
  available: bigint,
  amount: bigint,
): { highMark: bigint; lowMark: bigint } {
  if (amount <= 0n || amount % 4n !== 0n || available < (amount * 7n) / 4n) {
    throw new DemoError(
      `demo/sweep: expected a positive sweep (multiple of 4 sat) with the hot wallet at least 7/4 of it, got ${amount} sat out of ${available} sat`,
    );
  }
  const highMark = available - amount / 4n;
  return { highMark, lowMark: 2n * (available - amount) - highMark };
}

/** Hot wallet available to the coordinator: the ledger minus what open withdrawals will take. */
async function availableHotWallet(ctx: Context): Promise<bigint> {
  const rec = await ctx.api.reconciliation();
  const open = (await ctx.api.withdrawals())
    .filter((w) => OPEN_STATES.has(w.state))
    .reduce((s, w) => s + w.amount, 0n);
  return rec.ledgerHotWallet - open;
}

/** SIGTERM the coordinator and wait for its exit; the exit and whether it logged a clean stop. */
async function stopCoordinator(ctx: Context) {
  const c = ctx.coordinator;
  c.kill('SIGTERM');
  const exit = await Promise.race([c.exited, sleep(STOP_TIMEOUT_MS).then(() => null)]);
  if (exit === null) {
    c.kill('SIGKILL');
    await c.exited;
    throw new DemoError(
      `demo/sweep: expected the coordinator to exit within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM, got no exit (killed)`,
    );
  }
  const stopped = c.records().some((r) => r.event === 'coordinator_stopped');
  return { code: exit.code, signal: exit.signal, stopped };
}

/** Wait until the sweep is confirmed or refused; exactly one treasury withdrawal may exist. */
async function waitForSweep(ctx: Context): Promise<{ sweep: Withdrawal; count: number }> {
  return waitFor(
    `the treasury sweep (${TREASURY_USER}) confirmed or refused by the devices`,
    async () => {
      const ws = await ctx.api.withdrawals(TREASURY_USER);
      const first = ws[0];
      if (first === undefined) {
        ctx.say.progress('sweep: no treasury withdrawal yet');
        return { done: false, state: 'no treasury withdrawal yet' };
      }
      if (ws.length > 1) {
        throw new DemoError(
          `demo/sweep: expected one treasury withdrawal, got ${ws.length}: ${ws.map((w) => `${w.id} ${btc(w.amount)} ${w.state}`).join('; ')}`,
        );
      }
      ctx.say.progress(`sweep ${first.id} ${btc(first.amount)}: ${first.state}`);
      if (first.state === 'rejected' || first.state === 'failed') {
        throw new DemoError(
          `demo/sweep: expected ${first.id} confirmed or refused by the devices, got ${first.state}; risk ${first.risk.reasons.join(', ')}`,
        );
      }
      return first.state === 'confirmed' || first.state === 'refused'
        ? { done: true, value: { sweep: first, count: ws.length } }
        : { done: false, state: first.state };
    },
    { timeoutMs: ctx.settings.stepTimeoutMs, intervalMs: 500, signal: ctx.signal },
  );
}

/**
 * Restart the coordinator with `hotWallet` set and follow the sweep it makes. Returns the context
 * of the restarted system (new API and devnet addresses, new miner) for the summary; the old
 * miner is stopped here, the new one is pushed to `miners` (run.ts stops them all).
 */
export async function runSweep(
  ctx: Context,
  sys: System,
  out: Outcomes,
  miners: Miner[],
): Promise<Context> {
  const { say } = ctx;
  say.heading('Hot → cold sweep: the coordinator restarted with hotWallet thresholds');
  const available = await availableHotWallet(ctx);
  const marks = sweepMarks(available, SWEEP_AMOUNT);
  const coldAddress = await ctx.devnet.newAddress();
  say.step(
    `hot wallet available ${btc(available)} (ledger − open withdrawals); hotWallet: highMark ${btc(marks.highMark)}, lowMark ${btc(marks.lowMark)} (target = midpoint = available − ${btc(SWEEP_AMOUNT)}), coldAddress ${coldAddress} (getnewaddress on the devnet)`,
  );

  await ctx.miner.stop();
  const heightBefore = await ctx.devnet.blockCount();
  const stopped = await stopCoordinator(ctx);
  say.step(
    `coordinator: SIGTERM → exit ${String(stopped.code ?? stopped.signal)}${stopped.stopped ? ' (coordinator_stopped logged)' : ''} at height ${heightBefore}`,
  );
  if (stopped.code !== 0) {
    throw new DemoError(
      `demo/sweep: expected the coordinator to exit 0 on SIGTERM, got ${String(stopped.code ?? stopped.signal)}`,
    );
  }
  sys.coordinatorCli.configureHotWallet({ ...marks, coldAddress });
  const restartedAt = Date.now();
  const served = await sys.coordinatorCli.serve(START_TIMEOUT_MS, 'coordinator-restarted');
  sys.coordinator = served.child;
  sys.serveInfo = served.info;
  const api = new ApiClient(served.info.api, sys.exchangeKey, sys.operatorKey);
  await waitFor(
    'GET /healthz 200 after the restart',
    async () =>
      (await api.healthy()) ? { done: true, value: true } : { done: false, state: 'not healthy' },
    { timeoutMs: 30_000, signal: ctx.signal },
  );
  const devnet = new DevnetClient(
    served.info.devnet,
    join(sys.coordinatorCli.dir, 'devnet.cookie'),
  );
  const heightAfter = await devnet.blockCount();
  // The users' withdrawals it lists from its database (a sweep may already be among them).
  const resumed = (await api.withdrawals()).filter((w) => w.userId !== TREASURY_USER).length;
  const miner = new Miner(devnet, await devnet.newAddress(), BLOCK_INTERVAL_MS);
  miners.push(miner);
  miner.start();
  const next: Context = { ...ctx, api, devnet, miner, coordinator: served.child };
  say.step(
    `serve again: API ${served.info.api}; resumed from its database (${resumed} withdrawals) and the devnet from its data file (height ${heightAfter}); the serial lines reopened on the coordinator's side`,
  );

  const { sweep, count } = await waitForSweep(next);
  const signedBy = [
    ...new Set(
      signLog(sys.signers)
        .filter((s) => s.at >= restartedAt)
        .map((s) => s.id),
    ),
  ].sort();
  const faults = served.child
    .records()
    .filter((rec) => rec.event === 'device_fault' && logTime(rec) >= restartedAt);
  if (faults.length > 0) {
    say.detail(
      `restarted coordinator: ${faults.length} device_fault event(s) while signing the sweep (${[...new Set(faults.map((f) => String(f.deviceId)))].join(', ')}: the killed device is asked again after a restart and costs the sign timeout)`,
    );
  }
  const r = sweep.deviceReport;
  const base = {
    restart: { ...stopped, withdrawalsResumed: resumed, heightBefore, heightAfter },
    available,
    ...marks,
    address: coldAddress,
    withdrawals: count,
    withdrawalId: sweep.id,
    amount: sweep.amount,
    state: sweep.state,
    txid: sweep.txid,
    signedBy,
    deviceReport:
      r === null ? null : { deviceId: r.deviceId, code: r.code, name: r.name, reason: r.reason },
  };
  if (sweep.state === 'refused') {
    out.sweep = { ...base, onChain: null, reconciliation: null };
    say.warn(
      `sweep ${sweep.id} ${btc(sweep.amount)} refused by the devices: ${r === null ? 'no report' : `${r.deviceId}: ${r.code} ${r.name} ${r.reason ?? ''} — ${r.message.slice(0, 160)}`}`,
    );
    return next;
  }
  const txid = sweep.txid;
  if (txid === null) {
    throw new DemoError(`demo/sweep: expected confirmed ${sweep.id} to carry a txid, got none`);
  }
  const tx = await devnet.transaction(txid);
  const toCold = tx.outputs.filter((o) => o.address === coldAddress);
  const onChain = {
    outputs: toCold.length,
    amount: toCold.reduce((s, o) => s + o.sats, 0n),
    confirmations: tx.confirmations,
  };
  say.step(
    `sweep ${sweep.id} confirmed: ${btc(sweep.amount)} to ${coldAddress} in ${txid}, signed by ${signedBy.join(' + ') || '?'} over their serial lines`,
  );
  say.step(
    `getrawtransaction ${txid.slice(0, 16)}… true: ${toCold.length} output(s) to the cold address, ${btc(onChain.amount)}${onChain.amount === sweep.amount ? ' = the sweep' : ` ≠ the sweep's ${btc(sweep.amount)}`}; ${tx.confirmations} confirmation(s)`,
  );
  const reconciliation = await reconcile(next, 'Ledger vs chain after the sweep');
  out.sweep = { ...base, onChain, reconciliation };
  return next;
}

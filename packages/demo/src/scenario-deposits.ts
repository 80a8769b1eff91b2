/**
 * Scenario, part 1 — deposits: users get deposit addresses from the API, the devnet's wallet pays
 * each of them, blocks are mined, the coordinator's gateway sees the payments and the online risk
 * engine credits them — except one large deposit, which it delays for review. An operator then
 * clears it through the API and it is credited.
 */
import type { Deposit } from './api.js';
import { btc, type Context, type Outcomes, userId } from './scenario-context.js';
import { DemoError, waitFor } from './wait.js';

/** The user whose deposit is large enough to be delayed. */
export const FLAGGED_USER = 7;

/** A varied, reproducible deposit per user: 0.10 … 0.49 BTC; the flagged one above the limit. */
export function depositAmount(i: number, largeDeposit: bigint): bigint {
  if (i === FLAGGED_USER) return largeDeposit + 50_000_000n;
  return 10_000_000n + BigInt((i * 7_919) % 40) * 1_000_000n;
}

function countStates(deposits: readonly Deposit[]): string {
  const counts = new Map<string, number>();
  for (const d of deposits) counts.set(d.state, (counts.get(d.state) ?? 0) + 1);
  return (
    [...counts.entries()]
      .sort()
      .map(([s, n]) => `${n} ${s}`)
      .join(', ') || 'none seen yet'
  );
}

export async function runDeposits(ctx: Context, out: Outcomes): Promise<Map<string, bigint>> {
  const { say, api, devnet, settings } = ctx;
  say.heading(
    'Deposits: addresses from the API, payments on the devnet, credits by the coordinator',
  );
  const addresses: string[] = [];
  for (let i = 0; i < settings.users; i++) {
    const a = await api.depositAddress(userId(i));
    addresses.push(a.address);
    say.progress(`POST /v1/deposit-addresses: ${i + 1}/${settings.users} users have an address`);
  }
  out.usersWithAddresses = addresses.length;
  say.step(
    `${addresses.length} users got a fresh 2-of-3 P2WSH deposit address each (POST /v1/deposit-addresses), e.g. ${userId(0)} → ${addresses[0] ?? '?'}`,
  );

  const amounts = new Map<string, bigint>();
  for (const [i, address] of addresses.entries()) {
    const amount = depositAmount(i, settings.largeDeposit);
    await devnet.send(address, amount);
    amounts.set(userId(i), amount);
    out.depositsSent += 1;
    out.depositAmount += amount;
    say.progress(`devnet sendtoaddress: ${i + 1}/${addresses.length} deposits paid`);
  }
  say.step(
    `the devnet's wallet paid ${addresses.length} deposits (${btc(out.depositAmount)} in all); ${userId(FLAGGED_USER)} sent ${btc(amounts.get(userId(FLAGGED_USER)) ?? 0n)}, above the online risk engine's large-deposit limit of ${btc(settings.largeDeposit)}`,
  );
  say.step("blocks follow every second; the coordinator's gateway follows the tip");

  const settled = await waitFor(
    `${addresses.length} deposits credited or delayed`,
    async () => {
      const all = await api.deposits();
      const state = countStates(all);
      say.progress(`deposits: ${state}`);
      const done = all.filter((d) => d.state === 'credited' || d.state === 'delayed');
      return done.length >= addresses.length ? { done: true, value: all } : { done: false, state };
    },
    { timeoutMs: settings.stepTimeoutMs, intervalMs: 500, signal: ctx.signal },
  );
  const delayed = settled.filter((d) => d.state === 'delayed');
  out.depositsCredited = settled.filter((d) => d.state === 'credited').length;
  out.delayedDeposits = delayed.map((d) => ({
    txid: d.txid,
    userId: d.userId,
    amount: d.amount,
    reasons: d.reasons,
  }));
  say.step(
    `deposits: ${out.depositsCredited} credited after 1 confirmation, ${delayed.length} delayed by risk (${delayed.map((d) => `${d.userId} ${btc(d.amount)}: ${d.reasons.join(', ')}`).join('; ') || 'none'})`,
  );
  if (delayed.length !== 1 || delayed[0]?.userId !== userId(FLAGGED_USER)) {
    throw new DemoError(
      `demo/deposits: expected exactly ${userId(FLAGGED_USER)}'s deposit delayed, got ${delayed.map((d) => d.userId).join(', ') || 'none'}`,
    );
  }

  const queue = await api.reviewQueue();
  say.step(
    `operator: GET /v1/review-queue lists ${queue.deposits.length} delayed deposit(s) and ${queue.withdrawals.length} withdrawal(s)`,
  );
  for (const d of delayed) {
    const cleared = await api.clearDeposit(d.txid, d.vout, 'demo: source of funds checked');
    if (cleared.state !== 'credited') {
      throw new DemoError(
        `demo/deposits: expected the cleared deposit ${d.txid}:${d.vout} credited, got ${cleared.state}`,
      );
    }
    out.delayedCleared += 1;
    out.depositsCredited += 1;
    const balance = await api.balances(d.userId);
    const available = balance.balances.find((b) => b.asset === 'BTC')?.available ?? 0n;
    say.step(
      `operator cleared it (POST /v1/deposits/${d.txid.slice(0, 12)}…/${d.vout}/clear): credited; ${d.userId} now has ${btc(available)} available`,
    );
  }
  return amounts;
}

/**
 * The payout pipeline end to end, with real (in-process) signer devices: exactly once through a
 * crash at every persisted step, a device refusal holding the withdrawal with its report,
 * failover to the third device, and the pause switch stopping signing and broadcast.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { Transaction } from '@scure/btc-signer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRiskConfig } from '../../src/risk/config.js';
import { scriptToAddress } from '../../src/service/address.js';
import {
  bumpStep,
  confirmStep,
  PAUSE_SETTING,
  type PayoutDeps,
  runPipelineOnce,
} from '../../src/service/payouts.js';
import { TREASURY_USER, treasuryStep } from '../../src/service/treasury.js';
import { ledgerHotWallet, storedSum } from '../../src/service/views.js';
import { submitWithdrawal } from '../../src/service/withdrawals.js';
import type { Database } from '../../src/storage/database.js';
import { balancesByUser } from '../../src/storage/ledger.js';
import { payoutByTxid, putSetting, setPayoutBlockHeight } from '../../src/storage/signing.js';
import { addUtxo } from '../../src/storage/vault.js';
import { getWithdrawal } from '../../src/storage/withdrawals.js';
import { baseConfig } from '../risk/fixtures.js';
import { BACKENDS, type TestBackend, unique } from '../storage/backends.js';
import { destination, flow, type Harness, startHarness } from './pipeline-harness.js';

const CRASH_POINTS = [
  'batch:before_commit',
  'batch:after_commit',
  'sign:after_devices',
  'sign:before_commit',
  'sign:after_commit',
  'broadcast:after_send',
  'broadcast:before_commit',
  'broadcast:after_commit',
  'confirm:before_commit',
  'confirm:after_commit',
] as const;

class Crash extends Error {}

describe.each(BACKENDS)('payout pipeline with real signer devices on $name', ({ name, make }) => {
  let backend: TestBackend;
  let database: Database;
  let h: Harness;
  let n = 0;

  beforeAll(async () => {
    backend = await make();
    database = await backend.open();
    h = await startHarness(database, `pipeline-${name}`);
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    await database?.close();
    await backend?.cleanup();
  });

  const wdeps = (risk = h.risk) => ({
    db: database.db,
    network: 'regtest' as const,
    risk,
    now: () => h.nowMs,
  });

  /** Mine, record inclusion heights as the gateway would, then settle at depth. */
  async function mineAndConfirm(deps: PayoutDeps) {
    const block = h.node.mine();
    const ours = await h.scripts();
    for (const txid of block.txids) {
      const p = await payoutByTxid(database.db, txid);
      if (p !== null) await setPayoutBlockHeight(database.db, p.id, BigInt(block.height));
      // As the gateway does: outputs paying the wallet (change) join the UTXO set.
      const raw = h.node.txs.get(txid);
      if (raw === undefined) continue;
      const tx = Transaction.fromRaw(raw, { allowUnknownOutputs: true });
      for (let vout = 0; vout < tx.outputsLength; vout++) {
        const script = tx.getOutput(vout).script;
        if (script !== undefined && ours.has(bytesToHex(script))) {
          await addUtxo(database.db, {
            rawTx: raw,
            vout,
            height: block.height,
            at: new Date(h.nowMs),
          });
        }
      }
    }
    await confirmStep(deps, block.height);
  }

  /** Drive the pipeline until the withdrawal is confirmed, crashing once at `crashAt`. */
  async function driveToConfirmed(id: string, crashAt?: string): Promise<boolean> {
    let crashed = false;
    const deps = h.deps({
      crashPoint: (p) => {
        if (p === crashAt && !crashed) {
          crashed = true;
          throw new Crash(p);
        }
      },
    });
    for (let round = 0; round < 10; round += 1) {
      try {
        // A "restart" is simply running the steps again from what the database holds.
        await runPipelineOnce(deps);
        await mineAndConfirm(deps);
      } catch (e) {
        if (!(e instanceof Crash)) throw e;
      }
      if ((await getWithdrawal(database.db, id)).state === 'confirmed') return crashed;
    }
    throw new Error(
      `withdrawal ${id} not confirmed; state ${(await getWithdrawal(database.db, id)).state}`,
    );
  }

  for (const crashAt of [undefined, ...CRASH_POINTS]) {
    it(`pays exactly once and reconciles with a crash at ${crashAt ?? 'no point'}`, async () => {
      const user = unique('u');
      const dest = destination(++n);
      await h.fund(user, 1_000_000n);
      const { withdrawal } = await submitWithdrawal(wdeps(), {
        userId: user,
        idempotencyKey: `k-${n}`,
        address: dest.address,
        amount: 100_000n,
        flags: { newDevice: false },
      });
      expect(withdrawal.state).toBe('approved');
      expect(await driveToConfirmed(withdrawal.id, crashAt)).toBe(crashAt !== undefined);
      expect(h.node.paidTo(dest.hex)).toBe(100_000n);
      const w = await getWithdrawal(database.db, withdrawal.id);
      expect(w.stateHistory.map((s) => s.state)).toEqual([
        'requested',
        'approved',
        'batched',
        'signing',
        'signed',
        'broadcast',
        'confirmed',
      ]);
      expect((await balancesByUser(database.db, user))[0]?.balance).toBe(900_000n);
      expect(await storedSum(database.db, 'pending_withdrawals', withdrawal.id)).toBe(0n);
      // The ledger's hot wallet equals the coins the node holds for the wallet.
      expect(await ledgerHotWallet(database.db)).toBe(h.node.walletBalance(await h.scripts()));
    });
  }

  it('holds the withdrawal with the device report when a device refuses it', async () => {
    const user = unique('u');
    await h.fund(user, 1_000_000n);
    // The online risk deny list is out of date (or the coordinator is compromised): only the
    // devices' own policy stands between the request and the deny-listed destination.
    const lax = parseRiskConfig({
      ...baseConfig,
      withdrawal: {
        ...baseConfig.withdrawal,
        denyScriptPubKeys: [],
        firstTimeDestination: 'allow',
      },
    });
    const { withdrawal } = await submitWithdrawal(wdeps(lax), {
      userId: user,
      idempotencyKey: 'denied',
      address: scriptToAddress('regtest', flow.DENIED),
      amount: 50_000n,
      flags: { newDevice: false },
    });
    expect(withdrawal.state).toBe('approved');
    await runPipelineOnce(h.deps());
    const w = await getWithdrawal(database.db, withdrawal.id);
    expect(w.state).toBe('refused');
    const row = await database.db
      .selectFrom('withdrawals')
      .select('device_report')
      .where('id', '=', withdrawal.id)
      .executeTakeFirstOrThrow();
    const report = JSON.parse(row.device_report ?? 'null') as { name: string; deviceId: string };
    expect(report.name).toBe('POLICY_REFUSED');
    expect(h.node.paidTo(`0014${'66'.repeat(20)}`)).toBe(0n);
    const reports = await database.db.selectFrom('device_reports').selectAll().execute();
    expect(reports.some((r) => r.name === 'POLICY_REFUSED')).toBe(true);
    // Its reserved coins are free again: the next withdrawal can use them.
    expect(
      await database.db
        .selectFrom('vault_utxos')
        .select('state')
        .where('state', '=', 'reserved')
        .execute(),
    ).toEqual([]);
  });

  it('fails over to the third device when one is offline', async () => {
    const user = unique('u');
    const dest = destination(++n);
    await h.fund(user, 1_000_000n);
    const { withdrawal } = await submitWithdrawal(wdeps(), {
      userId: user,
      idempotencyKey: 'failover',
      address: dest.address,
      amount: 70_000n,
      flags: { newDevice: false },
    });
    const offline = h.signing.map((s) =>
      s.deviceId === 'signer-a'
        ? { ...s, signPsbt: async () => Promise.reject(new Error('serial line: ENOENT')) }
        : s,
    );
    const deps = h.deps({ devices: () => offline });
    await runPipelineOnce(deps);
    await mineAndConfirm(deps);
    expect((await getWithdrawal(database.db, withdrawal.id)).state).toBe('confirmed');
    const payout = await database.db
      .selectFrom('payouts')
      .select('signers')
      .where('txid', 'is not', null)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(payout.signers ?? '[]').sort()).toEqual(['signer-b', 'signer-c']);
    expect(h.node.paidTo(dest.hex)).toBe(70_000n);
  });

  it('signs and broadcasts nothing while paused, and resumes where it stopped', async () => {
    const user = unique('u');
    const dest = destination(++n);
    await h.fund(user, 1_000_000n);
    const { withdrawal } = await submitWithdrawal(wdeps(), {
      userId: user,
      idempotencyKey: 'paused',
      address: dest.address,
      amount: 60_000n,
      flags: { newDevice: false },
    });
    await putSetting(database.db, PAUSE_SETTING, 'incident 42', 1n);
    let asked = 0;
    const counting = h.signing.map((s) => ({
      ...s,
      signPsbt: (p: never) => {
        asked += 1;
        return s.signPsbt(p);
      },
    }));
    await runPipelineOnce(h.deps({ devices: () => counting as never }));
    expect((await getWithdrawal(database.db, withdrawal.id)).state).toBe('approved');
    expect(asked).toBe(0);
    await database.db.deleteFrom('settings').where('key', '=', PAUSE_SETTING).execute();
    await driveToConfirmed(withdrawal.id);
    expect(h.node.paidTo(dest.hex)).toBe(60_000n);
  });

  it('sweeps the surplus above the high mark to the cold address through the devices, and asks for a refill below the low mark', async () => {
    const cold = destination(++n);
    const hot = await ledgerHotWallet(database.db);
    const thresholds = { refillBelow: hot / 4n, target: hot / 2n, sweepAbove: (hot * 3n) / 4n };
    const user = unique('u');
    await h.fund(user, hot); // the hot wallet doubles: above the high mark
    const tdeps = { db: database.db, thresholds, coldScript: cold.script, now: () => h.nowMs };
    const sweep = await treasuryStep(tdeps);
    expect(sweep.action).toBe('sweep');
    if (sweep.action !== 'sweep') return;
    // Open withdrawals (the refused one above, awaiting review) stay covered by the hot wallet.
    const open = await database.db
      .selectFrom('withdrawals')
      .select('amount')
      .where('state', 'not in', ['confirmed', 'rejected'])
      .where('user_id', '!=', TREASURY_USER)
      .execute();
    const reserved = open.reduce((t, r) => t + r.amount, 0n);
    expect(sweep.amount).toBe(2n * hot - reserved - thresholds.target);
    expect((await treasuryStep(tdeps)).action).toBe('none'); // one sweep at a time
    expect(await driveToConfirmed(sweep.withdrawalId)).toBe(false);
    expect(h.node.paidTo(cold.hex)).toBe(sweep.amount);
    expect((await getWithdrawal(database.db, sweep.withdrawalId)).userId).toBe(TREASURY_USER);
    expect(-(await storedSum(database.db, 'cold_wallet', 'cold_wallet'))).toBe(sweep.amount);
    expect(await ledgerHotWallet(database.db)).toBe(h.node.walletBalance(await h.scripts()));
    // Low: a refill request event, once.
    const low = { refillBelow: hot * 10n, target: hot * 11n, sweepAbove: hot * 12n };
    const refill = await treasuryStep({ ...tdeps, thresholds: low });
    expect(refill.action).toBe('refill');
    await treasuryStep({ ...tdeps, thresholds: low });
    const events = await database.db
      .selectFrom('events')
      .selectAll()
      .where('kind', '=', 'refill_request')
      .execute();
    expect(events).toHaveLength(1);
  });

  it('replaces a stuck payout by RBF (same inputs, same payment, more fee), signed by the devices, paid once', async () => {
    const user = unique('u');
    const dest = destination(++n);
    await h.fund(user, 1_000_000n);
    const { withdrawal } = await submitWithdrawal(wdeps(), {
      userId: user,
      idempotencyKey: 'stuck',
      address: dest.address,
      amount: 80_000n,
      flags: { newDevice: false },
    });
    const deps = h.deps();
    await runPipelineOnce(deps);
    const first = await database.db
      .selectFrom('payouts')
      .selectAll()
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(first.state).toBe('broadcast');
    expect(await bumpStep(deps, { afterMs: 0 })).toBe(0); // the estimate has not moved
    h.node.feeRateNow = 20_000n;
    expect(await bumpStep(deps, { afterMs: 0 })).toBe(1);
    expect(await bumpStep(deps, { afterMs: 0 })).toBe(0); // one open replacement at a time
    await runPipelineOnce(deps); // sign and broadcast the replacement
    const second = await database.db
      .selectFrom('payouts')
      .selectAll()
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(second.replaces_id).toBe(first.id);
    expect(second.state).toBe('broadcast');
    expect(second.fee > first.fee).toBe(true);
    expect(h.node.txs.has(first.txid as string)).toBe(false); // evicted by the node
    await mineAndConfirm(deps);
    expect((await getWithdrawal(database.db, withdrawal.id)).state).toBe('confirmed');
    const states = await database.db
      .selectFrom('payouts')
      .select(['id', 'state'])
      .where('id', 'in', [first.id, second.id])
      .orderBy('id')
      .execute();
    expect(states.map((r) => r.state)).toEqual(['replaced', 'confirmed']);
    expect(h.node.paidTo(dest.hex)).toBe(80_000n);
    expect(await storedSum(database.db, 'pending_withdrawals', withdrawal.id)).toBe(0n);
    expect(await ledgerHotWallet(database.db)).toBe(h.node.walletBalance(await h.scripts()));
    h.node.feeRateNow = 2_000n;
  });
});

/**
 * The demo run, read top to bottom (main.ts checks the prerequisites, then loads this):
 *
 *   1. options, work directory, the supervisor of child processes, signal handling
 *   2. setUp (setup.ts): ceremony, coordinator init, three signer daemons on their lines,
 *      enrollment, activation, policy, wallet, API keys, `keyline-coordinator serve`
 *   3. the scenario: deposits (scenario-deposits.ts), withdrawals, a device refusal and a
 *      failover (scenario-withdrawals.ts), reconciliation, a coordinator restart with hot-wallet
 *      thresholds and the cold sweep it makes (scenario-sweep.ts), and the summary (summary.ts)
 *   4. without --once: keep serving until Ctrl-C
 *   5. shutDown on every path: SIGTERM the coordinator, then the signers (devices lock and wipe
 *      their keys), check their exit codes, close the lines, remove the directory (unless --keep),
 *      print `KEYLINE_DEMO_RESULT {json}`; exit 0 only if every expected outcome happened.
 *
 * Any child still running when this process exits is killed (Supervisor.killAll in an 'exit'
 * hook); a second Ctrl-C kills everything at once.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from './api.js';
import { type DemoSettings, parseDemoArgs, USAGE } from './args.js';
import { DevnetClient } from './devnet.js';
import { Miner } from './miner.js';
import { Narrator } from './narrator.js';
import { Supervisor } from './processes.js';
import { type Context, emptyOutcomes, type Outcomes } from './scenario-context.js';
import { runDeposits } from './scenario-deposits.js';
import { runSweep } from './scenario-sweep.js';
import { runWithdrawals } from './scenario-withdrawals.js';
import { LARGE_DEPOSIT, type System, setUp } from './setup.js';
import { shutDown } from './shutdown.js';
import {
  lineFaults,
  missedExpectations,
  printSummary,
  reconcile,
  resultLine,
  type ShutdownReport,
} from './summary.js';
import { DEMO_DIR, resolveTools } from './tools.js';
import { DemoError, waitFor } from './wait.js';

/** Mature coinbases for the faucet: 130 blocks leave 30 spendable 50 BTC outputs. */
const INITIAL_BLOCKS = 130;
/** The demo chain's block time. */
const BLOCK_INTERVAL_MS = 1000;

async function runScenario(
  say: Narrator,
  sys: System,
  settings: DemoSettings,
  signal: AbortSignal,
  out: Outcomes,
  miners: Miner[],
): Promise<{ ctx: Context; apiUrl: string }> {
  const info = sys.serveInfo;
  const coordinator = sys.coordinator;
  if (info === null || coordinator === null) {
    throw new DemoError('demo/scenario: expected a serving coordinator, got none');
  }
  const api = new ApiClient(info.api, sys.exchangeKey, sys.operatorKey);
  await waitFor(
    'GET /healthz 200',
    async () =>
      (await api.healthy()) ? { done: true, value: true } : { done: false, state: 'not healthy' },
    { timeoutMs: 30_000, signal },
  );
  const devnet = new DevnetClient(info.devnet, join(sys.coordinatorCli.dir, 'devnet.cookie'));
  const minerAddress = await devnet.newAddress();
  await devnet.mine(INITIAL_BLOCKS, minerAddress);
  const miner = new Miner(devnet, minerAddress, BLOCK_INTERVAL_MS);
  miners.push(miner);
  miner.start();
  say.step(
    `devnet: ${INITIAL_BLOCKS} blocks mined to its wallet (the faucet); from now on one block every ${BLOCK_INTERVAL_MS / 1000} s`,
  );
  const ctx: Context = {
    say,
    api,
    devnet,
    miner,
    coordinator,
    signers: sys.signers,
    signal,
    settings: {
      users: settings.users,
      largeDeposit: LARGE_DEPOSIT,
      denied: sys.denied,
      stepTimeoutMs: settings.stepTimeoutMs,
      faults: settings.faults,
    },
  };
  const deposits = await runDeposits(ctx, out);
  await runWithdrawals(ctx, out, deposits);
  out.reconciliation = await reconcile(ctx, 'Ledger vs chain');
  const after = await runSweep(ctx, sys, out, miners);
  out.blocksMined = miners.reduce((n, m) => n + m.blocksMined, 0);
  printSummary(after, out, after.api.baseUrl);
  return { ctx: after, apiUrl: after.api.baseUrl };
}

export interface RunOptions {
  /** Stop (as on SIGTERM) when the parent process goes away: the launcher of main.ts. */
  readonly stopWhenOrphaned?: boolean;
}

export async function runDemo(argv: readonly string[], options: RunOptions = {}): Promise<number> {
  let settings: DemoSettings;
  try {
    settings = parseDemoArgs(argv);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  if (settings.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const say = new Narrator(process.stdout);
  const workDir = mkdtempSync(join(tmpdir(), 'keyline-demo-'));
  const logDir = join(workDir, 'logs');
  mkdirSync(logDir, { mode: 0o700 });
  const sup = new Supervisor(logDir);
  process.on('exit', () => sup.killAll());

  const abort = new AbortController();
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) {
      process.stderr.write(`demo: second ${sig}: killing everything now\n`);
      sup.killAll();
      if (!settings.keep) rmSync(workDir, { recursive: true, force: true });
      process.exit(130);
    }
    interrupted = true;
    say.warn(`${sig}: stopping (a second ${sig} kills everything at once)`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const parent = process.ppid;
  const orphanWatch = setInterval(() => {
    if (options.stopWhenOrphaned === true && process.ppid !== parent && !interrupted) {
      say.warn('the launcher went away');
      onSignal('SIGHUP');
    }
  }, 1000);
  orphanWatch.unref();

  say.title('Keyline demo: coordinator + three signer devices over paced serial lines + devnet');
  say.detail(`work directory ${workDir} (${settings.keep ? 'kept' : 'removed'} at the end)`);
  say.detail(
    `node ${process.version}; tools from ${settings.fromSource ? 'TypeScript sources (tsx)' : 'built dist/'}; ${settings.users} users; lines at ${settings.baud} baud 8N1`,
  );

  const holder: { current: System | null } = { current: null };
  const out = emptyOutcomes();
  const miners: Miner[] = [];
  let failure: string | null = null;
  let shutdown: ShutdownReport | null = null;
  let apiUrl = '';
  try {
    const tools = resolveTools(settings.fromSource);
    const sys = await setUp(
      say,
      sup,
      tools,
      {
        workDir,
        baud: settings.baud,
        faults: settings.faults,
        cwd: DEMO_DIR,
        signal: abort.signal,
      },
      holder,
    );
    const run = await runScenario(say, sys, settings, abort.signal, out, miners);
    apiUrl = run.apiUrl;
    if (!settings.once && !abort.signal.aborted) {
      say.heading('Serving');
      say.detail(
        `API ${run.apiUrl} — exchange key ${sys.exchangeKey}, operator key ${sys.operatorKey}`,
      );
      say.detail(
        `e.g. curl -s -H "authorization: Bearer ${sys.operatorKey}" ${run.apiUrl}/v1/devices`,
      );
      say.detail(
        `devnet RPC ${sys.serveInfo?.devnet ?? '?'} (cookie ${join(sys.coordinatorCli.dir, 'devnet.cookie')}); a block is still mined every second`,
      );
      say.detail(
        'Ctrl-C stops it: SIGTERM to the coordinator and the signers (the devices lock and wipe their keys)',
      );
      await new Promise<void>((resolve) => {
        if (abort.signal.aborted) resolve();
        else abort.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
    if (!(interrupted && !settings.once)) say.warn(`demo failed: ${failure}`);
  } finally {
    for (const m of miners) await m.stop();
    shutdown = await shutDown(say, holder.current, sup);
    if (settings.keep) say.detail(`work directory kept: ${workDir} (logs in ${logDir})`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  // A Ctrl-C while serving is the normal end of an interactive run, not a failure.
  const endedByUser = interrupted && !settings.once && failure === null;
  const missed = missedExpectations(settings.users, out, shutdown);
  if (failure !== null) missed.unshift(`the scenario ran to the end (it stopped: ${failure})`);
  say.raw(
    resultLine(settings.users, out, shutdown, missed, {
      ownHolderActivation: holder.current?.ownHolderRefusal ?? null,
      lineFaults: settings.faults ? lineFaults(holder.current?.signers ?? []) : null,
      api: apiUrl,
      seconds: Math.round(say.elapsedSeconds),
    }),
  );
  if (missed.length > 0) {
    // After a failure the outcomes of the steps that never ran are missing too: name the
    // failure, count the rest (the result line lists them all).
    const shown = failure === null ? missed : missed.slice(0, 1);
    const rest = missed.length - shown.length;
    say.warn(
      `expected outcomes that did not happen:\n${shown.map((m) => `  - ${m}`).join('\n')}${rest > 0 ? `\n  (and ${rest} more, listed in the result line)` : ''}`,
    );
    return 1;
  }
  say.step(endedByUser ? 'stopped cleanly' : 'every expected outcome happened; stopped cleanly');
  return 0;
}

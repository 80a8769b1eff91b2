/**
 * Withdrawal submissions per second through the HTTP API into SQLite and PostgreSQL, with
 * durable commits (SQLite WAL + synchronous=FULL; PostgreSQL synchronous_commit as configured,
 * printed).
 *
 *   npx tsx bench/api.bench.ts [--requests 20000] [--concurrency 64] [--backends sqlite,postgres]
 *                              [--modes commit-per-request,group-commit,full-intake]
 *
 * The server runs in a child process (the real API: buildApi with auth against the api_keys
 * table, zod parsing, the default rate limiter switched off, logging off); this process is the
 * HTTP client (keep-alive, `concurrency` requests in flight). The service behind the API is a
 * minimal BENCH service, not the coordinator's: `submitWithdrawal` calls `insertWithdrawal`
 * (src/storage/withdrawals.ts) — one durable row per submission, idempotent by (user, key) — and
 * does no risk check, no address decoding (a fixed P2WPKH script) and no ledger posting. Mode
 * `commit-per-request` commits each insert on its own; `group-commit` inserts the submissions
 * that arrive in one event-loop turn in one transaction and answers each after that commit.
 * At the end the row count is read back and must equal the number of 201 answers.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sql } from 'kysely';
import pg from 'pg';
import { buildApi } from '../src/api/server.js';
import { CoordinatorError } from '../src/errors.js';
import { depositCredited } from '../src/ledger/deposit-entries.js';
import { parseRiskConfig } from '../src/risk/config.js';
import type {
  CoordinatorService,
  SubmitWithdrawalInput,
  WithdrawalState,
  WithdrawalView,
} from '../src/service/contract.js';
import { postEntry } from '../src/service/post-entry.js';
import { submitWithdrawal } from '../src/service/withdrawals.js';
import { apiKeyStore, createApiKey } from '../src/storage/api-keys.js';
import { type Database, openDatabase } from '../src/storage/database.js';
import { withTransaction } from '../src/storage/transaction.js';
import { insertWithdrawal, type Withdrawal } from '../src/storage/withdrawals.js';

const PG_URL = process.env.KEYLINE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCRIPT = Uint8Array.from([0x00, 0x14, ...new Array<number>(20).fill(0x5a)]);
const ADDRESS = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';

type Mode = 'commit-per-request' | 'group-commit' | 'full-intake';
type BackendName = 'sqlite' | 'postgres';

// ---- the bench service (child process) -----------------------------------------------------

function view(w: Withdrawal, address: string): WithdrawalView {
  return {
    id: w.id,
    userId: w.userId,
    asset: w.asset,
    address,
    scriptPubKey: bytesToHex(w.destinationScript),
    amount: w.amount,
    state: w.state as WithdrawalState,
    history: w.stateHistory.map((h) => ({ state: h.state, at: Number(h.at) })),
    risk: { outcome: w.riskOutcome, reasons: [...(w.riskReasons ?? [])] },
    txid: null,
    deviceReport: null,
    createdAt: Number(w.createdAt),
    updatedAt: Number(w.updatedAt),
  };
}

function benchService(database: Database, mode: Mode): CoordinatorService {
  let seq = 0;
  const input = (s: SubmitWithdrawalInput) => ({
    id: `wd-${process.pid}-${++seq}`,
    userId: s.userId,
    idempotencyKey: s.idempotencyKey,
    asset: 'BTC',
    destinationScript: SCRIPT,
    amount: s.amount,
    state: 'requested',
    at: new Date(),
  });

  // group-commit: the submissions of one event-loop turn share one transaction.
  type Waiter = {
    s: SubmitWithdrawalInput;
    resolve: (r: { withdrawal: WithdrawalView; created: boolean }) => void;
    reject: (e: unknown) => void;
  };
  let pending: Waiter[] = [];
  let scheduled = false;
  // Batches are not chained: SQLite's one connection runs them one after another anyway, and on
  // PostgreSQL several batches commit in parallel on the pool.
  const flush = () => {
    scheduled = false;
    const batch = pending;
    pending = [];
    void (async () => {
      const results: (
        | { ok: true; v: { withdrawal: WithdrawalView; created: boolean } }
        | { ok: false; e: unknown }
      )[] = [];
      try {
        await withTransaction(
          database.db,
          async (trx) => {
            results.length = 0;
            for (const w of batch) {
              try {
                const r = await insertWithdrawal(trx, input(w.s));
                results.push({
                  ok: true,
                  v: { withdrawal: view(r.withdrawal, w.s.address), created: r.created },
                });
              } catch (e) {
                if (e instanceof CoordinatorError && e.code === 'DUPLICATE')
                  results.push({ ok: false, e });
                else throw e;
              }
            }
          },
          { isolation: 'read committed' },
        );
      } catch (e) {
        for (const w of batch) w.reject(e);
        return;
      }
      batch.forEach((w, i) => {
        const r = results[i]!;
        if (r.ok) w.resolve(r.v);
        else w.reject(r.e);
      });
    })();
  };

  const notHere = async (): Promise<never> => {
    throw new CoordinatorError(
      'INTERNAL',
      'bench/service: expected only submitWithdrawal, got another call',
    );
  };
  // full-intake: the coordinator's real intake (service/withdrawals.ts): address decoding, the
  // user's history read and every online risk rule evaluated, the withdrawal inserted and the
  // user's funds reserved by a balanced journal entry — one durable transaction per submission.
  const intake = {
    db: database.db,
    network: 'regtest' as const,
    risk: parseRiskConfig({
      withdrawal: {
        frequency: { windowSeconds: 3600, maxCount: 1_000_000, outcome: 'hold' },
        largeAmount: { threshold: 100_000_000_000n, outcome: 'hold' },
        profitAnomaly: { factorPercent: 1_000_000, outcome: 'hold' },
        credentialChangeCoolingSeconds: 86_400,
        firstTimeDestination: 'allow',
        denyScriptPubKeys: [],
        globalOutflow: { windowSeconds: 3600, maxAmount: 2_000_000_000_000_000n, outcome: 'hold' },
      },
      deposit: {
        denySourceScriptPubKeys: [],
        minAmount: 1000n,
        largeAmount: 1_000_000_000n,
        frequency: { windowSeconds: 3600, maxCount: 100 },
      },
    }),
    now: () => Date.now(),
  };
  return {
    submitWithdrawal: async (s) => {
      if (mode === 'full-intake') {
        const r = await submitWithdrawal(intake, s);
        return { withdrawal: view(r.withdrawal, s.address), created: r.created };
      }
      if (mode === 'commit-per-request') {
        const r = await insertWithdrawal(database.db, input(s));
        return { withdrawal: view(r.withdrawal, s.address), created: r.created };
      }
      return new Promise((resolve, reject) => {
        pending.push({ s, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    createDepositAddress: notHere,
    getWithdrawal: notHere,
    listWithdrawals: notHere,
    listDeposits: notHere,
    balances: notHere,
    reviewQueue: notHere,
    approveWithdrawal: notHere,
    rejectWithdrawal: notHere,
    clearDeposit: notHere,
    pause: notHere,
    resume: notHere,
    status: notHere,
    devices: notHere,
    reconciliation: notHere,
    withdrawalCountsByState: notHere,
    hotWalletBalance: notHere,
  };
}

async function serve(backend: BackendName, mode: Mode): Promise<void> {
  let database: Database;
  let cleanup: () => Promise<void>;
  let durability: string;
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keyline-api-bench-'));
    database = await openDatabase({ kind: 'sqlite', path: join(dir, 'coordinator.sqlite') });
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
    durability = 'SQLite file, journal_mode=WAL, synchronous=FULL (fsync per commit)';
  } else {
    const schema = `keyline_bench_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    const settings = await admin.query<{ s: string; f: string }>(
      `select current_setting('synchronous_commit') as s, current_setting('fsync') as f`,
    );
    await admin.end();
    database = await openDatabase({ kind: 'postgres', url: PG_URL, schema, maxConnections: 16 });
    cleanup = async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema ${schema} cascade`);
      await c.end();
    };
    durability = `PostgreSQL at ${PG_URL.replace(/\/\/[^@]*@/, '//')}, synchronous_commit=${settings.rows[0]?.s}, fsync=${settings.rows[0]?.f}, pool 16`;
  }
  if (mode === 'full-intake') {
    // 1,000 users with deposits credited, so that every submission is funded.
    await withTransaction(database.db, async (trx) => {
      for (let u = 0; u < 1000; u++) {
        await postEntry(
          trx,
          depositCredited({ depositId: `bench-${u}`, userId: `user-${u}`, amount: 1_000_000_000n }),
          new Date(),
        );
      }
    });
  }
  const key = await createApiKey(
    database.db,
    { name: 'bench-exchange', role: 'exchange' },
    new Date(),
  );
  const app = buildApi({
    service: benchService(database, mode),
    keys: apiKeyStore(database.db),
    logger: false,
    limits: { rateLimit: false },
    metrics: undefined,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  process.send?.({ kind: 'ready', port, secret: key.secret, durability });
  process.on('message', async (m: { kind: string }) => {
    if (m.kind === 'count') {
      const row = await database.db
        .selectFrom('withdrawals')
        .select(sql<bigint>`count(*)`.as('n'))
        .executeTakeFirstOrThrow();
      process.send?.({ kind: 'count', n: Number(row.n) });
    } else if (m.kind === 'stop') {
      await app.close();
      await database.close();
      await cleanup();
      process.exit(0);
    }
  });
}

// ---- the client (parent process) -----------------------------------------------------------

interface Args {
  requests: number;
  concurrency: number;
  warmup: number;
  backends: BackendName[];
  modes: Mode[];
}

function parseArgs(argv: string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    requests: Number(get('requests') ?? 20_000),
    concurrency: Number(get('concurrency') ?? 64),
    warmup: Number(get('warmup') ?? 1_000),
    backends: (get('backends') ?? 'sqlite,postgres').split(',') as BackendName[],
    modes: (get('modes') ?? 'commit-per-request,group-commit,full-intake').split(',') as Mode[],
  };
}

function post(agent: Agent, port: number, secret: string, body: string, key: string) {
  return new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/withdrawals',
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${secret}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'idempotency-key': key,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function load(port: number, secret: string, run: string, n: number, concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const body = JSON.stringify({
        userId: `user-${i % 1000}`,
        address: ADDRESS,
        amount: String(10_000 + i),
        flags: { newDevice: false },
      });
      const t0 = process.hrtime.bigint();
      const status = await post(agent, port, secret, body, `${run}-${i}`);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { seconds, statuses, p50: pct(0.5), p99: pct(0.99) };
}

async function bench(backend: BackendName, mode: Mode, args: Args) {
  const prof =
    process.env.BENCH_CPU_PROF === undefined
      ? []
      : ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`];
  const child = spawn(
    process.execPath,
    [...prof, ...process.execArgv, fileURLToPath(import.meta.url), '--serve', backend, mode],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const ask = <T>(msg: object | null, kind: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { kind: string }) => {
        if (m.kind === kind) {
          child.off('message', onMessage);
          resolve(m as T);
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
      if (msg !== null) child.send(msg);
    });
  const ready = await ask<{ port: number; secret: string; durability: string }>(null, 'ready');
  const loadBefore = loadavg()[0] ?? 0;
  await load(ready.port, ready.secret, 'warmup', args.warmup, args.concurrency);
  const r = await load(ready.port, ready.secret, 'run', args.requests, args.concurrency);
  const { n } = await ask<{ n: number }>({ kind: 'count' }, 'count');
  child.send({ kind: 'stop' });
  await new Promise((resolve) => child.once('exit', resolve));
  const created = r.statuses.get(201) ?? 0;
  console.log(
    [
      `${backend.padEnd(8)} ${mode.padEnd(18)} ${(args.requests / r.seconds).toFixed(0).padStart(6)} submissions/s`,
      `  ${args.requests} requests in ${r.seconds.toFixed(2)} s, ${args.concurrency} in flight, latency p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms`,
      `  answers: ${[...r.statuses].map(([s, c]) => `${s}×${c}`).join(', ')}; rows in withdrawals: ${n} (warmup ${args.warmup} + 201s ${created})`,
      `  storage: ${ready.durability}`,
      `  1-min load average before/after: ${loadBefore.toFixed(2)} / ${(loadavg()[0] ?? 0).toFixed(2)} (other processes share the ${cpus().length} cores)`,
    ].join('\n'),
  );
  if (n !== args.warmup + created)
    throw new Error('bench: row count does not match the 201 answers');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--serve') {
    await serve(argv[1] as BackendName, argv[2] as Mode);
    return;
  }
  const args = parseArgs(argv);
  console.log(
    'Keyline API bench: POST /v1/withdrawals (auth + zod + Idempotency-Key) into storage',
  );
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; node ${process.version}; ${process.platform}/${process.arch}`,
  );
  console.log(
    'service: BENCH service (not the coordinator service): insertWithdrawal per submission (one durable row, idempotent by user+key); no risk, no ledger, no address decoding',
  );
  console.log(
    'server: child process, buildApi, logging off, rate limit off; client: this process, http keep-alive\n',
  );
  for (const backend of args.backends) {
    for (const mode of args.modes) await bench(backend, mode, args);
  }
}

await main();

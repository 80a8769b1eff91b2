/**
 * `pnpm demo`: the whole Keyline system on one machine — key ceremony, three `keyline-signer
 * serve` daemons on socat pseudo-terminal pairs paced at 115200 baud, `keyline-coordinator serve`
 * on SQLite and the embedded devnet, and a scenario a viewer can follow — in a temporary
 * directory.
 *
 * This entry is a launcher. It checks the prerequisites with node built-ins only (socat; the built
 * packages, built once if missing, as on a fresh clone), then runs the demo itself (run.ts) in a
 * worker process of its own process group. Why: Ctrl-C in a terminal signals the whole
 * foreground group; the signer daemons, the coordinator and the socat pairs would each get it at
 * once and stop in no particular order (a signer whose line vanished, a second signal counted as
 * "force"). In its own group the worker alone is told, once, and stops the system in order:
 * coordinator first, then the signers (SIGTERM: they lock and wipe their keys), then the lines.
 * A second Ctrl-C is passed on and kills everything at once. The worker stops by itself if this
 * launcher disappears.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWorkspace, missingDists, socatMissing, staleDists } from './prerequisites.js';
import { PACKAGES_DIR } from './tools.js';

const WORKER_ENV = 'KEYLINE_DEMO_WORKER';
/** The same Ctrl-C can arrive twice (from the terminal and relayed by tsx): one within this counts once. */
const SIGNAL_DEDUPE_MS = 500;

function prerequisites(argv: readonly string[]): number | null {
  if (socatMissing()) {
    process.stderr.write('demo: socat is missing; install it: apt-get install -y socat\n');
    return 2;
  }
  const missing = missingDists(PACKAGES_DIR);
  if (missing.length > 0) {
    if (argv.includes('--no-build')) {
      process.stderr.write(
        `demo: expected the built packages, got none of ${missing.join(', ')}; run \`pnpm build\`\n`,
      );
      return 2;
    }
    process.stdout.write(
      `demo: the packages are not built yet (${missing.length} files missing, e.g. ${missing[0]}): running pnpm -r run build once\n`,
    );
    if (!buildWorkspace(join(PACKAGES_DIR, '..')) || missingDists(PACKAGES_DIR).length > 0) {
      process.stderr.write(
        'demo: expected `pnpm -r run build` to build the packages, got a failure\n',
      );
      return 2;
    }
  }
  const stale = staleDists(PACKAGES_DIR);
  if (stale.length > 0) {
    process.stdout.write(
      `demo: note: ${stale.map((p) => `packages/${p}/dist`).join(', ')} older than its sources; ${argv.includes('--from-source') ? 'the CLIs run from source (--from-source)' : 'run `pnpm build` or pass --from-source if the run fails'}\n`,
    );
  }
  return null;
}

async function launch(argv: readonly string[]): Promise<number> {
  if (!argv.includes('--help') && !argv.includes('-h')) {
    const refused = prerequisites(argv);
    if (refused !== null) return refused;
  }
  const worker = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), ...argv],
    {
      stdio: 'inherit',
      detached: true,
      env: { ...process.env, [WORKER_ENV]: '1' },
    },
  );
  let last = Number.NEGATIVE_INFINITY;
  const forward = (sig: NodeJS.Signals) => {
    const now = Date.now();
    if (now - last < SIGNAL_DEDUPE_MS) return;
    last = now;
    worker.kill(sig);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  process.on('SIGHUP', forward);
  return new Promise((resolve) => {
    worker.once('error', (e) => {
      process.stderr.write(`demo: could not start the worker: ${e.message}\n`);
      resolve(1);
    });
    worker.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + 1)));
  });
}

async function work(argv: readonly string[]): Promise<number> {
  const { runDemo } = await import('./run.js');
  return runDemo(argv, { stopWhenOrphaned: true });
}

const argv = process.argv.slice(2);
(process.env[WORKER_ENV] === '1' ? work(argv) : launch(argv)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`demo: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);

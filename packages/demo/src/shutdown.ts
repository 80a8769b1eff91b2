/**
 * Stopping the system, on every exit path: SIGTERM to the coordinator first (it stops taking
 * requests, finishes its loops, closes its lines, the node and the database, wipes its keys),
 * then to each signer still running (it stops serving, locks: audit entry, keys wiped, exit 0).
 * Each gets a bounded time before SIGKILL. The exit codes are checked: a clean shutdown is the
 * coordinator and every surviving signer exiting 0 — the signer the demo killed is expected to
 * have died by SIGKILL. Then the serial lines (relays and socat pairs) are closed.
 */
import type { Narrator } from './narrator.js';
import type { ChildHandle, Supervisor } from './processes.js';
import type { System } from './setup.js';
import type { ShutdownReport } from './summary.js';
import { sleep } from './wait.js';

const STOP_TIMEOUT_MS = 30_000;

async function stop(child: ChildHandle): Promise<{ code: number | null; signal: string | null }> {
  if (child.running) {
    child.kill('SIGTERM');
    const exit = await Promise.race([child.exited, sleep(STOP_TIMEOUT_MS).then(() => null)]);
    if (exit === null) {
      child.kill('SIGKILL');
      await child.exited;
    }
  }
  const exit = await child.exited;
  return { code: exit.code, signal: exit.signal };
}

export async function shutDown(
  say: Narrator,
  sys: System | null,
  sup: Supervisor,
): Promise<ShutdownReport | null> {
  if (sys === null) {
    sup.killAll();
    return null;
  }
  say.heading('Shutdown');
  let clean = true;
  let coordinator: ShutdownReport['coordinator'] = null;
  if (sys.coordinator !== null) {
    coordinator = await stop(sys.coordinator);
    const stopped = sys.coordinator.records().some((r) => r.event === 'coordinator_stopped');
    clean &&= coordinator.code === 0 && stopped;
    say.step(
      `coordinator: SIGTERM → exit ${String(coordinator.code ?? coordinator.signal)}${stopped ? ' (API closed, loops finished, links, node and database closed, keys wiped)' : ''}`,
    );
  }
  const signers: ShutdownReport['signers'] = {};
  for (const s of sys.signers) {
    const wasRunning = s.process.running;
    const exit = await stop(s.process);
    const complete = s.process.records().some((r) => r.msg === 'shutdown complete');
    signers[s.id] = { ...exit, killedByDemo: s.killed };
    if (s.killed) {
      clean &&= exit.signal === 'SIGKILL';
      say.step(`${s.id}: was killed earlier (signal ${String(exit.signal)})`);
    } else {
      clean &&= exit.code === 0 && complete && wasRunning;
      say.step(
        `${s.id}: SIGTERM → exit ${String(exit.code ?? exit.signal)}${complete ? ' (locked: key wiped from RAM, audit entry written)' : ''}`,
      );
    }
  }
  for (const s of sys.signers) await s.line.close().catch(() => undefined);
  sup.killAll();
  say.step(
    `serial lines closed (relays stopped, socat pairs removed)${clean ? '' : ' — NOT a clean shutdown'}`,
  );
  return { coordinator, signers, clean };
}

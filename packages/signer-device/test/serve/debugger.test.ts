/**
 * The daemon refuses to run under an inspector: `node --inspect … serve` (and NODE_OPTIONS
 * --inspect) exits non-zero with the debugger message before any key is read, and never
 * reaches "starting" or opens the serial port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Daemon, type DaemonSetup, setupDaemons, startDaemon } from './harness.js';

describe('serve refuses a debugger', () => {
  let s: DaemonSetup;
  const daemons: Daemon[] = [];
  beforeAll(async () => {
    s = await setupDaemons('debugger');
  });
  afterAll(async () => {
    for (const d of daemons) await d.dispose();
    await s.d.cleanup();
  });

  it('exits non-zero with the message when started with --inspect', async () => {
    const daemon = await startDaemon(s, 0, {
      nodeArgs: ['--inspect=127.0.0.1:0'],
      args: ['--provision'],
    });
    daemons.push(daemon);
    const exit = await daemon.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(daemon.stderr()).toMatch(
      /BAD_CONFIG: daemon\/debugger-guard: refusing to start with a debugger: .*execArgv --inspect/,
    );
    expect(daemon.logs().map((l) => l.msg)).not.toContain('starting');
    expect(daemon.stdout()).not.toContain('KEYLINE ACTIVATION');
  });

  // (--inspect-brk is not tested: node halts before any user code until a debugger attaches.)
  it('exits non-zero when NODE_OPTIONS asks for --inspect', async () => {
    const daemon = await startDaemon(s, 0, {
      args: ['--provision'],
      env: { NODE_OPTIONS: '--inspect=127.0.0.1:0' },
    });
    daemons.push(daemon);
    const exit = await daemon.exited;
    expect(exit.code).not.toBe(0);
    expect(daemon.stderr()).toMatch(/refusing to start with a debugger: .*--inspect/);
  });

  it('starts without one (the refusal above is the debugger, not the setup)', async () => {
    const daemon = await startDaemon(s, 0, { args: ['--provision'] });
    daemons.push(daemon);
    await daemon.waitForLog('serving');
    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
  });
});

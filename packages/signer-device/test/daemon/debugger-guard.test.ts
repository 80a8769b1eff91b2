import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  blockInspectorSignal,
  checkDebuggerFacts,
  type DebuggerFacts,
  isDebugOption,
} from '../../src/daemon/debugger-guard.js';
import { isSignerError, type SignerError } from '../../src/errors.js';

const clean: DebuggerFacts = { execArgv: [], nodeOptions: undefined, inspectorUrl: undefined };

function refusal(facts: Partial<DebuggerFacts>): SignerError {
  try {
    checkDebuggerFacts({ ...clean, ...facts });
  } catch (e) {
    if (isSignerError(e)) return e;
    throw e;
  }
  throw new Error('expected the guard to refuse');
}

describe('checkDebuggerFacts', () => {
  it('passes a process without debugger', () => {
    expect(() =>
      checkDebuggerFacts({
        execArgv: ['--enable-source-maps', '--import', 'tsx', '--jitless', '--conditions=dev'],
        nodeOptions: '--max-old-space-size=256 --require ./inspector-free.js',
        inspectorUrl: undefined,
      }),
    ).not.toThrow();
  });

  for (const flag of [
    '--inspect',
    '--inspect=0',
    '--inspect=127.0.0.1:9229',
    '--inspect-brk',
    '--inspect-brk=0',
    '--inspect-port=0',
    '--inspect-wait',
    '--inspect_brk',
    '--debug',
    '--debug-brk',
    '--debug-port=5858',
    '--INSPECT',
  ]) {
    it(`refuses ${flag} in execArgv`, () => {
      const e = refusal({ execArgv: ['--enable-source-maps', flag] });
      expect(e.code).toBe('BAD_CONFIG');
      expect(e.message).toMatch(/^daemon\/debugger-guard: refusing to start with a debugger/);
      expect(e.message).toContain('execArgv');
    });
  }

  it('refuses debug options in NODE_OPTIONS, quoted or not', () => {
    for (const opts of [
      '--inspect',
      '--max-old-space-size=1 --inspect-brk=0',
      '"--inspect=0"',
      ' --debug ',
    ]) {
      expect(refusal({ nodeOptions: opts }).message).toContain('NODE_OPTIONS');
    }
  });

  it('refuses an open inspector', () => {
    const e = refusal({ inspectorUrl: 'ws://127.0.0.1:9229/abc' });
    expect(e.message).toContain('inspector.url()');
    expect(e.detail.reason).toBe('debugger');
  });

  it('recognises only debugger options', () => {
    expect(isDebugOption('--inspector-free')).toBe(false);
    expect(isDebugOption('--debugger')).toBe(false);
    expect(isDebugOption('inspect')).toBe(false);
    expect(isDebugOption('--inspect-publish-uid=http')).toBe(true);
  });

  it('blockInspectorSignal installs a SIGUSR1 listener', () => {
    const events: string[] = [];
    blockInspectorSignal({ on: (event) => void events.push(event) });
    expect(events).toEqual(['SIGUSR1']);
  });
});

describe('debugger guard in a real process', () => {
  const guard = fileURLToPath(new URL('../../src/daemon/debugger-guard.ts', import.meta.url));
  const root = fileURLToPath(new URL('../../../../', import.meta.url));
  const script = (body: string): string =>
    `import(${JSON.stringify(guard)}).then(async (m) => { ${body} })` +
    `.catch((e) => { process.stderr.write('GUARD: ' + e.message); process.exit(3); });`;
  const run = (nodeArgs: string[], body: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', '-e', script(body)], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
  const start = "m.assertNoDebugger(); process.stdout.write('started');";

  it('starts without a debugger', () => {
    const r = run([], start);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('started');
  });

  it('node --inspect=0 exits non-zero with the message', () => {
    const r = run(['--inspect=0'], start);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('GUARD: daemon/debugger-guard: refusing to start with a debugger');
    expect(r.stderr).toContain('execArgv --inspect');
  });

  it('NODE_OPTIONS=--inspect=0 is refused', () => {
    const r = run([], start, { NODE_OPTIONS: '--inspect=0' });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('NODE_OPTIONS --inspect');
  });

  it('an inspector opened at run time is refused', () => {
    const r = run([], `(await import('node:inspector')).default.open(0); ${start}`);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('inspector.url() is defined');
  });

  // SIGUSR1 opens the inspector of a running node (the attack); a listener stops it.
  const usr1 = (block: boolean): string => `
    const inspector = (await import('node:inspector')).default;
    const keepAlive = setInterval(() => {}, 1000); // signal handles do not keep node running
    const handled = new Promise((resolve) => { ${block ? 'm.blockInspectorSignal(process, resolve);' : ''} });
    process.kill(process.pid, 'SIGUSR1');
    ${
      block
        ? 'await handled;'
        : 'while (inspector.url() === undefined) await new Promise((r) => setTimeout(r, 20));'
    }
    clearInterval(keepAlive);
    process.stdout.write(String(inspector.url() !== undefined));
    process.exit(0);`;

  it('without the block, SIGUSR1 opens the inspector', () => {
    const r = run(['--inspect-port=0'], usr1(false));
    expect(r.stdout).toBe('true');
  });

  it('with blockInspectorSignal, SIGUSR1 does not', () => {
    const r = run(['--inspect-port=0'], usr1(true));
    expect(r.stdout).toBe('false');
  });
});

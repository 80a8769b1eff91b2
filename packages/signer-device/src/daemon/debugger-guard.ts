/**
 * Refuse to run with a debugger attached or attachable: an inspector can read every key in RAM.
 * `checkDebuggerFacts` is a pure function of the facts; `assertNoDebugger` reads them from the
 * real process; `blockInspectorSignal` stops SIGUSR1 from opening the inspector later (Node starts
 * it on SIGUSR1 unless a listener is installed). docs/daemon.md §4.
 */
import inspector from 'node:inspector';
import { SignerError } from '../errors.js';

/** Option names that enable the inspector or the legacy debugger, in any of their spellings. */
export const DEBUG_OPTION_PREFIXES = Object.freeze([
  '--inspect',
  '--inspect-brk',
  '--inspect-port',
  '--inspect-wait',
  '--inspect-publish-uid',
  '--debug',
  '--debug-brk',
  '--debug-port',
]);

export interface DebuggerFacts {
  /** `process.execArgv`: options given to node itself. */
  readonly execArgv: readonly string[];
  /** `process.env.NODE_OPTIONS`. */
  readonly nodeOptions: string | undefined;
  /** `inspector.url()`: defined while an inspector is listening. */
  readonly inspectorUrl: string | undefined;
}

const PLACE = 'daemon/debugger-guard';

/**
 * Whether one command-line token enables a debugger. Node accepts `_` for `-` inside option
 * names, and `--opt=value`; any option that starts with `--inspect` or `--debug` counts.
 */
export function isDebugOption(token: string): boolean {
  const name = (token.split('=', 1)[0] ?? '').replace(/^["']+/, '').replace(/_/g, '-');
  return /^--(inspect|debug)(-[a-z-]*)?$/i.test(name);
}

/** NODE_OPTIONS is split on whitespace; quotes around a token are ignored. */
function nodeOptionTokens(nodeOptions: string): string[] {
  return nodeOptions.split(/\s+/).filter((t) => t.length > 0);
}

/**
 * Throws BAD_CONFIG when any fact shows a debugger: a debug option in execArgv or NODE_OPTIONS,
 * or a listening inspector. Returns normally otherwise.
 */
export function checkDebuggerFacts(facts: DebuggerFacts): void {
  if (!Array.isArray(facts.execArgv)) {
    throw new SignerError('BAD_CONFIG', `${PLACE}: expected execArgv as an array of strings`);
  }
  const found: string[] = [];
  for (const token of facts.execArgv) {
    if (typeof token === 'string' && isDebugOption(token)) {
      found.push(`execArgv ${token.split('=', 1)[0]}`);
    }
  }
  if (typeof facts.nodeOptions === 'string') {
    for (const token of nodeOptionTokens(facts.nodeOptions)) {
      if (isDebugOption(token)) found.push(`NODE_OPTIONS ${token.split('=', 1)[0]}`);
    }
  }
  if (typeof facts.inspectorUrl === 'string' && facts.inspectorUrl.length > 0) {
    found.push('an open inspector (inspector.url() is defined)');
  }
  if (found.length > 0) {
    throw new SignerError(
      'BAD_CONFIG',
      `${PLACE}: refusing to start with a debugger: expected no inspector or debug option, got ${found.join(', ')}`,
      { reason: 'debugger', found },
    );
  }
}

/** The facts of the running process. */
export function currentDebuggerFacts(): DebuggerFacts {
  return {
    execArgv: [...process.execArgv],
    nodeOptions: process.env.NODE_OPTIONS,
    inspectorUrl: inspector.url(),
  };
}

/** Throws BAD_CONFIG if the running process has, or was started to have, a debugger. */
export function assertNoDebugger(): void {
  checkDebuggerFacts(currentDebuggerFacts());
}

/** The part of `process` that `blockInspectorSignal` needs (injected in tests). */
export interface SignalSource {
  on(event: 'SIGUSR1', listener: () => void): unknown;
}

/**
 * Install a SIGUSR1 listener so that the signal no longer opens the inspector (Node 20 opens it
 * on SIGUSR1 only while no listener is installed). `onSignal` may log the attempt.
 */
export function blockInspectorSignal(
  source: SignalSource = process,
  onSignal: () => void = () => {},
): void {
  source.on('SIGUSR1', onSignal);
}

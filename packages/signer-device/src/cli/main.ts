/**
 * The `keyline-signer` program (ceremony commands): one commander program, one module per
 * command. `run(argv, io)` parses `argv` (user arguments, without `node script`), runs the
 * command and returns the exit code: 0 success, 1 refused or failed, 2 bad usage. Errors are
 * printed as `CODE: message`. `main()` is what bin/keyline-signer.js calls. docs/cli.md.
 */
import { Command } from 'commander';
import { assertNoDebugger, blockInspectorSignal } from '../daemon/debugger-guard.js';
import { EXIT_CODES, reportError, USAGE_CODE } from './cli-errors.js';
import { type CliIo, processIo } from './cli-io.js';
import { registerHolderKeygen } from './holder-keygen.js';
import { registerKeygen } from './keygen.js';
import { registerPolicyBundle } from './policy-bundle.js';
import { registerPolicySign } from './policy-sign.js';
import { registerPolicyVerify } from './policy-verify.js';
import { registerRestore } from './restore.js';
import { registerServe } from './serve.js';
import { registerSignActivation } from './sign-activation.js';
import { registerVerifyAudit } from './verify-audit.js';

export const PROGRAM_NAME = 'keyline-signer';

/** The commander program, its output going to `io`, errors thrown (never process.exit). */
export function buildProgram(io: CliIo): Command {
  const program = new Command(PROGRAM_NAME)
    .description('Keyline signer device: key ceremony and offline verification commands')
    .exitOverride()
    .showSuggestionAfterError(false)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`${USAGE_CODE}: cli/usage: ${s.replace(/^error: /, '')}`),
    });
  registerKeygen(program, io);
  registerRestore(program, io);
  registerHolderKeygen(program, io, 'holder');
  registerHolderKeygen(program, io, 'officer');
  registerSignActivation(program, io);
  const policy = program.command('policy').description('sign, bundle and verify policy updates');
  registerPolicySign(policy, io);
  registerPolicyBundle(policy, io);
  registerPolicyVerify(policy, io);
  registerVerifyAudit(program, io);
  registerServe(program, io);
  return program;
}

/** Runs one command line in-process and returns its exit code. */
export async function run(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_CODES.ok;
  } catch (e) {
    return reportError(io.stderr, e);
  }
}

/** The real process: no debugger, SIGUSR1 blocked, then run and exit with the code. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const io = processIo();
  try {
    assertNoDebugger();
    blockInspectorSignal();
  } catch (e) {
    process.exitCode = reportError(io.stderr, e);
    return;
  }
  process.exitCode = await run(argv, io);
}

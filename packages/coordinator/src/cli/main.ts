/**
 * `keyline-coordinator`: the operator's command line. Every command validates its options and
 * files with zod, prints JSON (or one `CODE: message` line on stderr and a non-zero exit code).
 *
 *   init --dir D            config + data directory + the two secret key files (never overwritten)
 *   migrate --config F      bring the database schema up to date
 *   serve --config F        run the daemon until SIGTERM/SIGINT
 *   device enroll ...       pin a signer device (serial line, link key, account key origin)
 *   device list
 *   wallet show             descriptor, Bitcoin Core importdescriptors request, first addresses
 *   wallet register         send register_wallet (officer approvals) to every device
 *   policy push             send an officer-signed policy to every device
 *   apikey create|list|revoke
 *   withdrawals list / deposits list   read-only listings
 *
 * Commands that talk to devices open the serial lines themselves: run them while `serve` is
 * stopped (a serial line has one owner). docs/operations.md.
 */
import { isWireError } from '@keyline/wire-protocol';
import { Command, Option } from 'commander';
import { isCoordinatorError } from '../errors.js';
import { registerCommands } from './commands.js';

export interface CliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: NodeJS.ProcessEnv;
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('keyline-coordinator')
    .description(
      'Keyline coordinator: withdrawals, deposits, signing orchestration, chain gateway, API',
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  program.addOption(new Option('--json', 'machine-readable output (default)').hideHelp());
  registerCommands(program, io);
  return program;
}

export async function main(
  argv: readonly string[] = process.argv,
  io: CliIo = process,
): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (e) {
    const err = e as { code?: string; exitCode?: number; message?: string };
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      io.stderr.write(`BAD_CONFIG: ${err.message ?? 'bad command line'}\n`);
      return 2;
    }
    if (isWireError(e)) {
      // A device's answer: a refusal (its policy or its pinned keys said no) or a link failure.
      const code = e.kind === 'refused' ? 'DEVICE_REFUSED' : 'NO_DEVICE';
      io.stderr.write(`${code}: ${e.message}\n`);
      return 1;
    }
    if (isCoordinatorError(e)) {
      io.stderr.write(`${e.code}: ${e.message}\n`);
      return e.kind === 'malformed' ? 2 : 1;
    }
    io.stderr.write(`INTERNAL: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

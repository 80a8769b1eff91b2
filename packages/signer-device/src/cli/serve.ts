/**
 * `keyline-signer serve --config <file> [--port --baud --key --state --passphrase-file
 * --log-level --provision]`: runs the device daemon (src/daemon/serve.ts). The overrides are the
 * scalar settings the configuration allows to override; pinned keys come only from the file.
 * Relative paths typed here are resolved against the working directory. docs/daemon.md §6.
 */
import { type Command, Option } from 'commander';
import { z } from 'zod';
import { LOG_LEVELS } from '../daemon/config.js';
import { type ServeOptions, type ServingDaemon, serve } from '../daemon/serve.js';
import type { CliIo } from './cli-io.js';
import { absolutePath, INSECURE_TEST_KDF_FLAG, parseOptions } from './cli-options.js';

const path = z.string().min(1).max(4096);

export const serveOptionsSchema = z.strictObject({
  config: path,
  port: path.optional(),
  baud: z
    .string()
    .regex(/^[1-9][0-9]{0,7}$/, 'expected a decimal baud rate')
    .optional(),
  key: path.optional(),
  state: path.optional(),
  passphraseFile: path.optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  provision: z.boolean().optional(),
  insecureTestKdf: z.boolean().optional(),
});

const abs = (p: string | undefined): string | undefined =>
  p === undefined ? undefined : absolutePath(p);

/** Registers `serve`; `start` is injectable for tests (default: the real daemon). */
export function registerServe(
  program: Command,
  io: CliIo,
  start: (options: ServeOptions) => Promise<ServingDaemon> = serve,
): void {
  program
    .command('serve')
    .description(
      'run the signer daemon: console unlock, then serve the coordinator on a serial port',
    )
    .requiredOption('--config <file>', 'the serve configuration (JSON, docs/daemon.md)')
    .option('--port <path>', 'serial device (overrides the configuration)')
    .option('--baud <rate>', 'line rate (overrides the configuration)')
    .option('--key <file>', 'device key file (overrides the configuration)')
    .option('--state <dir>', 'state directory (overrides the configuration)')
    .option(
      '--passphrase-file <path>',
      'AUTOMATION/TESTS ONLY: read the passphrase from a 0600 file instead of the console',
    )
    .addOption(new Option('--log-level <level>', 'log level').choices([...LOG_LEVELS]))
    .option('--provision', 'first start of a new device only: create the audit log')
    .addOption(new Option(INSECURE_TEST_KDF_FLAG, 'tests only: weak scrypt').hideHelp())
    .action(async (raw: unknown) => {
      const o = parseOptions('serve', serveOptionsSchema, raw);
      await start({
        configPath: absolutePath(o.config),
        overrides: {
          port: abs(o.port),
          baud: o.baud,
          keyFile: abs(o.key),
          stateDir: abs(o.state),
          passphraseFile: abs(o.passphraseFile),
          logLevel: o.logLevel,
        },
        provision: o.provision === true,
        insecureTestKdf: o.insecureTestKdf === true,
        console: io.stdout,
      });
    });
}

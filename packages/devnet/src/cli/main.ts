/**
 * keyline-devnet: runs the devnet alone. Prints one JSON line {"url","rpcUser","rpcPassword"} on
 * stdout when ready, logs JSON lines on stderr, and on SIGTERM/SIGINT closes the server, writes
 * the data file and exits 0 (a second signal exits 1 at once).
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { DevnetError } from '../errors.js';
import { startDevnet } from '../start.js';

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value))
      throw new InvalidArgumentError(`${name}: expected an integer, got '${value}'`);
    const n = Number(value);
    if (n < min || n > max)
      throw new InvalidArgumentError(`${name}: expected ${min}..${max}, got ${n}`);
    return n;
  };
}

function satPerKvB(name: string) {
  return (value: string): bigint => {
    if (!/^\d{1,15}$/.test(value))
      throw new InvalidArgumentError(
        `${name}: expected satoshis per kvB as an integer, got '${value}'`,
      );
    return BigInt(value);
  };
}

const log = (event: Record<string, unknown>): void => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
};

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const program = new Command()
    .name('keyline-devnet')
    .description(
      'An embedded regtest-style Bitcoin node serving Bitcoin Core v28 JSON-RPC on loopback',
    )
    .option('--port <n>', 'RPC port (0 = ephemeral)', integer('--port', 0, 65535), 18443)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--rpcuser <user>', 'RPC user name', 'keyline')
    .option('--rpcpassword <password>', 'RPC password (default: random)')
    .option('--data-file <path>', 'persist the chain to this file')
    .option(
      '--fee-rate <satPerKvB>',
      'estimatesmartfee answer and faucet rate, sat/kvB',
      satPerKvB('--fee-rate'),
    )
    .option(
      '--min-relay-fee <satPerKvB>',
      'minimum relay fee, sat/kvB',
      satPerKvB('--min-relay-fee'),
    )
    .option('--full-rbf', 'replace without BIP125 signalling (Core v28 default)', false)
    .option('--allow-remote', 'accept non-loopback clients and hosts', false)
    .exitOverride();
  program.parse([...argv]);
  const o = program.opts<{
    port: number;
    host: string;
    rpcuser: string;
    rpcpassword?: string;
    dataFile?: string;
    feeRate?: bigint;
    minRelayFee?: bigint;
    fullRbf: boolean;
    allowRemote: boolean;
  }>();

  const devnet = await startDevnet({
    port: o.port,
    host: o.host,
    rpcUser: o.rpcuser,
    fullRbf: o.fullRbf,
    allowRemote: o.allowRemote,
    log,
    ...(o.rpcpassword === undefined ? {} : { rpcPassword: o.rpcpassword }),
    ...(o.dataFile === undefined ? {} : { dataFile: o.dataFile }),
    ...(o.feeRate === undefined ? {} : { feeRateSatPerKvB: o.feeRate }),
    ...(o.minRelayFee === undefined ? {} : { minRelayFeeSatPerKvB: o.minRelayFee }),
  });
  process.stdout.write(
    `${JSON.stringify({ url: devnet.url, rpcUser: devnet.rpcUser, rpcPassword: devnet.rpcPassword })}\n`,
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log({ event: 'devnet.forced_exit', signal });
      process.exit(1);
    }
    stopping = true;
    log({ event: 'devnet.stopping', signal });
    devnet.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log({ event: 'devnet.stop_failed', error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export function reportFatal(err: unknown): never {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const code = err instanceof DevnetError ? err.code : 'INTERNAL';
  log({ event: 'devnet.fatal', code, error: err instanceof Error ? err.message : String(err) });
  process.exit(2);
}

/** The `keyline-coordinator` subcommands (see main.ts for the list). */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateStaticKeyPair, publicKeyOf } from '@keyline/wire-protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { Command } from 'commander';
import { z } from 'zod';
import { type CoordinatorConfig, loadCoordinatorConfig } from '../daemon/config.js';
import { createSecretKeyFile, readSecretKeyFile } from '../daemon/key-files.js';
import { runCoordinator } from '../daemon/run.js';
import { enrolledDevices, loadWallet } from '../daemon/wallet-from-devices.js';
import { CoordinatorError } from '../errors.js';
import { listDeposits, listWithdrawals } from '../service/views.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../storage/api-keys.js';
import { openDatabase } from '../storage/database.js';
import { deriveAddress, importDescriptorsRequest } from '../vault/wallet.js';
import { deviceCommand, sendToDevices } from './device-commands.js';
import type { CliIo } from './main.js';

void generateStaticKeyPair;

const json = (x: unknown) =>
  `${JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? bytesToHex(v) : v), 2)}\n`;

/** A starting configuration for a regtest deployment on the embedded devnet (amounts in sats, as strings). */
export function defaultConfig(network: CoordinatorConfig['network']) {
  return {
    network,
    dataDir: '.',
    database: { kind: 'sqlite', path: 'coordinator.sqlite' },
    chain:
      network === 'regtest'
        ? { kind: 'devnet', port: 0, dataFile: 'devnet.json' }
        : {
            kind: 'bitcoind',
            url: 'http://127.0.0.1:8332/',
            cookieFile: '/var/lib/bitcoind/.cookie',
          },
    api: { host: '127.0.0.1', port: 8080 },
    keys: { riskKeyFile: 'risk.key', linkKeyFile: 'link.key' },
    risk: {
      withdrawal: {
        frequency: { windowSeconds: 3600, maxCount: 20, outcome: 'hold' },
        largeAmount: { threshold: '1000000000', outcome: 'hold' },
        profitAnomaly: { factorPercent: 150, outcome: 'hold' },
        credentialChangeCoolingSeconds: 86_400,
        firstTimeDestination: 'allow',
        denyScriptPubKeys: [],
        globalOutflow: { windowSeconds: 3600, maxAmount: '10000000000', outcome: 'hold' },
      },
      deposit: {
        denySourceScriptPubKeys: [],
        minAmount: '1000',
        largeAmount: '10000000000',
        frequency: { windowSeconds: 3600, maxCount: 100 },
      },
    },
    fees: { floor: 1000, ceiling: 200_000, fallback: 2000 },
    gateway: { startHeight: 0 },
  };
}

async function withConfig<T>(
  path: string,
  io: CliIo,
  fn: (c: CoordinatorConfig) => Promise<T>,
): Promise<T> {
  return fn(loadCoordinatorConfig(resolve(path), io.env));
}

async function withDb<T>(
  c: CoordinatorConfig,
  fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>,
): Promise<T> {
  const database = await openDatabase(c.database);
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

/** The public halves of the two secrets: what device policies name and devices pin. */
export function publicKeys(c: CoordinatorConfig) {
  const risk = readSecretKeyFile(c.keys.riskKeyFile, 'risk');
  const link = readSecretKeyFile(c.keys.linkKeyFile, 'link');
  try {
    return {
      riskPublicKey: bytesToHex(ed25519.getPublicKey(risk)),
      linkPublicKey: bytesToHex(publicKeyOf(link)),
    };
  } finally {
    risk.fill(0);
    link.fill(0);
  }
}

export function registerCommands(program: Command, io: CliIo): void {
  program
    .command('init')
    .description('create a configuration, a data directory and the two secret key files')
    .requiredOption('--dir <dir>', 'the data directory to create')
    .option('--network <network>', 'mainnet | testnet | signet | regtest', 'regtest')
    .action(async (o: { dir: string; network: string }) => {
      const network = z.enum(['mainnet', 'testnet', 'signet', 'regtest']).safeParse(o.network);
      if (!network.success)
        throw new CoordinatorError(
          'BAD_CONFIG',
          `init: expected --network mainnet|testnet|signet|regtest, got '${o.network}'`,
        );
      const dir = resolve(o.dir);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const configPath = join(dir, 'config.json');
      if (existsSync(configPath))
        throw new CoordinatorError(
          'BAD_CONFIG',
          `init: expected no configuration at ${configPath}, got one (never overwritten)`,
        );
      createSecretKeyFile(join(dir, 'risk.key'), 'risk');
      createSecretKeyFile(join(dir, 'link.key'), 'link');
      writeFileSync(configPath, json(defaultConfig(network.data)), { mode: 0o600, flag: 'wx' });
      const c = loadCoordinatorConfig(configPath, io.env);
      await withDb(c, async () => undefined);
      io.stdout.write(json({ config: configPath, ...publicKeys(c) }));
    });

  program
    .command('migrate')
    .description('bring the database schema up to date')
    .requiredOption('--config <file>')
    .action((o: { config: string }) =>
      withConfig(o.config, io, (c) =>
        withDb(c, async () => void io.stdout.write(json({ migrated: true }))),
      ),
    );

  program
    .command('keys')
    .description(
      'print the public keys: the risk intent key (for the device policy) and the link key (pinned by devices)',
    )
    .requiredOption('--config <file>')
    .action((o: { config: string }) =>
      withConfig(o.config, io, async (c) => void io.stdout.write(json(publicKeys(c)))),
    );

  program
    .command('serve')
    .description('run the coordinator until SIGTERM or SIGINT')
    .requiredOption('--config <file>')
    .action((o: { config: string }) =>
      withConfig(o.config, io, async (c) => {
        const running = await runCoordinator(c);
        io.stdout.write(json({ api: running.apiUrl, devnet: running.devnetUrl }));
        await new Promise<void>((done) => {
          const stop = () => {
            process.off('SIGTERM', stop);
            process.off('SIGINT', stop);
            void running.stop().then(done, done);
          };
          process.on('SIGTERM', stop);
          process.on('SIGINT', stop);
        });
      }),
    );

  deviceCommand(program, io, withConfig, withDb, json);

  const wallet = program.command('wallet').description('the 2-of-3 hot wallet');
  wallet
    .command('show')
    .requiredOption('--config <file>')
    .option('--addresses <n>', 'first receive addresses to list', '3')
    .action((o: { config: string; addresses: string }) =>
      withConfig(o.config, io, (c) =>
        withDb(c, async (d) => {
          const { wallet: w } = await loadWallet(d.db, c.network);
          const n = Math.min(100, Math.max(0, Number.parseInt(o.addresses, 10) || 0));
          io.stdout.write(
            json({
              descriptor: w.descriptor,
              walletId: w.idHex,
              importdescriptors: importDescriptorsRequest(w, { rangeEnd: 1000, timestamp: 'now' }),
              addresses: Array.from({ length: n }, (_, i) => deriveAddress(w, 0, i).address),
            }),
          );
        }),
      ),
    );
  wallet
    .command('register')
    .description('send register_wallet with officer approvals to every enrolled device')
    .requiredOption('--config <file>')
    .requiredOption(
      '--approvals <file>',
      'JSON array of officer approvals over the descriptor (keyline-signer policy bundle)',
    )
    .option('--name <name>', 'wallet name on the devices', 'hot')
    .action((o: { config: string; approvals: string; name: string }) =>
      withConfig(o.config, io, (c) =>
        withDb(c, async (d) => {
          const { wallet: w } = await loadWallet(d.db, c.network);
          const results = await sendToDevices(
            c,
            d.db,
            'register_wallet',
            (approvals) => ({
              name: o.name,
              descriptor: w.descriptor,
              approvals,
            }),
            o.approvals,
          );
          io.stdout.write(json(results));
        }),
      ),
    );

  program
    .command('policy')
    .description('device policy')
    .command('push')
    .description(
      'send an officer-signed policy (keyline-signer policy bundle output) to every enrolled device',
    )
    .requiredOption('--config <file>')
    .requiredOption('--bundle <file>', 'the policy bundle: {document (hex CBOR), approvals}')
    .action((o: { config: string; bundle: string }) =>
      withConfig(o.config, io, (c) =>
        withDb(c, async (d) => {
          const results = await sendToDevices(c, d.db, 'update_policy', null, o.bundle);
          io.stdout.write(json(results));
        }),
      ),
    );

  const apikey = program.command('apikey').description('API keys (stored hashed)');
  apikey
    .command('create')
    .requiredOption('--config <file>')
    .requiredOption('--name <name>')
    .requiredOption('--role <role>', 'exchange | operator | admin')
    .action((o: { config: string; name: string; role: string }) =>
      withConfig(o.config, io, (c) =>
        withDb(c, async (d) => {
          const created = await createApiKey(
            d.db,
            { name: o.name, role: o.role as never },
            new Date(),
          );
          io.stdout.write(
            json({ id: created.record.id, name: o.name, role: o.role, key: created.secret }),
          );
        }),
      ),
    );
  apikey
    .command('list')
    .requiredOption('--config <file>')
    .action((o: { config: string }) =>
      withConfig(o.config, io, (c) =>
        withDb(c, async (d) => void io.stdout.write(json(await listApiKeys(d.db)))),
      ),
    );
  apikey
    .command('revoke')
    .requiredOption('--config <file>')
    .requiredOption('--id <id>')
    .action((o: { config: string; id: string }) =>
      withConfig(o.config, io, (c) =>
        withDb(c, async (d) => {
          if (!/^\d{1,18}$/.test(o.id))
            throw new CoordinatorError(
              'BAD_REQUEST',
              `apikey revoke: expected a numeric --id, got '${o.id}'`,
            );
          await revokeApiKey(d.db, BigInt(o.id), new Date());
          io.stdout.write(json({ revoked: o.id }));
        }),
      ),
    );

  program
    .command('withdrawals')
    .command('list')
    .requiredOption('--config <file>')
    .option('--state <state>')
    .option('--limit <n>', 'at most 1000', '100')
    .action((o: { config: string; state?: string; limit: string }) =>
      withConfig(o.config, io, (c) =>
        withDb(c, async (d) => {
          const page = await listWithdrawals(d.db, c.network, {
            limit: Math.min(1000, Math.max(1, Number.parseInt(o.limit, 10) || 100)),
            ...(o.state === undefined ? {} : { state: o.state as never }),
          });
          io.stdout.write(json(page.items));
        }),
      ),
    );
  program
    .command('deposits')
    .command('list')
    .requiredOption('--config <file>')
    .option('--limit <n>', 'at most 1000', '100')
    .action((o: { config: string; limit: string }) =>
      withConfig(o.config, io, (c) =>
        withDb(c, async (d) => {
          const page = await listDeposits(d.db, {
            limit: Math.min(1000, Math.max(1, Number.parseInt(o.limit, 10) || 100)),
          });
          io.stdout.write(json(page.items));
        }),
      ),
    );
  void enrolledDevices;
  void hexToBytes;
}

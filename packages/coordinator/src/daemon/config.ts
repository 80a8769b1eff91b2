/**
 * The coordinator daemon's configuration: one JSON file (written by `keyline-coordinator init`),
 * validated with zod at start, with a few documented environment overrides, then deep-frozen.
 * docs/operations.md lists every field. Secrets are never in this file: the risk-engine intent
 * key and the coordinator's link key live in their own 0600 files named here.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { CoordinatorError } from '../errors.js';
import { feeConfigSchema, followerConfigSchema } from '../gateway/config.js';
import { issuesWhere, parseRiskConfig, type RiskConfig } from '../risk/config.js';
import { databaseConfigSchema } from '../storage/database.js';

const path = z.string().min(1).max(4096);
const sats = z
  .union([
    z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    z.bigint(),
    z.string().regex(/^\d{1,16}$/),
  ])
  .transform((v) => BigInt(v))
  .pipe(z.bigint().min(0n).max(2_100_000_000_000_000n));

const chainSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    /** The embedded devnet node, started in-process and spoken to over its JSON-RPC. */
    kind: z.literal('devnet'),
    port: z.number().int().min(0).max(65535).default(0),
    /** Persist the devnet chain here (relative to dataDir); memory only when absent. */
    dataFile: path.optional(),
  }),
  /** Bitcoin Core: the rest of the object is chain/bitcoind-config.ts's schema, checked at start. */
  z.looseObject({ kind: z.literal('bitcoind') }),
  z.strictObject({
    kind: z.literal('esplora'),
    url: z.string().url(),
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  }),
]);

export const coordinatorConfigSchema = z.strictObject({
  network: z.enum(['mainnet', 'testnet', 'signet', 'regtest']),
  /** Relative paths below are relative to this directory (itself relative to the config file). */
  dataDir: path,
  database: databaseConfigSchema,
  chain: chainSchema,
  api: z
    .strictObject({
      host: z.string().min(1).max(255).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      bodyLimitBytes: z
        .number()
        .int()
        .min(1024)
        .max(16 * 1024 * 1024)
        .default(65_536),
      rateLimit: z
        .strictObject({
          max: z.number().int().min(1).max(1_000_000).default(10_000),
          windowMs: z.number().int().min(100).max(3_600_000).default(1_000),
        })
        .default({ max: 10_000, windowMs: 1_000 }),
      metricsPublic: z.boolean().default(true),
    })
    .default({
      host: '127.0.0.1',
      port: 8080,
      bodyLimitBytes: 65_536,
      rateLimit: { max: 10_000, windowMs: 1_000 },
      metricsPublic: true,
    }),
  keys: z.strictObject({
    /** The risk engine's Ed25519 intent key (hex, 32 bytes), the key the device policies name. */
    riskKeyFile: path,
    /** The coordinator's X25519 link key (hex, 32 bytes), pinned by every device. */
    linkKeyFile: path,
  }),
  /** The online risk rules (risk/config.ts), parsed and frozen by parseRiskConfig. */
  risk: z.unknown(),
  wallet: z
    .strictObject({ name: z.string().min(1).max(64).default('hot') })
    .default({ name: 'hot' }),
  payouts: z
    .strictObject({
      maxBatch: z.number().int().min(1).max(1000).default(100),
      intentTtlSeconds: z
        .number()
        .int()
        .min(60)
        .max(7 * 86_400)
        .default(3600),
      confirmations: z.number().int().min(1).max(100).default(1),
      feeTargetBlocks: z.number().int().min(1).max(1008).default(6),
      pollMs: z.number().int().min(10).max(600_000).default(1_000),
      /** A broadcast payout unconfirmed this long gets an RBF fee bump when the estimate rose. */
      bumpAfterMinutes: z.number().int().min(1).max(10_080).default(30),
      /** Confirmations before a deposit's coins may be spent, and before our own change may. */
      minConfirmationsDeposit: z.number().int().min(1).max(1000).default(3),
      minConfirmationsChange: z.number().int().min(0).max(1000).default(1),
    })
    .default({
      maxBatch: 100,
      intentTtlSeconds: 3600,
      confirmations: 1,
      feeTargetBlocks: 6,
      pollMs: 1_000,
      bumpAfterMinutes: 30,
      minConfirmationsDeposit: 3,
      minConfirmationsChange: 1,
    }),
  fees: feeConfigSchema,
  deposits: z
    .strictObject({ confirmations: z.number().int().min(1).max(100).default(1) })
    .default({ confirmations: 1 }),
  hotWallet: z
    .strictObject({
      highMark: sats,
      lowMark: sats,
      coldAddress: z.string().min(14).max(90),
    })
    .optional(),
  gateway: followerConfigSchema.omit({ network: true }),
  devices: z
    .strictObject({
      signTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(300_000),
      infoTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    })
    .default({ signTimeoutMs: 300_000, infoTimeoutMs: 10_000 }),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug']).default('info'),
});

export type CoordinatorConfigInput = z.input<typeof coordinatorConfigSchema>;
export type CoordinatorConfig = Omit<z.output<typeof coordinatorConfigSchema>, 'risk'> & {
  readonly risk: RiskConfig;
  /** Absolute data directory. */
  readonly dataPath: string;
};

function deepFreeze<T>(x: T): T {
  if (typeof x === 'object' && x !== null && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x)) deepFreeze(v);
  }
  return x;
}

/** Environment overrides, documented in docs/operations.md. */
export function applyEnv(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  if (env.KEYLINE_DATABASE_URL !== undefined) {
    out.database = { kind: 'postgres', url: env.KEYLINE_DATABASE_URL };
  }
  if (env.KEYLINE_API_PORT !== undefined) {
    out.api = { ...((raw.api as object | undefined) ?? {}), port: Number(env.KEYLINE_API_PORT) };
  }
  if (env.KEYLINE_LOG_LEVEL !== undefined) out.logLevel = env.KEYLINE_LOG_LEVEL;
  const chain = raw.chain as Record<string, unknown> | undefined;
  if (
    chain?.kind === 'bitcoind' &&
    chain.password === undefined &&
    env.KEYLINE_BITCOIND_PASSWORD !== undefined
  ) {
    out.chain = { ...chain, password: env.KEYLINE_BITCOIND_PASSWORD };
  }
  return out;
}

export function parseCoordinatorConfig(
  raw: unknown,
  configPath: string,
  env: NodeJS.ProcessEnv = {},
): CoordinatorConfig {
  const place = `config ${configPath}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `${place}: expected a JSON object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`,
    );
  }
  const parsed = coordinatorConfigSchema.safeParse(applyEnv(raw as Record<string, unknown>, env));
  if (!parsed.success) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `${place}: expected a valid configuration, got issues at ${issuesWhere(parsed.error)}`,
    );
  }
  const c = parsed.data;
  if (c.hotWallet !== undefined && c.hotWallet.lowMark >= c.hotWallet.highMark) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `${place}: expected hotWallet.lowMark < hotWallet.highMark`,
    );
  }
  const base = dirname(resolve(configPath));
  const dataPath = isAbsolute(c.dataDir) ? c.dataDir : resolve(base, c.dataDir);
  const inData = (p: string) => (isAbsolute(p) ? p : resolve(dataPath, p));
  const database =
    c.database.kind === 'sqlite' ? { ...c.database, path: inData(c.database.path) } : c.database;
  let risk: RiskConfig;
  try {
    risk = parseRiskConfig(c.risk);
  } catch (e) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `${place}: risk: ${e instanceof Error ? e.message : 'invalid'}`,
    );
  }
  return deepFreeze({
    ...c,
    risk,
    dataPath,
    database,
    keys: { riskKeyFile: inData(c.keys.riskKeyFile), linkKeyFile: inData(c.keys.linkKeyFile) },
  });
}

export function loadCoordinatorConfig(
  configPath: string,
  env: NodeJS.ProcessEnv = process.env,
): CoordinatorConfig {
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (e) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `config ${configPath}: expected a readable file, got ${(e as NodeJS.ErrnoException).code ?? 'an error'}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `config ${configPath}: expected JSON, got a parse error`,
    );
  }
  return parseCoordinatorConfig(raw, configPath, env);
}

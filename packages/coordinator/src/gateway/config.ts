/**
 * The gateway's configuration: one zod `.strict()` schema per part, parsed once and frozen
 * (docs/gateway.md §8 lists every field and its default). Times are milliseconds; fee rates
 * are satoshis per 1000 virtual bytes (sat/kvB) as bigint (a safe-integer number is accepted).
 */
import { z } from 'zod';
import { CoordinatorError } from '../errors.js';
import { issuesWhere } from '../risk/config.js';

const HOUR_MS = 3_600_000;
const ms = (min: number) => z.number().int().min(min).max(HOUR_MS);

export const followerConfigSchema = z.strictObject({
  network: z.enum(['mainnet', 'testnet', 'signet', 'regtest']),
  /** The first block to process when nothing is stored (the wallet's birthday). */
  startHeight: z.number().int().min(0).max(100_000_000),
  /** Deepest reorg handled: the follower keeps this many blocks plus the fork point. */
  reorgDepth: z.number().int().min(1).max(10_000).default(100),
  /** Wait between polls once caught up with the tip. */
  pollIntervalMs: ms(1).default(5_000),
  backoff: z
    .strictObject({ initialMs: ms(1).default(500), maxMs: ms(1).default(60_000) })
    .refine((b) => b.initialMs <= b.maxMs, 'expected initialMs <= maxMs')
    .default({ initialMs: 500, maxMs: 60_000 }),
});

export const broadcastConfigSchema = z.strictObject({
  /** Stop tracking a transaction once it has this many confirmations. */
  confirmDepth: z.number().int().min(1).max(1_000).default(6),
  /** Rejections (other than a conflict) in a row before the broadcaster gives a tx up. */
  maxRejections: z.number().int().min(1).max(1_000).default(5),
});

/** A fee rate in sat/kvB: 1 .. 100,000,000 (1e8 sat/kvB = 100,000 sat/vB, far past any real fee). */
const feeRate = z
  .union([z.number().int().min(1).max(Number.MAX_SAFE_INTEGER), z.bigint()])
  .transform((v) => BigInt(v))
  .pipe(z.bigint().min(1n).max(100_000_000n));

export const feeConfigSchema = z
  .strictObject({
    floor: feeRate,
    ceiling: feeRate,
    /** Used when the node has no estimate (too few blocks seen, e.g. a fresh regtest). */
    fallback: feeRate,
  })
  .refine(
    (f) => f.floor <= f.fallback && f.fallback <= f.ceiling,
    'expected floor <= fallback <= ceiling',
  );

export type FollowerConfig = Readonly<z.output<typeof followerConfigSchema>> & {
  readonly backoff: Readonly<z.output<typeof followerConfigSchema>['backoff']>;
};
export type FollowerConfigInput = z.input<typeof followerConfigSchema>;
export type BroadcastConfig = Readonly<z.output<typeof broadcastConfigSchema>>;
export type BroadcastConfigInput = z.input<typeof broadcastConfigSchema>;
export type FeeConfig = Readonly<z.output<typeof feeConfigSchema>>;
export type FeeConfigInput = z.input<typeof feeConfigSchema>;

function parse<T extends object>(what: string, schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (!r.success) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `gateway/config: expected a ${what} config, got issues at ${issuesWhere(r.error)}`,
    );
  }
  for (const v of Object.values(r.data)) if (typeof v === 'object' && v !== null) Object.freeze(v);
  return Object.freeze(r.data);
}

export function parseFollowerConfig(input: unknown): FollowerConfig {
  return parse('follower', followerConfigSchema, input);
}

export function parseBroadcastConfig(input: unknown): BroadcastConfig {
  return parse('broadcast', broadcastConfigSchema, input ?? {});
}

export function parseFeeConfig(input: unknown): FeeConfig {
  return parse('fee', feeConfigSchema, input);
}

/**
 * Configuration of the bitcoind backend: one zod `.strict()` schema, parsed once, frozen, with
 * the password moved into a `Redacted` (it never prints). docs/chain.md §3.
 */
import { z } from 'zod';
import { CoordinatorError } from '../errors.js';
import { MAX_MONEY_SATS } from './amount.js';
import { describeIssues } from './args.js';
import type { RetryPolicy } from './retry.js';
import { Redacted, type RpcAuth } from './rpc-auth.js';

const sats = z
  .union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.bigint()])
  .transform((v) => BigInt(v))
  .pipe(z.bigint().min(0n).max(MAX_MONEY_SATS));

export const bitcoindConfigSchema = z
  .strictObject({
    /** Core's RPC endpoint, e.g. `http://127.0.0.1:8332/`. No user:password in it. */
    url: z.url({ protocol: /^https?$/ }),
    user: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /** Core's `.cookie` (e.g. `~/.bitcoin/regtest/.cookie`), instead of user/password. */
    cookieFile: z.string().min(1).optional(),
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    retries: z.number().int().min(0).max(20).default(3),
    retryBaseDelayMs: z.number().int().min(0).max(60_000).default(250),
    retryMaxDelayMs: z.number().int().min(0).max(600_000).default(5_000),
    /** getblock verbosity 2 of a 4 MB block is ~10–30 MB of JSON. */
    maxResponseBytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 ** 3)
      .default(256 * 1024 ** 2),
    /**
     * `maxfeerate` for sendrawtransaction/testmempoolaccept, in sat/kvB. Core's default is
     * 0.10 BTC/kvB (DEFAULT_MAX_RAW_TX_FEE_RATE); 0 disables the node's check.
     */
    maxFeeRateSatPerKvB: sats.default(10_000_000n),
  })
  .superRefine((c, ctx) => {
    const userpass = c.user !== undefined || c.password !== undefined;
    if (userpass && (c.user === undefined || c.password === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'user and password go together', path: ['user'] });
    }
    if (userpass === (c.cookieFile !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected exactly one of user/password or cookieFile',
        path: ['cookieFile'],
      });
    }
    const u = URL.canParse(c.url) ? new URL(c.url) : null;
    if (u !== null && (u.username !== '' || u.password !== '')) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected no user:password in the URL (use user/password or cookieFile)',
        path: ['url'],
      });
    }
  });

export type BitcoindConfigInput = z.input<typeof bitcoindConfigSchema>;

export interface BitcoindConfig {
  readonly url: string;
  readonly auth: RpcAuth;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly maxResponseBytes: number;
  readonly maxFeeRateSatPerKvB: bigint;
}

export function parseBitcoindConfig(input: unknown): BitcoindConfig {
  const parsed = bitcoindConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `chain/bitcoind config: expected a valid bitcoind backend config, got ${describeIssues(parsed.error)}`,
    );
  }
  const c = parsed.data;
  const auth: RpcAuth =
    c.cookieFile !== undefined
      ? Object.freeze({ kind: 'cookie', cookieFile: c.cookieFile })
      : Object.freeze({
          kind: 'userpass',
          user: c.user as string,
          password: new Redacted(c.password as string),
        });
  return Object.freeze({
    url: c.url,
    auth,
    timeoutMs: c.timeoutMs,
    retry: Object.freeze({
      retries: c.retries,
      baseDelayMs: c.retryBaseDelayMs,
      maxDelayMs: c.retryMaxDelayMs,
    }),
    maxResponseBytes: c.maxResponseBytes,
    maxFeeRateSatPerKvB: c.maxFeeRateSatPerKvB,
  });
}

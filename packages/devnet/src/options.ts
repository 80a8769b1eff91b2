/**
 * The options of startDevnet, checked with zod at the boundary, defaults applied, then frozen.
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { DevnetError } from './errors.js';
import { isLoopbackAddress, type LogFn } from './server.js';

export interface DevnetOptions {
  /** Interface to listen on; default '127.0.0.1'. A non-loopback host needs `allowRemote`. */
  host?: string;
  /** TCP port; default 18443; 0 = ephemeral. */
  port?: number;
  /** Default 'keyline'. */
  rpcUser?: string;
  /** Default: random 32-byte hex. */
  rpcPassword?: string;
  /** Persistence file; absent = memory only. */
  dataFile?: string;
  /** Minimum relay fee rate, sat/kvB; default 1000n. */
  minRelayFeeSatPerKvB?: bigint;
  /** estimatesmartfee's answer and the faucet's rate, sat/kvB; default 2000n. */
  feeRateSatPerKvB?: bigint;
  /** Millisecond clock for block times; default Date.now. */
  now?: () => number;
  /** Replace without BIP125 signalling (Core v28 -mempoolfullrbf); default false. */
  fullRbf?: boolean;
  /** Accept RPC clients that are not on loopback (and bind a non-loopback host); default false. */
  allowRemote?: boolean;
  /** Largest request body, bytes; default 32 MiB (Core's MAX_SIZE). */
  maxBodyBytes?: number;
  /** Pause before answering a wrong password, ms; default 250 (Core). */
  authFailureDelayMs?: number;
  /** JSON log events (default: none). */
  log?: LogFn;
}

const OptionsSchema = z
  .object({
    host: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65535).optional(),
    rpcUser: z
      .string()
      .min(1)
      .regex(/^[^:]*$/, 'no colon')
      .optional(),
    rpcPassword: z.string().min(1).optional(),
    dataFile: z.string().min(1).optional(),
    minRelayFeeSatPerKvB: z.bigint().nonnegative().optional(),
    feeRateSatPerKvB: z.bigint().nonnegative().optional(),
    now: z.custom<() => number>((v) => typeof v === 'function', 'a function').optional(),
    fullRbf: z.boolean().optional(),
    allowRemote: z.boolean().optional(),
    maxBodyBytes: z.number().int().positive().optional(),
    authFailureDelayMs: z.number().int().nonnegative().optional(),
    log: z.custom<LogFn>((v) => typeof v === 'function', 'a function').optional(),
  })
  .strict();

export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly rpcUser: string;
  readonly rpcPassword: string;
  readonly dataFile: string | null;
  readonly minRelayFeeSatPerKvB: bigint;
  readonly feeRateSatPerKvB: bigint;
  readonly now: () => number;
  readonly fullRbf: boolean;
  readonly allowRemote: boolean;
  readonly maxBodyBytes: number;
  readonly authFailureDelayMs: number;
  readonly log: LogFn;
}

export function resolveOptions(input: DevnetOptions): ResolvedOptions {
  const parsed = OptionsSchema.safeParse(input);
  if (!parsed.success) {
    throw new DevnetError(
      'BAD_OPTIONS',
      `options: expected valid devnet options, got ${parsed.error.message}`,
    );
  }
  const o = parsed.data;
  const host = o.host ?? '127.0.0.1';
  const allowRemote = o.allowRemote ?? false;
  if (!allowRemote && !isLoopbackAddress(host)) {
    throw new DevnetError(
      'BAD_OPTIONS',
      `options/host: expected a loopback address without allowRemote, got '${host}'`,
    );
  }
  return Object.freeze({
    host,
    port: o.port ?? 18443,
    rpcUser: o.rpcUser ?? 'keyline',
    rpcPassword: o.rpcPassword ?? bytesToHex(randomBytes(32)),
    dataFile: o.dataFile ?? null,
    minRelayFeeSatPerKvB: o.minRelayFeeSatPerKvB ?? 1000n,
    feeRateSatPerKvB: o.feeRateSatPerKvB ?? 2000n,
    now: o.now ?? Date.now,
    fullRbf: o.fullRbf ?? false,
    allowRemote,
    maxBodyBytes: o.maxBodyBytes ?? 32 * 1024 * 1024,
    authFailureDelayMs: o.authFailureDelayMs ?? 250,
    log: o.log ?? (() => {}),
  });
}

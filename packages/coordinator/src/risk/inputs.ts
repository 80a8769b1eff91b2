/**
 * Schemas of what the risk engine evaluates: a withdrawal or deposit request and the history the
 * caller gathered for it. Parsed at the entry of every evaluation (BAD_REQUEST when malformed).
 * docs/risk.md §1.
 */
import { z } from 'zod';
import { CoordinatorError } from '../errors.js';
import { issuesWhere, MAX_SATS, sats, scriptHex } from './config.js';

/** Longest history list the engine accepts in one call. */
export const MAX_HISTORY = 100_000;

const id = z.string().regex(/^[\x21-\x7e]{1,128}$/, 'expected 1..128 printable ASCII characters');
const unixSeconds = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const signedSats = z
  .union([z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER), z.bigint()])
  .transform((v) => BigInt(v))
  .pipe(z.bigint().min(-MAX_SATS).max(MAX_SATS));
/** Large all-time totals may exceed 21e14 in sum of flows; bounded to keep arithmetic sane. */
const totalSats = z
  .union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.bigint()])
  .transform((v) => BigInt(v))
  .pipe(
    z
      .bigint()
      .min(0n)
      .max(MAX_SATS * 1000n),
  );

export const withdrawalRequestSchema = z.strictObject({
  withdrawalId: id,
  userId: id,
  scriptPubKey: scriptHex,
  amount: sats.pipe(z.bigint().min(1n)),
  flags: z.strictObject({
    /** Unix seconds of the last password change, if any. */
    passwordChangedAt: unixSeconds.optional(),
    /** Unix seconds of the last second-factor change, if any. */
    twoFactorChangedAt: unixSeconds.optional(),
    newDevice: z.boolean(),
    newDestination: z.boolean(),
  }),
});

export const withdrawalHistorySchema = z.strictObject({
  /** This user's earlier withdrawals that were not rejected (for frequency). */
  userWithdrawals: z.array(z.strictObject({ at: unixSeconds, amount: sats })).max(MAX_HISTORY),
  /** Destinations this user has been paid to before. */
  knownDestinations: z.array(scriptHex).max(MAX_HISTORY),
  /** All-time credited deposits of the user. */
  totalDeposited: totalSats,
  /** All-time withdrawals of the user, settled or pending, excluding this one. */
  totalWithdrawn: totalSats,
  /** Realized trading profit (negative for a loss). */
  realizedProfit: signedSats,
  /** Withdrawals of all users accepted recently (for the global outflow limit). */
  globalWithdrawals: z.array(z.strictObject({ at: unixSeconds, amount: sats })).max(MAX_HISTORY),
});

export const depositRequestSchema = z.strictObject({
  depositId: id,
  userId: id,
  amount: sats.pipe(z.bigint().min(1n)),
  /** scriptPubKeys spent by the inputs of the deposit transaction. */
  sourceScriptPubKeys: z.array(scriptHex).max(10_000),
});

export const depositHistorySchema = z.strictObject({
  /** This user's earlier deposits (for frequency). */
  userDeposits: z.array(z.strictObject({ at: unixSeconds })).max(MAX_HISTORY),
});

export type WithdrawalRequest = z.input<typeof withdrawalRequestSchema>;
export type WithdrawalHistory = z.input<typeof withdrawalHistorySchema>;
export type DepositRequest = z.input<typeof depositRequestSchema>;
export type DepositHistory = z.input<typeof depositHistorySchema>;

export function parseInput<S extends z.ZodType>(
  place: string,
  schema: S,
  value: unknown,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected a valid value, got issues at ${issuesWhere(parsed.error)}`,
    );
  }
  return parsed.data;
}

export function assertNow(place: string, now: unknown): number {
  if (typeof now !== 'number' || !Number.isSafeInteger(now) || now < 0) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected now as unix seconds (a non-negative safe integer), got ${typeof now === 'number' ? now : typeof now}`,
    );
  }
  return now;
}

/** True when `at` lies in the window ending at `now`; times after `now` count (fail safe). */
export function inWindow(at: number, now: number, windowSeconds: number): boolean {
  return at > now - windowSeconds;
}

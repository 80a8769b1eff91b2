/**
 * The zod schema of a persisted DeviceMemory. Canonical CBOR decodes an integer that fits the safe
 * range as a JS number, so amounts come back as number or bigint: the schema accepts both and
 * outputs bigint, bounded by the 21e14 sat supply. Everything else is checked as strictly as the
 * writer produces it, so a state file that authenticates but does not match (a bug, or a file of
 * another version) is refused rather than half-trusted.
 */
import { z } from 'zod';
import type { DeviceMemory } from '../device-memory.js';

export const MAX_SATS = 2_100_000_000_000_000n;

const sats = z
  .union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.bigint()])
  .transform((v) => BigInt(v))
  .refine((v) => v >= 0n && v <= MAX_SATS, { message: 'expected 0..21e14 satoshis' });

const uint = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, { message: 'expected 64 lower-case hex digits' });
const hexAny = z.string().regex(/^(?:[0-9a-f]{2})*$/, { message: 'expected lower-case hex' });
const outpoint = z.string().regex(/^[0-9a-f]{64}:\d{1,10}$/, { message: 'expected txid:vout' });
const withdrawalId = z.string().min(1).max(128);
const MAX_LIST = 100_000;

const spendRecord = z.strictObject({
  at: uint,
  txid: hex64,
  amount: sats,
  fee: sats,
  outpoints: z.array(outpoint).max(MAX_LIST),
  withdrawalIds: z.array(withdrawalId).max(MAX_LIST),
});

const withdrawalRecord = z.strictObject({
  withdrawalId,
  txids: z.array(hex64).min(1).max(MAX_LIST),
  outpoints: z.array(outpoint).max(MAX_LIST),
  output: z.string().regex(/^(?:[0-9a-f]{2})+:\d{1,16}$/, {
    message: 'expected scriptPubKeyhex:amount',
  }),
  maxFee: sats,
  replacements: uint,
});

export const deviceMemorySchema = z
  .strictObject({
    version: z.literal(1),
    network: z.enum(['mainnet', 'testnet', 'signet', 'regtest']),
    policyVersion: uint,
    policyHash: hexAny,
    spends: z.array(spendRecord).max(MAX_LIST),
    withdrawals: z.record(withdrawalId, withdrawalRecord),
    changeIndex: z.record(hexAny.min(2), uint),
    lastTime: uint,
    lastHeight: uint,
    failClosed: z.boolean(),
  })
  .refine((m) => Object.entries(m.withdrawals).every(([k, w]) => w.withdrawalId === k), {
    message: 'expected every withdrawal record under its own withdrawalId',
  });

/** Parse a decoded document as DeviceMemory; null and the first issue when it does not match. */
export function parseDeviceMemory(
  value: unknown,
): { ok: true; memory: DeviceMemory } | { ok: false; issue: string } {
  const r = deviceMemorySchema.safeParse(value);
  if (r.success) return { ok: true, memory: r.data satisfies DeviceMemory };
  const first = r.error.issues[0];
  const where = first === undefined ? '' : first.path.map(String).join('.');
  return { ok: false, issue: `${where}: ${first?.message ?? 'does not match'}` };
}

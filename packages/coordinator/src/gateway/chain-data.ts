/**
 * The trust boundary between a chain backend and the gateway: every value a backend returns is
 * parsed here before the gateway acts on it (zod), and a block must be the one that was asked
 * for. A value that does not match throws CHAIN_BAD_RESPONSE, which the follower treats like a
 * backend that is down: wait and ask again, never guess.
 */
import { z } from 'zod';
import type {
  ChainBlock,
  ChainTip,
  ChainTxStatus,
  FeeEstimate,
  MempoolAcceptResult,
} from '../chain/interface.js';
import { CoordinatorError } from '../errors.js';
import { issuesWhere } from '../risk/config.js';
import { MAX_MONEY_SATS } from '../storage/schema.js';

export const hash64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');
const height = z.number().int().min(0).max(100_000_000);
const u32 = z.number().int().min(0).max(0xffffffff);
const bytes = z.instanceof(Uint8Array);

const tipSchema = z.object({ height, hash: hash64 });

const blockSchema = z.object({
  hash: hash64,
  height,
  previousHash: hash64,
  time: u32,
  transactions: z
    .array(
      z.object({
        txid: hash64,
        inputs: z.array(
          z.object({ txid: hash64, vout: u32, sequence: u32, coinbase: z.boolean() }),
        ),
        outputs: z.array(
          z.object({ value: z.bigint().min(0n).max(MAX_MONEY_SATS), scriptPubKey: bytes }),
        ),
        raw: bytes,
      }),
    )
    .min(1),
});

const txStatusSchema = z.object({
  inMempool: z.boolean(),
  confirmations: z.number().int().min(0),
  blockHash: hash64.nullable(),
});

const feeEstimateSchema = z
  .object({ satPerKvB: z.bigint().min(0n), blocks: z.number().int().min(1).max(10_000) })
  .nullable();

const acceptSchema = z.object({
  txid: hash64,
  allowed: z.boolean(),
  rejectReason: z.string().max(1000).nullable(),
});

function parse<T>(place: string, what: string, schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw badResponse(place, `expected ${what}, got issues at ${issuesWhere(r.error)}`);
  }
  return r.data;
}

export function badResponse(
  place: string,
  text: string,
  detail: Record<string, unknown> = {},
): CoordinatorError {
  return new CoordinatorError('CHAIN_BAD_RESPONSE', `${place}: ${text}`, detail);
}

export function checkTip(place: string, value: unknown): ChainTip {
  return parse(place, 'a chain tip', tipSchema, value);
}

export function checkTxStatus(place: string, value: unknown): ChainTxStatus {
  return parse(place, 'a transaction status', txStatusSchema, value);
}

export function checkFeeEstimate(place: string, value: unknown): FeeEstimate | null {
  return parse(place, 'a fee estimate or null', feeEstimateSchema, value);
}

export function checkAccept(place: string, value: unknown): MempoolAcceptResult {
  return parse(place, 'a mempool acceptance result', acceptSchema, value);
}

export function checkBlockHash(place: string, value: unknown): string | null {
  return parse(place, 'a block hash or null', hash64.nullable(), value);
}

/**
 * Parse a block and check it is the one asked for: same hash, same height, and (when known) the
 * expected parent. The returned block is the parsed copy.
 */
export function checkBlock(
  place: string,
  value: unknown,
  expected: { readonly hash: string; readonly height: number },
): ChainBlock {
  const block: ChainBlock = parse(place, 'a block', blockSchema, value);
  if (block.hash !== expected.hash || block.height !== expected.height) {
    throw badResponse(
      place,
      `expected block ${expected.hash} at height ${expected.height}, got ${block.hash} at height ${block.height}`,
    );
  }
  const first = block.transactions[0];
  if (first === undefined || first.inputs.length !== 1 || first.inputs[0]?.coinbase !== true) {
    throw badResponse(place, `expected block ${block.hash} to open with a coinbase transaction`);
  }
  for (let i = 1; i < block.transactions.length; i++) {
    const tx = block.transactions[i];
    if (tx === undefined || tx.inputs.length === 0 || tx.inputs.some((x) => x.coinbase)) {
      throw badResponse(
        place,
        `expected transaction ${i} of block ${block.hash} to have inputs and no coinbase input`,
      );
    }
  }
  return block;
}

/**
 * zod schemas of Bitcoin Core's RPC results (v28+, from each method's `help` text upstream:
 * src/rpc/blockchain.cpp, rawtransaction.cpp, mempool.cpp, fees.cpp, mining.cpp and the wallet),
 * and the table of calls the client makes. Schemas are non-strict objects: Core adds fields from
 * version to version, and they are accepted (and dropped); the fields Keyline reads are required
 * and checked. Amounts are converted to bigint satoshis exactly (`btcAmount`, see amount.ts).
 */
import { z } from 'zod';
import { btcToSats, satsToBtcNumber } from './amount.js';

export const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');
export const hexBytes = z
  .string()
  .regex(/^(?:[0-9a-f]{2})*$/, 'expected an even number of lowercase hex digits');
const int = z.number().int();
const count = z.number().int().min(0);

/** A BTC amount JSON number → exact bigint satoshis (refuses floats Core never prints). */
export const btcAmount = z.number().transform((x, ctx) => {
  try {
    return btcToSats(x, 'amount');
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

/** getblockchaininfo. `warnings` is a string before v28 and an array since. */
export const blockchainInfoSchema = z.object({
  chain: z.string(),
  blocks: count,
  bestblockhash: hex64,
  headers: count.optional(),
  initialblockdownload: z.boolean().optional(),
  verificationprogress: z.number().optional(),
  pruned: z.boolean().optional(),
  warnings: z.union([z.string(), z.array(z.string())]).optional(),
});

const headerFields = {
  hash: hex64,
  /** -1 when the block is not on the active chain. */
  confirmations: int.optional(),
  height: count,
  version: int,
  merkleroot: hex64,
  time: count,
  nonce: count,
  bits: z.string().regex(/^[0-9a-f]{8}$/, 'expected 8 hex digits'),
  /** Absent for the genesis block. */
  previousblockhash: hex64.optional(),
  /** Absent at the tip. */
  nextblockhash: hex64.optional(),
  mediantime: count.optional(),
  nTx: count.optional(),
  chainwork: z.string().optional(),
};

/** getblockheader <hash> true */
export const blockHeaderSchema = z.object(headerFields);

/** getblock <hash> 2: the header fields plus every transaction with its `hex`. */
export const blockV2Schema = z.object({
  ...headerFields,
  tx: z.array(z.object({ txid: hex64, hex: hexBytes, hash: hex64.optional() })).min(1),
});

/** getrawtransaction <txid> true */
export const rawTransactionVerboseSchema = z.object({
  txid: hex64,
  hash: hex64.optional(),
  hex: hexBytes.optional(),
  /** Only for a confirmed transaction (needs txindex=1, or the blockhash argument). */
  blockhash: hex64.optional(),
  /** 0 when `blockhash` is not on the active chain. */
  confirmations: count.optional(),
  in_active_chain: z.boolean().optional(),
  time: count.optional(),
  blocktime: count.optional(),
});

/** getmempoolentry <txid> — only its presence is used; the fields are typed, not required. */
export const mempoolEntrySchema = z.object({
  vsize: count.optional(),
  weight: count.optional(),
  time: count.optional(),
  height: count.optional(),
  fees: z.object({ base: btcAmount }).optional(),
  depends: z.array(hex64).optional(),
  spentby: z.array(hex64).optional(),
  wtxid: hex64.optional(),
});

/** testmempoolaccept [...] — one entry per transaction. */
export const mempoolAcceptSchema = z
  .array(
    z.object({
      txid: hex64,
      wtxid: hex64.optional(),
      'package-error': z.string().optional(),
      /** Absent when the package failed before this transaction was validated. */
      allowed: z.boolean().optional(),
      vsize: count.optional(),
      fees: z.object({ base: btcAmount }).optional(),
      'reject-reason': z.string().optional(),
      'reject-details': z.string().optional(),
    }),
  )
  .min(1);

/** estimatesmartfee <target> — `feerate` in BTC/kvB, only without `errors`. */
export const smartFeeSchema = z.object({
  feerate: btcAmount.optional(),
  errors: z.array(z.string()).optional(),
  blocks: count,
});

export interface RpcCall<T> {
  readonly method: string;
  readonly params: readonly unknown[];
  readonly schema: z.ZodType<T>;
}

function call<S extends z.ZodType>(
  method: string,
  params: readonly unknown[],
  schema: S,
): RpcCall<z.output<S>> {
  return Object.freeze({ method, params: Object.freeze([...params]), schema }) as RpcCall<
    z.output<S>
  >;
}

/**
 * Every call Keyline makes, as data: method name, positional params, result schema. Amounts go
 * in as bigint satoshis and are sent as exact BTC JSON numbers (amount.ts `satsToBtcNumber`).
 */
export const CORE_CALLS = Object.freeze({
  getblockchaininfo: () => call('getblockchaininfo', [], blockchainInfoSchema),
  getblockcount: () => call('getblockcount', [], count),
  getblockhash: (height: number) => call('getblockhash', [height], hex64),
  getblockheader: (hash: string) => call('getblockheader', [hash, true], blockHeaderSchema),
  getblock: (hash: string) => call('getblock', [hash, 2], blockV2Schema),
  getrawtransaction: (txid: string) => call('getrawtransaction', [txid, false], hexBytes),
  getrawtransactionVerbose: (txid: string) =>
    call('getrawtransaction', [txid, true], rawTransactionVerboseSchema),
  getrawmempool: () => call('getrawmempool', [false], z.array(hex64)),
  getmempoolentry: (txid: string) => call('getmempoolentry', [txid], mempoolEntrySchema),
  testmempoolaccept: (rawHex: readonly string[], maxFeeRateSatPerKvB?: bigint) =>
    call(
      'testmempoolaccept',
      maxFeeRateSatPerKvB === undefined
        ? [rawHex]
        : [rawHex, satsToBtcNumber(maxFeeRateSatPerKvB, 'testmempoolaccept/maxfeerate')],
      mempoolAcceptSchema,
    ),
  sendrawtransaction: (rawHex: string, maxFeeRateSatPerKvB?: bigint) =>
    call(
      'sendrawtransaction',
      maxFeeRateSatPerKvB === undefined
        ? [rawHex]
        : [rawHex, satsToBtcNumber(maxFeeRateSatPerKvB, 'sendrawtransaction/maxfeerate')],
      hex64,
    ),
  estimatesmartfee: (targetBlocks: number) =>
    call('estimatesmartfee', [targetBlocks], smartFeeSchema),
  // Tests and the devnet only (regtest mining and the wallet faucet):
  generatetoaddress: (blocks: number, address: string) =>
    call('generatetoaddress', [blocks, address], z.array(hex64)),
  sendtoaddress: (address: string, amount: bigint) =>
    call('sendtoaddress', [address, satsToBtcNumber(amount, 'sendtoaddress/amount')], hex64),
  getnewaddress: () => call('getnewaddress', [], z.string().min(1)),
  invalidateblock: (hash: string) => call('invalidateblock', [hash], z.null()),
  reconsiderblock: (hash: string) => call('reconsiderblock', [hash], z.null()),
});

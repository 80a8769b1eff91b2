/**
 * Raw transaction RPCs (src/rpc/rawtransaction.cpp, src/rpc/mempool.cpp, v28):
 * getrawtransaction (as with -txindex=1), sendrawtransaction, testmempoolaccept,
 * decoderawtransaction.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { BlockEntry } from '../../chain/chainstate.js';
import type { Coin } from '../../chain/coins.js';
import { regtestGenesis } from '../../consensus/genesis.js';
import { POLICY } from '../../consensus/params.js';
import { decodeTxHex, type Tx } from '../../consensus/tx.js';
import { isDevnetError } from '../../errors.js';
import { feeRateOf } from '../../policy/feerate.js';
import {
  amountFromValue,
  getInt,
  getStr,
  type MethodSpec,
  parseFeeRate,
  parseHash,
} from '../args.js';
import { RPC, RpcError } from '../errors.js';
import { txToJson } from '../format-tx.js';
import { Amount, type JsonValue } from '../json.js';
import type { RpcContext } from './blockchain.js';

const GENESIS_COINBASE_TXID = regtestGenesis().txs[0]?.txid ?? '';
const DECODE_FAILED = 'TX decode failed. Make sure the tx has at least one input.';

function decodeOrThrow(hex: string, message = DECODE_FAILED): Tx {
  try {
    return decodeTxHex(hex);
  } catch (err) {
    if (isDevnetError(err, 'BAD_TX')) throw new RpcError(RPC.DESERIALIZATION_ERROR, message);
    throw err;
  }
}

/** TxToJSON: TxToUniv plus the block context Core adds for a confirmed transaction. */
function txWithBlock(
  ctx: RpcContext,
  tx: Tx,
  entry: BlockEntry | null,
  undo: readonly Coin[] | null,
  verbosity: number,
  out: Record<string, JsonValue>,
): Record<string, JsonValue> {
  Object.assign(out, txToJson(tx, undo, verbosity >= 2));
  if (entry !== null) {
    const chain = ctx.node.chainstate;
    out.blockhash = entry.hash;
    if (chain.isActive(entry)) {
      out.confirmations = chain.height - entry.height + 1;
      out.time = entry.block.header.time;
      out.blocktime = entry.block.header.time;
    } else {
      out.confirmations = 0;
    }
  }
  return out;
}

function getRawTransaction(
  [txidArg, verbosityArg, blockhashArg]: readonly unknown[],
  ctx: RpcContext,
): JsonValue {
  const txid = parseHash(txidArg, 'parameter 1');
  if (txid === GENESIS_COINBASE_TXID) {
    throw new RpcError(
      RPC.INVALID_ADDRESS_OR_KEY,
      'The genesis block coinbase is not considered an ordinary transaction and cannot be retrieved',
    );
  }
  let verbosity = 0;
  if (verbosityArg !== undefined && verbosityArg !== null) {
    verbosity = typeof verbosityArg === 'boolean' ? (verbosityArg ? 1 : 0) : getInt(verbosityArg);
  }
  const node = ctx.node;
  let entry: BlockEntry | null = null;
  let tx: Tx | undefined;
  let index = -1;
  if (blockhashArg !== undefined && blockhashArg !== null) {
    const blockHash = parseHash(blockhashArg, 'parameter 3');
    const given = node.getBlock(blockHash);
    if (given === undefined) throw new RpcError(RPC.INVALID_ADDRESS_OR_KEY, 'Block hash not found');
    entry = given;
    index = given.block.txs.findIndex((t) => t.txid === txid);
    tx = given.block.txs[index];
    if (tx === undefined) {
      throw new RpcError(
        RPC.INVALID_ADDRESS_OR_KEY,
        'No such transaction found in the provided block. Use gettransaction for wallet transactions.',
      );
    }
  } else {
    const found = node.getTransaction(txid);
    if (found === null) {
      throw new RpcError(
        RPC.INVALID_ADDRESS_OR_KEY,
        'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.',
      );
    }
    tx = found.tx;
    if (found.blockHash !== null) {
      entry = node.getBlock(found.blockHash) ?? null;
      index = entry?.block.txs.findIndex((t) => t.txid === txid) ?? -1;
    }
  }
  if (verbosity <= 0) return bytesToHex(tx.raw);
  const result: Record<string, JsonValue> = {};
  if (blockhashArg !== undefined && blockhashArg !== null && entry !== null)
    result.in_active_chain = node.chainstate.isActive(entry);
  const undo =
    verbosity >= 2 && entry !== null && index > 0 && entry.undo !== null
      ? (entry.undo[index - 1] ?? null)
      : null;
  return txWithBlock(ctx, tx, entry, undo, undo === null ? 1 : 2, result);
}

export const RAWTX_METHODS: readonly MethodSpec<RpcContext>[] = [
  {
    name: 'getrawtransaction',
    description:
      'By default, this call only returns a transaction if it is in the mempool. If -txindex is enabled\nand no blockhash argument is passed, it will return the transaction if it is in the mempool or any block.\nIf a blockhash argument is passed, it will return the transaction if\nthe specified block is available and the transaction is in that block.',
    args: [
      { names: 'txid', type: 'hex', required: true },
      { names: 'verbosity|verbose', type: 'num', required: false, skipTypeCheck: true },
      { names: 'blockhash', type: 'hex', required: false },
    ],
    handler: getRawTransaction,
  },
  {
    name: 'sendrawtransaction',
    description: 'Submit a raw transaction (serialized, hex-encoded) to local node and network.',
    args: [
      { names: 'hexstring', type: 'hex', required: true },
      { names: 'maxfeerate', type: 'amount', required: false },
      { names: 'maxburnamount', type: 'amount', required: false },
    ],
    handler: ([hex, maxfeerate, maxburn], { node }) => {
      const tx = decodeOrThrow(getStr(hex));
      const maxBurnAmount =
        maxburn === undefined || maxburn === null ? 0n : amountFromValue(maxburn);
      const maxFeeRateSatPerKvB =
        maxfeerate === undefined || maxfeerate === null
          ? POLICY.defaultMaxRawTxFeeRateSatPerKvB
          : parseFeeRate(maxfeerate);
      return node.submit(tx.raw, { maxFeeRateSatPerKvB, maxBurnAmount });
    },
  },
  {
    name: 'testmempoolaccept',
    description:
      'Returns result of mempool acceptance tests indicating if raw transaction(s) (serialized, hex-encoded) would be accepted by mempool.',
    args: [
      { names: 'rawtxs', type: 'arr', required: true },
      { names: 'maxfeerate', type: 'amount', required: false },
    ],
    handler: ([rawtxs, maxfeerate], { node }) => {
      const raws = rawtxs as readonly unknown[];
      if (raws.length < 1 || raws.length > POLICY.maxPackageCount) {
        throw new RpcError(
          RPC.INVALID_PARAMETER,
          `Array must contain between 1 and ${POLICY.maxPackageCount} transactions.`,
        );
      }
      const rate =
        maxfeerate === undefined || maxfeerate === null
          ? POLICY.defaultMaxRawTxFeeRateSatPerKvB
          : parseFeeRate(maxfeerate);
      const txs = raws.map((r) => {
        const hex = getStr(r);
        return decodeOrThrow(
          hex,
          `TX decode failed: ${hex} Make sure the tx has at least one input.`,
        );
      });
      return node
        .testAccept(
          txs.map((t) => t.raw),
          rate,
        )
        .map((r) => {
          const out: Record<string, JsonValue> = { txid: r.txid, wtxid: r.wtxid };
          if (r.packageError !== undefined) out['package-error'] = r.packageError;
          if (r.allowed === true && r.vsize !== undefined && r.fee !== undefined) {
            out.allowed = true;
            out.vsize = r.vsize;
            out.fees = {
              base: new Amount(r.fee),
              'effective-feerate': new Amount(feeRateOf(r.fee, r.vsize)),
              'effective-includes': [r.wtxid],
            };
          } else if (r.allowed === false) {
            out.allowed = false;
            out['reject-reason'] = r.rejectReason ?? '';
          }
          return out;
        });
    },
  },
  {
    name: 'decoderawtransaction',
    description: 'Return a JSON object representing the serialized, hex-encoded transaction.',
    args: [
      { names: 'hexstring', type: 'hex', required: true },
      { names: 'iswitness', type: 'bool', required: false },
    ],
    handler: ([hex]) => {
      const json = txToJson(decodeOrThrow(getStr(hex)), null, false);
      delete json.hex;
      return json;
    },
  },
];

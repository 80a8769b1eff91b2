/**
 * Mempool RPCs (src/rpc/mempool.cpp, v28): getrawmempool, getmempoolentry, getmempoolinfo.
 */

import type { Mempool, MempoolEntry } from '../../chain/mempool.js';
import { POLICY } from '../../consensus/params.js';
import { signalsOptInRbf } from '../../policy/rbf.js';
import { getBool, type MethodSpec, parseHash } from '../args.js';
import { RPC, RpcError } from '../errors.js';
import { Amount, type JsonValue } from '../json.js';
import type { RpcContext } from './blockchain.js';

/** entryToJSON. */
export function entryToJson(pool: Mempool, e: MempoolEntry): Record<string, JsonValue> {
  const txid = e.tx.txid;
  const ancestors = [...pool.ancestors(txid)].map((t) => pool.get(t) as MempoolEntry);
  const descendants = [...pool.descendants(txid)].map((t) => pool.get(t) as MempoolEntry);
  const sum = (list: MempoolEntry[], f: (x: MempoolEntry) => bigint): bigint =>
    list.reduce((n, x) => n + f(x), 0n);
  const replaceable = signalsOptInRbf(e.tx) || ancestors.some((a) => signalsOptInRbf(a.tx));
  return {
    vsize: e.vsize,
    weight: e.tx.weight,
    time: e.time,
    height: e.height,
    descendantcount: descendants.length + 1,
    descendantsize: descendants.reduce((n, d) => n + d.vsize, e.vsize),
    ancestorcount: ancestors.length + 1,
    ancestorsize: ancestors.reduce((n, a) => n + a.vsize, e.vsize),
    wtxid: e.tx.wtxid,
    fees: {
      base: new Amount(e.fee),
      modified: new Amount(e.fee),
      ancestor: new Amount(e.fee + sum(ancestors, (a) => a.fee)),
      descendant: new Amount(e.fee + sum(descendants, (d) => d.fee)),
    },
    depends: [...pool.parents(txid)].sort(),
    spentby: [...pool.children(txid)].sort(),
    'bip125-replaceable': replaceable,
    unbroadcast: e.unbroadcast,
  };
}

export const MEMPOOL_METHODS: readonly MethodSpec<RpcContext>[] = [
  {
    name: 'getrawmempool',
    description:
      'Returns all transaction ids in memory pool as a json array of string transaction ids.\n\nHint: use getmempoolentry to fetch a specific transaction from the mempool.',
    args: [
      { names: 'verbose', type: 'bool', required: false },
      { names: 'mempool_sequence', type: 'bool', required: false },
    ],
    handler: ([verboseArg, seqArg], { node }) => {
      const verbose = verboseArg === undefined || verboseArg === null ? false : getBool(verboseArg);
      const withSequence = seqArg === undefined || seqArg === null ? false : getBool(seqArg);
      const pool = node.mempool;
      if (verbose && withSequence)
        throw new RpcError(
          RPC.INVALID_PARAMETER,
          'Verbose results cannot contain mempool sequence values.',
        );
      if (verbose) {
        const out: Record<string, JsonValue> = {};
        for (const e of pool.entries()) out[e.tx.txid] = entryToJson(pool, e);
        return out;
      }
      const txids = pool.entries().map((e) => e.tx.txid);
      return withSequence ? { txids, mempool_sequence: pool.sequence } : txids;
    },
  },
  {
    name: 'getmempoolentry',
    description: 'Returns mempool data for given transaction',
    args: [{ names: 'txid', type: 'hex', required: true }],
    handler: ([txid], { node }) => {
      const e = node.mempool.get(parseHash(txid, 'parameter 1'));
      if (e === undefined)
        throw new RpcError(RPC.INVALID_ADDRESS_OR_KEY, 'Transaction not in mempool');
      return entryToJson(node.mempool, e);
    },
  },
  {
    name: 'getmempoolinfo',
    description: 'Returns details on the active state of the TX memory pool.',
    args: [],
    handler: (_p, { node }) => {
      const pool = node.mempool;
      const entries = pool.entries();
      return {
        loaded: true,
        size: pool.size,
        bytes: pool.totalVsize(),
        usage: entries.reduce((n, e) => n + e.tx.size * 2 + 256, 0),
        total_fee: new Amount(pool.totalFee()),
        maxmempool: 300_000_000,
        mempoolminfee: new Amount(node.minRelayFeeSatPerKvB),
        minrelaytxfee: new Amount(node.minRelayFeeSatPerKvB),
        incrementalrelayfee: new Amount(POLICY.incrementalRelayFeeSatPerKvB),
        unbroadcastcount: entries.filter((e) => e.unbroadcast).length,
        fullrbf: node.fullRbf,
      };
    },
  },
];

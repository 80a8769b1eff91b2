/**
 * The RPC method table and the dispatcher: method lookup ("Method not found", -32601), named
 * parameters, argument checks, and every failure turned into Core's code and text.
 */
import { DevnetError } from '../../errors.js';
import { checkArgs, type MethodSpec, positionalParams } from '../args.js';
import { fromDevnetError, RPC, RpcError } from '../errors.js';
import type { JsonValue } from '../json.js';
import { BLOCKCHAIN_METHODS, type RpcContext } from './blockchain.js';
import { MEMPOOL_METHODS } from './mempool.js';
import { MINING_METHODS } from './mining.js';
import { RAWTX_METHODS } from './rawtransactions.js';
import { WALLET_METHODS } from './wallet.js';

export type { RpcContext };

export const METHODS: ReadonlyMap<string, MethodSpec<RpcContext>> = new Map(
  [
    ...BLOCKCHAIN_METHODS,
    ...RAWTX_METHODS,
    ...MEMPOOL_METHODS,
    ...MINING_METHODS,
    ...WALLET_METHODS,
  ].map((m) => [m.name, m]),
);

/** Runs one call; throws RpcError only. */
export function dispatch(ctx: RpcContext, method: string, params: unknown): JsonValue {
  const spec = METHODS.get(method);
  if (spec === undefined) throw new RpcError(RPC.METHOD_NOT_FOUND, 'Method not found');
  try {
    const positional = positionalParams(spec as MethodSpec<unknown>, params);
    checkArgs(spec as MethodSpec<unknown>, positional);
    return spec.handler(positional, ctx);
  } catch (err) {
    if (err instanceof RpcError) throw err;
    if (err instanceof DevnetError) throw fromDevnetError(err);
    throw new RpcError(RPC.MISC_ERROR, err instanceof Error ? err.message : String(err));
  }
}

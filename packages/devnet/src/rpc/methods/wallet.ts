/**
 * The mining wallet's RPCs (a subset of src/wallet/rpc/*.cpp): sendtoaddress (the faucet),
 * getnewaddress (bech32 only), getbalance.
 */
import { amountFromValue, getBool, getStr, type MethodSpec } from '../args.js';
import { RPC, RpcError } from '../errors.js';
import { Amount } from '../json.js';
import type { RpcContext } from './blockchain.js';

export const WALLET_METHODS: readonly MethodSpec<RpcContext>[] = [
  {
    name: 'sendtoaddress',
    description: 'Send an amount to a given address.',
    args: [
      { names: 'address', type: 'str', required: true },
      { names: 'amount', type: 'amount', required: true },
      { names: 'comment', type: 'str', required: false },
      { names: 'comment_to', type: 'str', required: false },
      { names: 'subtractfeefromamount', type: 'bool', required: false },
      { names: 'replaceable', type: 'bool', required: false },
      { names: 'conf_target', type: 'num', required: false },
      { names: 'estimate_mode', type: 'str', required: false },
      { names: 'avoid_reuse', type: 'bool', required: false },
      { names: 'fee_rate', type: 'amount', required: false },
      { names: 'verbose', type: 'bool', required: false },
    ],
    handler: ([address, amount, , , subtract, , , , , feeRate, verbose], { node }) => {
      const sats = amountFromValue(amount);
      if (sats <= 0n) throw new RpcError(RPC.TYPE_ERROR, 'Invalid amount for send');
      const rate =
        feeRate === undefined || feeRate === null ? undefined : amountFromValue(feeRate, 3);
      const txid = node.send(getStr(address), sats, {
        subtractFee: subtract === undefined || subtract === null ? false : getBool(subtract),
        ...(rate === undefined ? {} : { feeRateSatPerKvB: rate }),
      });
      if (verbose !== undefined && verbose !== null && getBool(verbose)) {
        return { txid, fee_reason: rate === undefined ? 'Fallback fee' : 'Override' };
      }
      return txid;
    },
  },
  {
    name: 'getnewaddress',
    description: 'Returns a new Bitcoin address for receiving payments.',
    args: [
      { names: 'label', type: 'str', required: false },
      { names: 'address_type', type: 'str', required: false },
    ],
    handler: ([, type], { node }) => {
      if (type !== undefined && type !== null && getStr(type) !== 'bech32') {
        throw new RpcError(RPC.INVALID_ADDRESS_OR_KEY, `Unknown address type '${getStr(type)}'`);
      }
      return node.newAddress();
    },
  },
  {
    name: 'getbalance',
    description: 'Returns the total available balance.',
    args: [
      { names: 'dummy', type: 'str', required: false },
      { names: 'minconf', type: 'num', required: false },
      { names: 'include_watchonly', type: 'bool', required: false },
      { names: 'avoid_reuse', type: 'bool', required: false },
    ],
    handler: (_p, { node }) => new Amount(node.walletBalance()),
  },
];

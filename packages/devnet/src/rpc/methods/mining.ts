/**
 * Mining, fee and network RPCs (src/rpc/mining.cpp, src/rpc/fees.cpp, src/rpc/net.cpp, v28):
 * generatetoaddress, estimatesmartfee, getnetworkinfo (a subset: a regtest node with no peers).
 */
import { POLICY } from '../../consensus/params.js';
import { isDevnetError } from '../../errors.js';
import { getInt, getStr, type MethodSpec } from '../args.js';
import { RPC, RpcError } from '../errors.js';
import { Amount } from '../json.js';
import type { RpcContext } from './blockchain.js';

const FEE_MODES = ['unset', 'economical', 'conservative'];

export const MINING_METHODS: readonly MethodSpec<RpcContext>[] = [
  {
    name: 'generatetoaddress',
    description: 'Mine to a specified address and return the block hashes.',
    args: [
      { names: 'nblocks', type: 'num', required: true },
      { names: 'address', type: 'str', required: true },
      { names: 'maxtries', type: 'num', required: false },
    ],
    handler: ([nblocks, address, maxtries], { node }) => {
      const count = getInt(nblocks);
      const tries = maxtries === undefined || maxtries === null ? 1_000_000 : getInt(maxtries, 64);
      const addr = getStr(address);
      try {
        return node.mine(Math.max(0, count), addr, tries);
      } catch (err) {
        if (isDevnetError(err, 'BAD_ADDRESS'))
          throw new RpcError(RPC.INVALID_ADDRESS_OR_KEY, 'Error: Invalid address');
        throw err;
      }
    },
  },
  {
    name: 'estimatesmartfee',
    description:
      'Estimates the approximate fee per kilobyte needed for a transaction to begin\nconfirmation within conf_target blocks if possible and return the number of blocks\nfor which the estimate is valid.',
    args: [
      { names: 'conf_target', type: 'num', required: true },
      { names: 'estimate_mode', type: 'str', required: false },
    ],
    handler: ([target, mode], { node }) => {
      const t = getInt(target);
      if (t < 1 || t > POLICY.maxConfirmTarget) {
        throw new RpcError(
          RPC.INVALID_PARAMETER,
          `Invalid conf_target, must be between 1 and ${POLICY.maxConfirmTarget}`,
        );
      }
      if (mode !== undefined && mode !== null && !FEE_MODES.includes(getStr(mode).toLowerCase())) {
        throw new RpcError(
          RPC.INVALID_PARAMETER,
          'Invalid estimate_mode parameter, must be one of: "unset", "economical", "conservative"',
        );
      }
      const estimate = node.estimateFee(t);
      return { feerate: new Amount(estimate.satPerKvB), blocks: estimate.blocks };
    },
  },
  {
    name: 'getnetworkinfo',
    description: 'Returns an object containing various state info regarding P2P networking.',
    args: [],
    handler: (_p, { node }) => ({
      version: 280000,
      subversion: '/Satoshi:28.0.0/',
      protocolversion: 70016,
      localservices: '0000000000000c09',
      localservicesnames: ['NETWORK', 'WITNESS', 'NETWORK_LIMITED', 'P2P_V2'],
      localrelay: true,
      timeoffset: 0,
      networkactive: true,
      connections: 0,
      connections_in: 0,
      connections_out: 0,
      networks: [],
      relayfee: new Amount(node.minRelayFeeSatPerKvB),
      incrementalfee: new Amount(POLICY.incrementalRelayFeeSatPerKvB),
      localaddresses: [],
      warnings: [],
    }),
  },
];

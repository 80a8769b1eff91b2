/**
 * Blockchain RPCs (src/rpc/blockchain.cpp, v28): getblockchaininfo, getblockcount,
 * getbestblockhash, getblockhash, getblockheader, getblock, invalidateblock, reconsiderblock.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { encodeBlock } from '../../consensus/block.js';
import { difficulty, uint256Hex } from '../../consensus/pow.js';
import type { DevnetNode } from '../../node.js';
import { getBool, getInt, type MethodSpec, parseHash } from '../args.js';
import { RPC, RpcError } from '../errors.js';
import { blockToJson, headerHex, headerToJson } from '../format-block.js';
import { JsonFloat } from '../json.js';

export interface RpcContext {
  readonly node: DevnetNode;
}

function lookup(ctx: RpcContext, hash: string) {
  const entry = ctx.node.getBlock(hash);
  if (entry === undefined) throw new RpcError(RPC.INVALID_ADDRESS_OR_KEY, 'Block not found');
  return entry;
}

export const BLOCKCHAIN_METHODS: readonly MethodSpec<RpcContext>[] = [
  {
    name: 'getblockchaininfo',
    description: 'Returns an object containing various state info regarding blockchain processing.',
    args: [],
    handler: (_p, { node }) => {
      const chain = node.chainstate;
      const tip = chain.tip;
      let headers = chain.height;
      let size = 0;
      for (const e of chain.allBlocks()) {
        size += e.block.size + 8;
        if (e.failure === 'none' && e.height > headers) headers = e.height;
      }
      return {
        chain: 'regtest',
        blocks: chain.height,
        headers,
        bestblockhash: tip.hash,
        difficulty: new JsonFloat(difficulty(tip.block.header.bits)),
        time: tip.block.header.time,
        mediantime: tip.mtp,
        verificationprogress: 1,
        initialblockdownload: node.isInitialBlockDownload(),
        chainwork: uint256Hex(tip.chainWork),
        size_on_disk: size,
        pruned: false,
        warnings: [],
      };
    },
  },
  {
    name: 'getblockcount',
    description: 'Returns the height of the most-work fully-validated chain.',
    args: [],
    handler: (_p, { node }) => node.chainstate.height,
  },
  {
    name: 'getbestblockhash',
    description: 'Returns the hash of the best (tip) block in the most-work fully-validated chain.',
    args: [],
    handler: (_p, { node }) => node.chainstate.tip.hash,
  },
  {
    name: 'getblockhash',
    description: 'Returns hash of block in best-block-chain at height provided.',
    args: [{ names: 'height', type: 'num', required: true }],
    handler: ([height], { node }) => {
      const h = getInt(height);
      const hash = node.blockHash(h);
      if (h < 0 || hash === null)
        throw new RpcError(RPC.INVALID_PARAMETER, 'Block height out of range');
      return hash;
    },
  },
  {
    name: 'getblockheader',
    description:
      "If verbose is false, returns a string that is serialized, hex-encoded data for blockheader 'hash'.\nIf verbose is true, returns an Object with information about blockheader <hash>.",
    args: [
      { names: 'blockhash', type: 'hex', required: true },
      { names: 'verbose', type: 'bool', required: false },
    ],
    handler: ([hash, verbose], ctx) => {
      const entry = lookup(ctx, parseHash(hash, 'hash'));
      if (verbose !== undefined && verbose !== null && !getBool(verbose)) return headerHex(entry);
      return headerToJson(ctx.node.chainstate, entry);
    },
  },
  {
    name: 'getblock',
    description:
      "If verbosity is 0, returns a string that is serialized, hex-encoded data for block 'hash'.\nIf verbosity is 1, returns an Object with information about block <hash>.\nIf verbosity is 2, returns an Object with information about block <hash> and information about each transaction.\nIf verbosity is 3, returns an Object with information about block <hash> and information about each transaction, including prevout information for inputs (only for unpruned blocks in the current best chain).",
    args: [
      { names: 'blockhash', type: 'hex', required: true },
      { names: 'verbosity|verbose', type: 'num', required: false, skipTypeCheck: true },
    ],
    handler: ([hash, verbosityArg], ctx) => {
      const entry = lookup(ctx, parseHash(hash, 'blockhash'));
      let verbosity = 1;
      if (verbosityArg !== undefined && verbosityArg !== null) {
        verbosity =
          typeof verbosityArg === 'boolean' ? (verbosityArg ? 1 : 0) : getInt(verbosityArg);
      }
      if (verbosity <= 0) return bytesToHex(encodeBlock(entry.block));
      return blockToJson(ctx.node.chainstate, entry, verbosity === 1 ? 1 : verbosity === 2 ? 2 : 3);
    },
  },
  {
    name: 'invalidateblock',
    description: 'Permanently marks a block as invalid, as if it violated a consensus rule.',
    args: [{ names: 'blockhash', type: 'hex', required: true }],
    handler: ([hash], ctx) => {
      const entry = lookup(ctx, parseHash(hash, 'blockhash'));
      ctx.node.invalidateBlock(entry.hash);
      return null;
    },
  },
  {
    name: 'reconsiderblock',
    description:
      'Removes invalidity status of a block, its ancestors and its descendants, reconsider them for activation.\nThis can be used to undo the effects of invalidateblock.',
    args: [{ names: 'blockhash', type: 'hex', required: true }],
    handler: ([hash], ctx) => {
      const entry = lookup(ctx, parseHash(hash, 'blockhash'));
      ctx.node.reconsiderBlock(entry.hash);
      return null;
    },
  },
];

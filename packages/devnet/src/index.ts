/**
 * @keyline/devnet — an embedded regtest-style Bitcoin node with real validation, serving
 * Bitcoin Core v28's JSON-RPC subset. See README.md.
 */

export type { BlockEntry } from './chain/chainstate.js';
export type { MempoolEntry } from './chain/mempool.js';
export type { Block, BlockHeader } from './consensus/block.js';
export { REGTEST_GENESIS_HASH } from './consensus/genesis.js';
export { decodeTx, decodeTxHex, type Tx, type TxIn, type TxOut } from './consensus/tx.js';
export { DEVNET_ERROR_CODES, DevnetError, type DevnetErrorCode, isDevnetError } from './errors.js';
export {
  DevnetNode,
  type DevnetNodeOptions,
  type TestAcceptOutcome,
  type TipInfo,
  type TxLookup,
  type UtxoInfo,
} from './node.js';
export type { DevnetOptions } from './options.js';
export { SCRIPT_ERRORS } from './script/errors.js';
export { compactToDer } from './script/signature-encoding.js';
export { type RunningDevnet, startDevnet } from './start.js';
export { addressToScript, scriptToAddress } from './wallet/address.js';

/**
 * Bitcoin Core's JSON-RPC error codes (src/rpc/protocol.h upstream, `enum RPCErrorCode`, as of
 * v28/v29) and how each maps onto a CoordinatorError. Kept as one frozen table so the client,
 * the docs (docs/chain.md §5) and the doc test read the same data.
 *
 * Mapping rules (docs/chain.md §5):
 * - -25 RPC_VERIFY_ERROR, -26 RPC_VERIFY_REJECTED → CHAIN_REJECTED (the node refused the tx);
 *   -27 RPC_VERIFY_ALREADY_IN_UTXO_SET too, with `detail.alreadyInChain` (the bitcoind backend
 *   turns it into success when re-broadcasting).
 * - -5 RPC_INVALID_ADDRESS_OR_KEY → NOT_FOUND (Core uses it for "Block not found", "No such
 *   mempool or blockchain transaction", "Transaction not in mempool").
 * - -28 RPC_IN_WARMUP → retried with backoff; CHAIN_UNAVAILABLE when retries run out.
 * - everything else (known or not) → CHAIN_RPC. `detail.rpcCode` and `detail.rpcMessage` are
 *   always set.
 */
import type { CoordinatorErrorCode } from '../errors.js';

export type CoreErrorClass = 'rejected' | 'already_in_chain' | 'not_found' | 'warmup' | 'rpc';

interface CoreErrorEntry {
  readonly name: string;
  readonly class: CoreErrorClass;
}

const entry = (name: string, klass: CoreErrorClass = 'rpc'): CoreErrorEntry =>
  Object.freeze({ name, class: klass });

export const CORE_RPC_ERRORS: Readonly<Record<number, CoreErrorEntry>> = Object.freeze({
  // Standard JSON-RPC 2.0 errors
  [-32600]: entry('RPC_INVALID_REQUEST'),
  [-32601]: entry('RPC_METHOD_NOT_FOUND'),
  [-32602]: entry('RPC_INVALID_PARAMS'),
  [-32603]: entry('RPC_INTERNAL_ERROR'),
  [-32700]: entry('RPC_PARSE_ERROR'),
  // General application defined errors
  [-1]: entry('RPC_MISC_ERROR'),
  [-3]: entry('RPC_TYPE_ERROR'),
  [-5]: entry('RPC_INVALID_ADDRESS_OR_KEY', 'not_found'),
  [-7]: entry('RPC_OUT_OF_MEMORY'),
  [-8]: entry('RPC_INVALID_PARAMETER'),
  [-20]: entry('RPC_DATABASE_ERROR'),
  [-22]: entry('RPC_DESERIALIZATION_ERROR'),
  [-25]: entry('RPC_VERIFY_ERROR', 'rejected'),
  [-26]: entry('RPC_VERIFY_REJECTED', 'rejected'),
  [-27]: entry('RPC_VERIFY_ALREADY_IN_UTXO_SET', 'already_in_chain'),
  [-28]: entry('RPC_IN_WARMUP', 'warmup'),
  [-32]: entry('RPC_METHOD_DEPRECATED'),
  // P2P client errors
  [-9]: entry('RPC_CLIENT_NOT_CONNECTED'),
  [-10]: entry('RPC_CLIENT_IN_INITIAL_DOWNLOAD'),
  [-23]: entry('RPC_CLIENT_NODE_ALREADY_ADDED'),
  [-24]: entry('RPC_CLIENT_NODE_NOT_ADDED'),
  [-29]: entry('RPC_CLIENT_NODE_NOT_CONNECTED'),
  [-30]: entry('RPC_CLIENT_INVALID_IP_OR_SUBNET'),
  [-31]: entry('RPC_CLIENT_P2P_DISABLED'),
  [-33]: entry('RPC_CLIENT_MEMPOOL_DISABLED'),
  [-34]: entry('RPC_CLIENT_NODE_CAPACITY_REACHED'),
  // Wallet errors
  [-4]: entry('RPC_WALLET_ERROR'),
  [-6]: entry('RPC_WALLET_INSUFFICIENT_FUNDS'),
  [-11]: entry('RPC_WALLET_INVALID_LABEL_NAME'),
  [-12]: entry('RPC_WALLET_KEYPOOL_RAN_OUT'),
  [-13]: entry('RPC_WALLET_UNLOCK_NEEDED'),
  [-14]: entry('RPC_WALLET_PASSPHRASE_INCORRECT'),
  [-15]: entry('RPC_WALLET_WRONG_ENC_STATE'),
  [-16]: entry('RPC_WALLET_ENCRYPTION_FAILED'),
  [-17]: entry('RPC_WALLET_ALREADY_UNLOCKED'),
  [-18]: entry('RPC_WALLET_NOT_FOUND'),
  [-19]: entry('RPC_WALLET_NOT_SPECIFIED'),
  [-35]: entry('RPC_WALLET_ALREADY_LOADED'),
  [-36]: entry('RPC_WALLET_ALREADY_EXISTS'),
});

export const RPC_IN_WARMUP = -28;
export const RPC_INVALID_ADDRESS_OR_KEY = -5;
export const RPC_INVALID_PARAMETER = -8;
export const RPC_DESERIALIZATION_ERROR = -22;
export const RPC_VERIFY_ALREADY_IN_UTXO_SET = -27;

/** The class of a Core error code; unknown codes are plain RPC errors. */
export function coreErrorClass(code: number): CoreErrorClass {
  return CORE_RPC_ERRORS[code]?.class ?? 'rpc';
}

/** The CoordinatorError code a (non-warmup) Core error becomes. */
export function coordinatorCodeFor(klass: CoreErrorClass): CoordinatorErrorCode {
  switch (klass) {
    case 'rejected':
    case 'already_in_chain':
      return 'CHAIN_REJECTED';
    case 'not_found':
      return 'NOT_FOUND';
    case 'warmup':
      return 'CHAIN_UNAVAILABLE';
    case 'rpc':
      return 'CHAIN_RPC';
  }
}

/**
 * Reject reasons (src/validation.cpp upstream) that mean "the node already has this
 * transaction": re-broadcasting the same bytes is then a success. `txn-same-nonwitness-data-in-
 * mempool` is the same txid with another witness: same inputs, outputs and txid, so the payment
 * is already under way.
 */
export const REJECT_ALREADY_KNOWN =
  /txn-already-in-mempool|txn-already-known|txn-same-nonwitness-data-in-mempool/;
/** The inputs are missing or spent — possibly by this very transaction, confirmed earlier. */
export const REJECT_INPUTS_GONE = /bad-txns-inputs-missingorspent|missing-inputs|Missing inputs/;

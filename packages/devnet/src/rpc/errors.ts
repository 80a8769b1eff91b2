/**
 * Core's RPC error codes (src/rpc/protocol.h) and the error a handler throws to answer with one.
 * DevnetError values reach the RPC surface through `fromDevnetError`, which uses the Core code
 * and text the node attached (detail.rpcCode / rpcMessage / rejectReason).
 */
import type { DevnetError } from '../errors.js';

export const RPC = Object.freeze({
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  PARSE_ERROR: -32700,
  MISC_ERROR: -1,
  TYPE_ERROR: -3,
  WALLET_ERROR: -4,
  INVALID_ADDRESS_OR_KEY: -5,
  WALLET_INSUFFICIENT_FUNDS: -6,
  INVALID_PARAMETER: -8,
  DESERIALIZATION_ERROR: -22,
  VERIFY_ERROR: -25,
  VERIFY_REJECTED: -26,
  VERIFY_ALREADY_IN_UTXO_SET: -27,
});

export class RpcError extends Error {
  override readonly name = 'RpcError';
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** The Core-shaped RPC error for a DevnetError raised by the node. */
export function fromDevnetError(err: DevnetError): RpcError {
  const d = err.detail;
  if (typeof d.rpcCode === 'number') {
    const message =
      typeof d.rpcMessage === 'string'
        ? d.rpcMessage
        : typeof d.rejectReason === 'string'
          ? d.rejectReason
          : err.message;
    return new RpcError(d.rpcCode, message);
  }
  switch (err.code) {
    case 'NOT_FOUND':
      return new RpcError(RPC.INVALID_ADDRESS_OR_KEY, 'Block not found');
    case 'BAD_TX':
      return new RpcError(
        RPC.DESERIALIZATION_ERROR,
        'TX decode failed. Make sure the tx has at least one input.',
      );
    case 'INVALID_REQUEST':
    case 'UNSUPPORTED':
      return new RpcError(RPC.MISC_ERROR, err.message);
    default:
      return new RpcError(RPC.MISC_ERROR, err.message);
  }
}

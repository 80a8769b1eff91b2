/**
 * The one error type of @keyline/devnet, with stable codes. Inside the package every refusal is a
 * DevnetError; the RPC layer maps it to Bitcoin Core's numeric code and text (`detail.rpcCode`,
 * `detail.rejectReason`), so a client sees what a Core v28 node would answer.
 */
interface Entry {
  readonly summary: string;
}

const e = (summary: string): Entry => Object.freeze({ summary });

export const DEVNET_ERROR_CODES = Object.freeze({
  BAD_OPTIONS: e('the options, the configuration or the command line do not match their schema'),
  BAD_TX: e('the bytes do not decode as one transaction'),
  TX_REJECTED: e('validation refused the transaction (Core reject reason in detail.rejectReason)'),
  ALREADY_IN_CHAIN: e('the transaction outputs are already in the UTXO set (it is confirmed)'),
  MAX_FEE_EXCEEDED: e('the fee is above the maximum fee rate the caller allowed'),
  MAX_BURN_EXCEEDED: e('an unspendable output carries more than the caller allowed to burn'),
  BAD_ADDRESS: e('the address is not a valid regtest address'),
  BAD_AMOUNT: e('the amount is not a positive number of satoshis within 21e14'),
  INSUFFICIENT_FUNDS: e('the mining wallet has not enough mature coins for the payment'),
  NOT_FOUND: e('no such block, transaction or output'),
  BAD_BLOCK: e('a block failed validation (when loaded from the data file or when mined)'),
  INVALID_REQUEST: e('the operation is not possible in the current state'),
  PERSISTENCE: e('the data file could not be read, parsed or written'),
  UNSUPPORTED: e('the devnet does not implement this (a documented limit)'),
  INTERNAL: e('an unexpected condition'),
} as const);

export type DevnetErrorCode = keyof typeof DEVNET_ERROR_CODES;

export class DevnetError extends Error {
  override readonly name = 'DevnetError';
  readonly code: DevnetErrorCode;
  readonly detail: Readonly<Record<string, unknown>>;

  /** `message` starts with the place: `'mempool/accept: expected ..., got ...'`. */
  constructor(
    code: DevnetErrorCode,
    message: string,
    detail: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = Object.freeze({ ...detail });
  }
}

export function isDevnetError(x: unknown, code?: DevnetErrorCode): x is DevnetError {
  return x instanceof DevnetError && (code === undefined || x.code === code);
}

/**
 * Raw transactions as the vault meets them (a deposit's or our own previous transaction, fed by
 * the gateway; the finalized transaction): parsed by the device's own bounded parser, within the
 * limits the devices apply to a `non_witness_utxo`, so a transaction the coordinator accepts is
 * one the devices will accept. Pure. docs/vault.md §2.
 */
import { parseTx, type RawTx } from '@keyline/signer-device/wallet';
import { bytesToHex } from '@noble/hashes/utils.js';
import { CoordinatorError } from '../errors.js';

/** The devices' limits for one previous transaction (signer-device DEFAULT_PSBT_LIMITS). */
export const MAX_PREV_TX_BYTES = 400_000;
export const MAX_PREV_TX_TOTAL_BYTES = 16 * 1024 * 1024;
const MAX_PREV_TX_IO = 100_000;
const MAX_SCRIPT_BYTES = 10_000;

export type { RawTx } from '@keyline/signer-device/wallet';

/** Display-order hex (as Core prints) of an internal-order 32-byte hash. */
export function displayHex(internal: Uint8Array): string {
  return bytesToHex(internal.slice().reverse());
}

/** Parse a whole raw transaction; BAD_REQUEST (with the parser's reason) when it is not one. */
export function parseRawTx(raw: Uint8Array, place: string): RawTx {
  if (!(raw instanceof Uint8Array) || raw.length === 0 || raw.length > MAX_PREV_TX_BYTES) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected a raw transaction of 1..${MAX_PREV_TX_BYTES} bytes, got ${raw instanceof Uint8Array ? `${raw.length} bytes` : typeof raw}`,
    );
  }
  try {
    return parseTx(raw, place, {
      maxInputs: MAX_PREV_TX_IO,
      maxOutputs: MAX_PREV_TX_IO,
      maxScriptBytes: MAX_SCRIPT_BYTES,
      tooManyInputs: 'PREV_TX_TOO_LARGE',
      tooManyOutputs: 'PREV_TX_TOO_LARGE',
    });
  } catch (err) {
    const reason = (err as { detail?: { reason?: unknown } })?.detail?.reason;
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected a well-formed raw transaction, got one the parser refuses (${String(reason)})`,
      { reason },
      { cause: err },
    );
  }
}

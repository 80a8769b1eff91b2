/**
 * Structural limits of a PSBT the device will look at, and the transaction rules it signs under.
 * Checked by the bounded prescan BEFORE any library allocates from lengths the coordinator chose.
 * Frozen defaults; a deployment may pass tighter ones. See docs/verify-psbt.md.
 */

export interface PsbtLimits {
  /** Whole PSBT, in bytes. */
  readonly maxPsbtBytes: number;
  readonly maxInputs: number;
  readonly maxOutputs: number;
  /** Key-value records in one map (global, one input, one output). */
  readonly maxKeysPerMap: number;
  /** Bytes of one key (type + key data). */
  readonly maxKeyBytes: number;
  /** One previous transaction (PSBT_IN_NON_WITNESS_UTXO), in bytes. */
  readonly maxPrevTxBytes: number;
  /** All previous transactions of one PSBT together, in bytes. */
  readonly maxPrevTxTotalBytes: number;
  /** Inputs or outputs of one previous transaction. */
  readonly maxPrevTxIo: number;
  /** One script (scriptPubKey, witness script): consensus limit for executed scripts. */
  readonly maxScriptBytes: number;
}

export const DEFAULT_PSBT_LIMITS: PsbtLimits = Object.freeze({
  maxPsbtBytes: 4 * 1024 * 1024 + 1024,
  maxInputs: 1000,
  maxOutputs: 1000,
  maxKeysPerMap: 64,
  maxKeyBytes: 256,
  maxPrevTxBytes: 400_000,
  maxPrevTxTotalBytes: 16 * 1024 * 1024,
  maxPrevTxIo: 100_000,
  maxScriptBytes: 10_000,
});

export interface TxRules {
  /** Highest nLockTime accepted: a block height (< 500 000 000); time-based locktime is refused. */
  readonly maxLocktime: number;
  readonly allowedVersions: readonly number[];
  /** Outputs (other than OP_RETURN) below this are refused. */
  readonly dustLimitSat: bigint;
}

/** Locktimes at or above this are unix times (consensus), refused by the device. */
export const LOCKTIME_THRESHOLD = 500_000_000;

/** Sequences accepted: final, locktime-enabling, and RBF-signalling. No relative locktime. */
export const MIN_SEQUENCE = 0xfffffffd;

/** 21 million BTC in satoshis: no amount and no running sum may exceed it. */
export const MAX_MONEY = 2_100_000_000_000_000n;

/** OP_RETURN outputs: whole scriptPubKey at most this many bytes (standardness), value 0. */
export const MAX_OP_RETURN_BYTES = 83;

export const DEFAULT_TX_RULES: TxRules = Object.freeze({
  maxLocktime: LOCKTIME_THRESHOLD - 1,
  allowedVersions: Object.freeze([2]),
  dustLimitSat: 546n,
});

/**
 * Regtest consensus and Core v28 policy constants (src/consensus/*.h, src/policy/policy.h,
 * src/kernel/chainparams.cpp CRegTestParams). One frozen table: every other module reads from it.
 */
export const COIN = 100_000_000n;
/** No amount larger than this (in satoshis) is valid (src/consensus/amount.h MAX_MONEY). */
export const MAX_MONEY = 21_000_000n * COIN;

export const CONSENSUS = Object.freeze({
  /** Blocks before a coinbase output may be spent (src/consensus/consensus.h). */
  coinbaseMaturity: 100,
  /** Regtest halves the 50 BTC subsidy every 150 blocks. */
  subsidyHalvingInterval: 150,
  initialSubsidy: 50n * COIN,
  /** Regtest proof-of-work limit and the only nBits regtest uses (fPowNoRetargeting). */
  powLimitBits: 0x207fffff,
  maxBlockWeight: 4_000_000,
  maxBlockSigopsCost: 80_000,
  witnessScaleFactor: 4,
  /** nLockTime below this is a height, above it a UNIX time. */
  locktimeThreshold: 500_000_000,
  /** Median of this many blocks' times (median time past, BIP113). */
  medianTimeSpan: 11,
  /** BIP34/65/66/CSV are active from height 1 on regtest; segwit and taproot from genesis. */
  bip34Height: 1,
});

export const SEQUENCE = Object.freeze({
  final: 0xffffffff,
  /** BIP68: when set, the sequence number is not a relative lock. */
  disableFlag: 0x80000000,
  /** BIP68: when set, the relative lock is time in units of 512 s, else blocks. */
  typeFlag: 0x00400000,
  mask: 0x0000ffff,
  granularity: 9,
  /** BIP125: a transaction with an input sequence at or below this signals replaceability. */
  maxBip125Rbf: 0xfffffffd,
});

/** Core v28 mempool policy defaults (src/policy/policy.h, src/policy/rbf.h, src/kernel/mempool_limits.h). */
export const POLICY = Object.freeze({
  maxStandardTxWeight: 400_000,
  minStandardTxNonWitnessSize: 65,
  maxStandardScriptSigSize: 1650,
  maxStandardTxSigopsCost: 16_000,
  maxP2shSigops: 15,
  maxStandardP2wshScriptSize: 3600,
  maxStandardP2wshStackItems: 100,
  maxStandardP2wshStackItemSize: 80,
  maxStandardTapscriptStackItemSize: 80,
  maxOpReturnRelay: 83,
  txMaxStandardVersion: 3,
  dustRelayFeeSatPerKvB: 3000n,
  incrementalRelayFeeSatPerKvB: 1000n,
  bytesPerSigop: 20,
  ancestorLimit: 25,
  ancestorSizeLimitVbytes: 101_000,
  descendantLimit: 25,
  descendantSizeLimitVbytes: 101_000,
  maxReplacementCandidates: 100,
  /** testmempoolaccept / sendrawtransaction default maxfeerate: 0.10 BTC/kvB. */
  defaultMaxRawTxFeeRateSatPerKvB: 10_000_000n,
  /** Largest package testmempoolaccept takes (MAX_PACKAGE_COUNT). */
  maxPackageCount: 25,
  /** Block assembly keeps this much weight for the coinbase (DEFAULT_BLOCK_MAX_WEIGHT). */
  blockMaxWeight: 3_996_000,
  /** Highest target estimatesmartfee answers for (the long horizon of the fee estimator). */
  maxConfirmTarget: 1008,
});

/** Block version the devnet mines (VERSIONBITS_TOP_BITS, no deployment signalled). */
export const BLOCK_VERSION = 0x20000000;

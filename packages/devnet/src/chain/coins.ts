/**
 * Unspent outputs ("coins", src/coins.h): value, script, the height of the block that created
 * them and whether a coinbase did. A coin created by a mempool transaction carries MEMPOOL_HEIGHT.
 */
export interface Coin {
  readonly value: bigint;
  readonly script: Uint8Array;
  readonly height: number;
  readonly coinbase: boolean;
}

/** The height Core gives coins of unconfirmed transactions (CCoinsViewMemPool). */
export const MEMPOOL_HEIGHT = 0x7fffffff;

export interface CoinView {
  getCoin(txid: string, vout: number): Coin | undefined;
}

/**
 * The regtest genesis block (src/kernel/chainparams.cpp CreateGenesisBlock with
 * nTime 1296688602, nNonce 2, nBits 0x207fffff, nVersion 1, reward 50 BTC). Its hash is the
 * well-known 0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206; test/genesis.test.ts
 * checks it. Its coinbase output is not spendable (never added to the UTXO set).
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { type Block, makeBlock } from './block.js';
import { blockMerkleRoot } from './merkle.js';
import { CONSENSUS } from './params.js';
import { decodeTx } from './tx.js';

/** "The Times 03/Jan/2009 Chancellor on brink of second bailout for banks", paid to Satoshi's key. */
const GENESIS_COINBASE_HEX =
  '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000';

export const REGTEST_GENESIS_HASH =
  '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';

export function regtestGenesis(): Block {
  const coinbase = decodeTx(hexToBytes(GENESIS_COINBASE_HEX));
  return makeBlock(
    Object.freeze({
      version: 1,
      prevHash: new Uint8Array(32),
      merkleRoot: blockMerkleRoot([coinbase]),
      time: 1296688602,
      bits: CONSENSUS.powLimitBits,
      nonce: 2,
    }),
    [coinbase],
  );
}

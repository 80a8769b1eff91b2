import { describe, expect, it } from 'vitest';
import type { ChainBlock } from '../../src/chain/interface.js';
import {
  checkAccept,
  checkBlock,
  checkBlockHash,
  checkFeeEstimate,
  checkTip,
  checkTxStatus,
} from '../../src/gateway/chain-data.js';
import { makeCoinbase, makeTx, wsh } from './fake-chain.js';

const H = 'ab'.repeat(32);

function good(): ChainBlock {
  return {
    hash: H,
    height: 7,
    previousHash: 'cd'.repeat(32),
    time: 1_700_000_000,
    transactions: [
      makeCoinbase('c'),
      makeTx({
        inputs: [{ txid: 'ee'.repeat(32), vout: 0 }],
        outputs: [{ script: wsh('a'), value: 5n }],
      }),
    ],
  };
}

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

describe('chain-data: the backend trust boundary', () => {
  it('accepts a well-formed block that is the one asked for', () => {
    const b = checkBlock('t', good(), { hash: H, height: 7 });
    expect(b.transactions).toHaveLength(2);
  });

  it('refuses blocks that are not the one asked for, or malformed (CHAIN_BAD_RESPONSE)', () => {
    const g = good();
    const cb = g.transactions[0]!;
    const tx = g.transactions[1]!;
    const bad: unknown[] = [
      { ...g, hash: 'ff'.repeat(32) },
      { ...g, height: 8 },
      { ...g, previousHash: 'CD'.repeat(32) },
      { ...g, time: -1 },
      { ...g, transactions: [] },
      { ...g, transactions: [tx] }, // no coinbase first
      { ...g, transactions: [cb, cb] }, // a second coinbase
      { ...g, transactions: [cb, { ...tx, inputs: [] }] },
      { ...g, transactions: [cb, { ...tx, outputs: [{ value: -1n, scriptPubKey: wsh('a') }] }] },
      { ...g, transactions: [cb, { ...tx, outputs: [{ value: 1, scriptPubKey: wsh('a') }] }] },
      { ...g, transactions: [cb, { ...tx, outputs: [{ value: 1n, scriptPubKey: 'aa' }] }] },
      { ...g, transactions: [cb, { ...tx, txid: 'x' }] },
      {
        ...g,
        transactions: [
          cb,
          { ...tx, inputs: [{ txid: H, vout: -1, sequence: 0, coinbase: false }] },
        ],
      },
      null,
    ];
    for (const b of bad)
      expect(codeOf(() => checkBlock('t', b, { hash: H, height: 7 }))).toBe('CHAIN_BAD_RESPONSE');
  });

  it('checks tips, hashes, statuses, estimates and acceptance results', () => {
    expect(checkTip('t', { height: 3, hash: H })).toEqual({ height: 3, hash: H });
    expect(codeOf(() => checkTip('t', { height: -1, hash: H }))).toBe('CHAIN_BAD_RESPONSE');
    expect(codeOf(() => checkTip('t', { height: 1, hash: H.toUpperCase() }))).toBe(
      'CHAIN_BAD_RESPONSE',
    );
    expect(checkBlockHash('t', null)).toBeNull();
    expect(codeOf(() => checkBlockHash('t', 'abc'))).toBe('CHAIN_BAD_RESPONSE');
    expect(
      codeOf(() => checkTxStatus('t', { inMempool: 'no', confirmations: 0, blockHash: null })),
    ).toBe('CHAIN_BAD_RESPONSE');
    expect(
      codeOf(() => checkTxStatus('t', { inMempool: false, confirmations: -2, blockHash: null })),
    ).toBe('CHAIN_BAD_RESPONSE');
    expect(checkFeeEstimate('t', null)).toBeNull();
    expect(codeOf(() => checkFeeEstimate('t', { satPerKvB: 5, blocks: 2 }))).toBe(
      'CHAIN_BAD_RESPONSE',
    );
    expect(codeOf(() => checkAccept('t', { txid: H, allowed: 1, rejectReason: null }))).toBe(
      'CHAIN_BAD_RESPONSE',
    );
  });
});

import { describe, expect, it } from 'vitest';
import type { DevnetNode } from '../src/node.js';
import {
  fund,
  fundedNode,
  key,
  p2wpkhScript,
  sortedMultisig,
  spendMultisig,
  spendP2wpkh,
} from './helpers/chain.js';

const ms = sortedMultisig(2, [key('r-a'), key('r-b'), key('r-c')]);
const dest = p2wpkhScript(key('r-dest').publicKey);

function utxoKeys(node: DevnetNode): string[] {
  return [...node.chainstate.utxos()].map(([k, c]) => `${k}=${c.value}@${c.height}`).sort();
}

describe('reorgs through invalidateblock and reconsiderblock', () => {
  it("returns a disconnected block's transactions to the mempool and rolls the UTXO set back; reconsider restores", () => {
    const node = fundedNode();
    const utxo = fund(node, ms.script, 1_000_000n);
    const before = utxoKeys(node);
    const spend = spendMultisig(ms, [utxo], [{ value: 990_000n, script: dest }]);
    node.submit(spend.raw);
    const [hash] = node.mine(1);
    const after = utxoKeys(node);
    expect(node.getUtxo(spend.txid, 0)?.value).toBe(990_000n);

    node.invalidateBlock(hash as string);
    expect(node.tip().height).toBe(102);
    expect(node.mempoolTxids()).toEqual([spend.txid]);
    expect(node.getUtxo(spend.txid, 0)).toBeNull();
    expect(node.getUtxo(utxo.txid, utxo.vout)?.value).toBe(1_000_000n);
    expect(utxoKeys(node)).toEqual(before);
    expect(node.getBlock(hash as string)?.failure).toBe('failed');

    node.reconsiderBlock(hash as string);
    expect(node.tip().hash).toBe(hash);
    expect(node.mempoolTxids()).toEqual([]);
    expect(utxoKeys(node)).toEqual(after);
    expect(node.getTransaction(spend.txid)?.confirmations).toBe(1);
  });

  it('drops spends of a disconnected coinbase and their descendants', () => {
    const node = fundedNode();
    const k = key('r-cb');
    const paid = fund(node, p2wpkhScript(k.publicKey), 5_000_000n, false);
    const child = spendP2wpkh(k, [paid], [{ value: 4_990_000n, script: dest }]);
    node.submit(child.raw);
    const faucetTx = node.getTransaction(paid.txid)?.tx;
    const spentCoinbase = faucetTx?.inputs[0]?.prevTxid as string;
    const height = node.getTransaction(spentCoinbase)?.blockHeight as number;
    node.invalidateBlock(node.blockHash(height) as string);
    expect(node.tip().height).toBe(height - 1);
    expect(node.mempoolTxids()).not.toContain(paid.txid);
    expect(node.mempoolTxids()).not.toContain(child.txid);
  });

  it("switches to a longer competing branch on reconsider, returning the losing branch's transactions", () => {
    const node = fundedNode();
    const utxo = fund(node, ms.script, 1_000_000n);
    const spend = spendMultisig(ms, [utxo], [{ value: 990_000n, script: dest }]);
    node.submit(spend.raw);
    const [a1] = node.mine(1);
    const [a2, oldTip] = node.mine(2) as [string, string];
    node.invalidateBlock(a1 as string);
    expect(node.mempoolTxids()).toEqual([spend.txid]);
    node.mine(1);
    expect(node.mempoolTxids()).toEqual([]);
    const branchTip = node.mine(1)[0] as string;
    expect(node.getBlock(oldTip)?.failure).toBe('failed-child');

    node.reconsiderBlock(a1 as string);
    expect(node.tip().hash).toBe(oldTip);
    expect(node.getBlock(branchTip)?.failure).toBe('none');
    expect(node.getTransaction(spend.txid)?.blockHash).toBe(a1);

    // Invalidating the old branch below the competing tip's height hands the chain back to it.
    node.invalidateBlock(a2);
    expect(node.tip().hash).toBe(branchTip);
    expect(
      node.getTransaction(spend.txid)?.inMempool === false &&
        node.getTransaction(spend.txid)?.blockHash !== a1,
    ).toBe(true);
  });

  it('refuses to invalidate the genesis block and answers NOT_FOUND for an unknown block', () => {
    const node = fundedNode();
    expect(() => node.invalidateBlock(node.blockHash(0) as string)).toThrow(/genesis/);
    expect(() => node.invalidateBlock('00'.repeat(32))).toThrow(/no block/);
  });
});

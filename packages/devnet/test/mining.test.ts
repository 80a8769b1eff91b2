import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  type Block,
  type BlockHeader,
  headerHashInternal,
  makeBlock,
} from '../src/consensus/block.js';
import { bip34Prefix } from '../src/consensus/check-block.js';
import { blockMerkleRoot } from '../src/consensus/merkle.js';
import { CONSENSUS } from '../src/consensus/params.js';
import { checkProofOfWork } from '../src/consensus/pow.js';
import { makeTx, type Tx } from '../src/consensus/tx.js';
import { isDevnetError } from '../src/errors.js';
import { fund, fundedNode, key, newNode, p2wpkhScript, spendP2wpkh } from './helpers/chain.js';

const a = key('chain-a');
const b = key('chain-b');
const c = key('chain-c');

describe('mining', () => {
  it('mines a chain of unconfirmed spends with every parent before its child, even when the child pays more', () => {
    const node = fundedNode();
    const first = fund(node, p2wpkhScript(a.publicKey), 1_000_000n);
    const t1 = spendP2wpkh(a, [first], [{ value: 999_000n, script: p2wpkhScript(b.publicKey) }]);
    const t2 = spendP2wpkh(
      b,
      [{ txid: t1.txid, vout: 0, value: 999_000n, script: p2wpkhScript(b.publicKey) }],
      [{ value: 990_000n, script: p2wpkhScript(c.publicKey) }],
    );
    const t3 = spendP2wpkh(
      c,
      [{ txid: t2.txid, vout: 0, value: 990_000n, script: p2wpkhScript(c.publicKey) }],
      [{ value: 900_000n, script: p2wpkhScript(a.publicKey) }],
    );
    for (const t of [t1, t2, t3]) node.submit(t.raw);
    expect(node.mempoolEntry(t3.txid)?.fee).toBe(90_000n);
    const [hash] = node.mine(1);
    const block = node.getBlock(hash as string)?.block as Block;
    expect(block.txs.slice(1).map((t) => t.txid)).toEqual([t1.txid, t2.txid, t3.txid]);
    expect(node.mempoolTxids()).toEqual([]);
    expect(node.getUtxo(t3.txid, 0)?.value).toBe(900_000n);
    expect(node.getUtxo(t1.txid, 0)).toBeNull();
  });

  it('builds the coinbase with the BIP34 height, subsidy + fees and a witness commitment', () => {
    const node = fundedNode();
    const utxo = fund(node, p2wpkhScript(a.publicKey), 1_000_000n);
    const tx = spendP2wpkh(a, [utxo], [{ value: 995_000n, script: p2wpkhScript(b.publicKey) }]);
    node.submit(tx.raw);
    const [hash] = node.mine(1);
    const entry = node.getBlock(hash as string);
    const coinbase = entry?.block.txs[0];
    expect(bytesToHex(coinbase?.inputs[0]?.scriptSig.subarray(0, 2) ?? new Uint8Array())).toBe(
      bytesToHex(bip34Prefix(entry?.height ?? 0)),
    );
    expect(coinbase?.outputs[0]?.value).toBe(50n * 100_000_000n + 5_000n);
    expect(bytesToHex(coinbase?.outputs[1]?.script.subarray(0, 6) ?? new Uint8Array())).toBe(
      '6a24aa21a9ed',
    );
    expect(coinbase?.inputs[0]?.witness).toEqual([new Uint8Array(32)]);
  });

  it('halves the subsidy every 150 blocks (regtest)', () => {
    const node = newNode();
    node.mine(149);
    expect(node.getBlock(node.tip().hash)?.block.txs[0]?.outputs[0]?.value).toBe(5_000_000_000n);
    node.mine(1);
    expect(node.tip().height).toBe(150);
    expect(node.getBlock(node.tip().hash)?.block.txs[0]?.outputs[0]?.value).toBe(2_500_000_000n);
  });

  it('keeps block times strictly increasing when the clock stands still or goes back', () => {
    let now = 2_000_000_000_000;
    const node = newNode({ now: () => (now -= 5000) });
    node.mine(5);
    const times = [1, 2, 3, 4, 5].map(
      (h) => node.getBlock(node.blockHash(h) as string)?.block.header.time ?? 0,
    );
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1] as number);
  });

  it('mines to a given address and refuses an invalid one', () => {
    const node = newNode();
    const address = 'bcrt1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqdku202';
    const [hash] = node.mine(1, address);
    expect(
      bytesToHex(
        node.getBlock(hash as string)?.block.txs[0]?.outputs[0]?.script ?? new Uint8Array(),
      ),
    ).toBe(`0014${'00'.repeat(20)}`);
    expect(() => node.mine(1, 'not-an-address')).toThrow(/regtest address/);
  });
});

describe('block validation (what a data file or a miner bug could bring)', () => {
  /** Grinds the nonce so the header meets regtest's target (the checks after PoW then run). */
  function solved(header: BlockHeader): BlockHeader {
    for (let nonce = 0; ; nonce++) {
      const h = { ...header, nonce };
      if (checkProofOfWork(headerHashInternal(h), h.bits, CONSENSUS.powLimitBits)) return h;
    }
  }

  function tampered(change: (block: Block) => Block): unknown {
    const node = newNode();
    node.mine(2);
    const entry = node.getBlock(node.tip().hash);
    node.invalidateBlock(node.tip().hash);
    try {
      node.chainstate.addBlock(change(entry?.block as Block));
      return null;
    } catch (err) {
      return err;
    }
  }

  const reasonOf = (err: unknown): unknown =>
    isDevnetError(err, 'BAD_BLOCK') ? err.detail.reason : err;

  it('refuses a block whose merkle root does not match its transactions', () => {
    const extra = makeTx({
      version: 2,
      lockTime: 0,
      inputs: [
        {
          prevTxid: 'aa'.repeat(32),
          vout: 0,
          scriptSig: new Uint8Array(0),
          sequence: 0,
          witness: [],
        },
      ],
      outputs: [{ value: 1n, script: Uint8Array.of(0x51) }],
    });
    expect(
      reasonOf(
        tampered((b) =>
          makeBlock(solved({ ...b.header, time: b.header.time + 1 }), [...b.txs, extra]),
        ),
      ),
    ).toBe('bad-txnmrklroot');
  });

  it('refuses a header that does not meet the target', () => {
    const err = tampered((b) => {
      for (let nonce = 0; ; nonce++) {
        const h = { ...b.header, time: b.header.time + 1, nonce };
        if (!checkProofOfWork(headerHashInternal(h), h.bits, CONSENSUS.powLimitBits))
          return makeBlock(h, b.txs);
      }
    });
    expect(reasonOf(err)).toBe('high-hash');
  });

  it('refuses a coinbase without the BIP34 height', () => {
    const rebuild = (b: Block, change: (cb: Tx) => Tx): Block => {
      const cb = change(b.txs[0] as Tx);
      const txs = [cb, ...b.txs.slice(1)];
      return makeBlock(solved({ ...b.header, merkleRoot: blockMerkleRoot(txs) }), txs);
    };
    const noHeight = tampered((b) =>
      rebuild(b, (cb) =>
        makeTx({
          ...cb,
          inputs: [
            { ...(cb.inputs[0] as Tx['inputs'][number]), scriptSig: Uint8Array.of(0x00, 0x00) },
          ],
        }),
      ),
    );
    expect(reasonOf(noHeight)).toBe('bad-cb-height');
  });

  it('refuses a block whose witness commitment does not match', () => {
    const err = tampered((b) => {
      const cb = b.txs[0] as Tx;
      const outputs = cb.outputs.map((o, i) =>
        i === 1 ? { ...o, script: Uint8Array.from(o.script).fill(0x11, 6) } : o,
      );
      const txs = [makeTx({ ...cb, outputs }), ...b.txs.slice(1)];
      return makeBlock(solved({ ...b.header, merkleRoot: blockMerkleRoot(txs) }), txs);
    });
    expect(reasonOf(err)).toBe('bad-witness-merkle-match');
  });

  it('refuses, when connecting, a coinbase that pays more than subsidy + fees', () => {
    const node = newNode();
    node.mine(1);
    const tip = node.getBlock(node.tip().hash)?.block as Block;
    const cb = tip.txs[0] as Tx;
    const greedy = makeTx({
      ...cb,
      outputs: cb.outputs.map((o, i) => (i === 0 ? { ...o, value: o.value + 1n } : o)),
    });
    const block = makeBlock(
      solved({
        ...tip.header,
        prevHash: tip.header.prevHash,
        merkleRoot: blockMerkleRoot([greedy]),
        time: tip.header.time + 1,
      }),
      [greedy],
    );
    node.invalidateBlock(tip.hash);
    const entry = node.chainstate.addBlock(block);
    node.chainstate.activateBestChain();
    expect(entry.failure).toBe('failed');
    expect(node.tip().height).toBe(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningDevnet } from '../src/start.js';
import { fund, key, p2wpkhScript, sortedMultisig, spendMultisig } from './helpers/chain.js';
import { client, startTestDevnet } from './helpers/rpc.js';

let devnet: RunningDevnet;
const { post, call, callError } = client(() => devnet);

beforeAll(async () => {
  devnet = await startTestDevnet();
});

afterAll(async () => {
  await devnet.close();
});

const ms = sortedMultisig(2, [key('rpc-a'), key('rpc-b'), key('rpc-c')]);
const dest = p2wpkhScript(key('rpc-dest').publicKey);

describe('RPC methods (Core v28 shapes)', () => {
  it('getblockchaininfo', async () => {
    const info = await call('getblockchaininfo');
    expect(Object.keys(info)).toEqual([
      'chain',
      'blocks',
      'headers',
      'bestblockhash',
      'difficulty',
      'time',
      'mediantime',
      'verificationprogress',
      'initialblockdownload',
      'chainwork',
      'size_on_disk',
      'pruned',
      'warnings',
    ]);
    expect(info).toMatchObject({
      chain: 'regtest',
      blocks: 101,
      difficulty: 4.656542373906925e-10,
      verificationprogress: 1,
      pruned: false,
      warnings: [],
    });
    expect(info.chainwork).toBe((2 * 102).toString(16).padStart(64, '0'));
  });

  it('getblockcount, getbestblockhash, getblockhash, getblockheader (verbose and hex)', async () => {
    const height = await call('getblockcount');
    const best = await call('getbestblockhash');
    expect(await call('getblockhash', [height])).toBe(best);
    const header = await call('getblockheader', [best]);
    expect(Object.keys(header)).toEqual([
      'hash',
      'confirmations',
      'height',
      'version',
      'versionHex',
      'merkleroot',
      'time',
      'mediantime',
      'nonce',
      'bits',
      'difficulty',
      'chainwork',
      'nTx',
      'previousblockhash',
    ]);
    expect(header).toMatchObject({
      hash: best,
      confirmations: 1,
      height,
      versionHex: '20000000',
      bits: '207fffff',
    });
    const hex = await call('getblockheader', [best, false]);
    expect(hex).toMatch(/^[0-9a-f]{160}$/);
    const genesis = await call('getblockheader', [await call('getblockhash', [0])]);
    expect(genesis.previousblockhash).toBeUndefined();
    expect(typeof genesis.nextblockhash).toBe('string');
  });

  it('getblock at verbosity 0, 1, 2 and 3, and the legacy boolean', async () => {
    const { node } = devnet;
    const utxo = fund(node, ms.script, 3_000_000n);
    const spend = spendMultisig(ms, [utxo], [{ value: 2_990_000n, script: dest }]);
    node.submit(spend.raw);
    const hash = node.mine(1)[0] as string;
    const hex = await call('getblock', [hash, 0]);
    expect(hex.length).toBe(2 * (node.getBlock(hash)?.block.size ?? 0));
    const v1 = await call('getblock', [hash]);
    expect(Object.keys(v1).slice(-4)).toEqual(['strippedsize', 'size', 'weight', 'tx']);
    expect(v1.tx).toEqual(node.getBlock(hash)?.block.txs.map((t) => t.txid));
    expect(await call('getblock', [hash, true])).toEqual(v1);
    const v2 = await call('getblock', [hash, 2]);
    const tx = v2.tx[1];
    expect(Object.keys(tx)).toEqual([
      'txid',
      'hash',
      'version',
      'size',
      'vsize',
      'weight',
      'locktime',
      'vin',
      'vout',
      'fee',
      'hex',
    ]);
    expect(tx.fee).toBe(0.0001);
    expect(v2.tx[0].fee).toBeUndefined();
    expect(Object.keys(tx.vin[0])).toEqual([
      'txid',
      'vout',
      'scriptSig',
      'txinwitness',
      'sequence',
    ]);
    expect(tx.vout[0].scriptPubKey).toMatchObject({ type: 'witness_v0_keyhash' });
    expect(tx.vout[0].scriptPubKey.desc).toMatch(/^addr\(bcrt1q[0-9a-z]+\)#[0-9a-z]{8}$/);
    const v3 = await call('getblock', [hash, 3]);
    expect(v3.tx[1].vin[0].prevout).toMatchObject({
      generated: false,
      value: 0.03,
      scriptPubKey: { type: 'witness_v0_scripthash' },
    });
    const raw = await post({ method: 'getblock', params: [hash, 2], id: 1 });
    expect(raw.text).toContain('"fee":0.00010000');
    expect(raw.text).toContain('"value":0.02990000');
  });

  it('getrawtransaction (txindex on): hex, verbose with block fields, mempool, by block, errors', async () => {
    const { node } = devnet;
    const txid = node.send(node.newAddress(), 1_000_000n);
    const inPool = await call('getrawtransaction', [txid, true]);
    expect(inPool.blockhash).toBeUndefined();
    expect(inPool.txid).toBe(txid);
    const blockHash = node.mine(1)[0] as string;
    expect(await call('getrawtransaction', [txid])).toMatch(/^[0-9a-f]+$/);
    const verbose = await call('getrawtransaction', [txid, 1]);
    expect(Object.keys(verbose).slice(-5)).toEqual([
      'hex',
      'blockhash',
      'confirmations',
      'time',
      'blocktime',
    ]);
    expect(verbose).toMatchObject({ blockhash: blockHash, confirmations: 1 });
    const withFee = await call('getrawtransaction', [txid, 2]);
    expect(typeof withFee.fee).toBe('number');
    expect(withFee.vin[0].prevout).toBeDefined();
    const byBlock = await call('getrawtransaction', [txid, true, blockHash]);
    expect(Object.keys(byBlock)[0]).toBe('in_active_chain');
    expect(byBlock.in_active_chain).toBe(true);
    expect(await callError('getrawtransaction', ['11'.repeat(32)])).toMatchObject({
      code: -5,
      message:
        'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.',
    });
    expect(
      await callError('getrawtransaction', [
        '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b',
      ]),
    ).toMatchObject({ code: -5 });
  });

  it('getrawmempool (plain, verbose, with sequence) and getmempoolentry', async () => {
    const { node } = devnet;
    const txid = node.send(node.newAddress(), 500_000n);
    expect(await call('getrawmempool')).toEqual([txid]);
    const withSeq = await call('getrawmempool', [false, true]);
    expect(withSeq.txids).toEqual([txid]);
    expect(typeof withSeq.mempool_sequence).toBe('number');
    const verbose = await call('getrawmempool', [true]);
    const entry = await call('getmempoolentry', [txid]);
    expect(verbose[txid]).toEqual(entry);
    expect(Object.keys(entry)).toEqual([
      'vsize',
      'weight',
      'time',
      'height',
      'descendantcount',
      'descendantsize',
      'ancestorcount',
      'ancestorsize',
      'wtxid',
      'fees',
      'depends',
      'spentby',
      'bip125-replaceable',
      'unbroadcast',
    ]);
    expect(entry).toMatchObject({
      descendantcount: 1,
      ancestorcount: 1,
      depends: [],
      spentby: [],
      'bip125-replaceable': true,
      unbroadcast: true,
    });
    expect(Object.keys(entry.fees)).toEqual(['base', 'modified', 'ancestor', 'descendant']);
    expect(await callError('getrawmempool', [true, true])).toMatchObject({
      code: -8,
      message: 'Verbose results cannot contain mempool sequence values.',
    });
    expect(await callError('getmempoolentry', ['22'.repeat(32)])).toMatchObject({
      code: -5,
      message: 'Transaction not in mempool',
    });
    node.mine(1);
  });

  it('testmempoolaccept and sendrawtransaction', async () => {
    const { node } = devnet;
    const utxo = fund(node, ms.script, 2_000_000n);
    const good = spendMultisig(ms, [utxo], [{ value: 1_990_000n, script: dest }]);
    const [accepted] = await call('testmempoolaccept', [[Buffer.from(good.raw).toString('hex')]]);
    expect(accepted).toEqual({
      txid: good.txid,
      wtxid: good.wtxid,
      allowed: true,
      vsize: good.vsize,
      fees: {
        base: 0.0001,
        'effective-feerate': Number((10_000 / good.vsize / 100_000).toFixed(8)),
        'effective-includes': [good.wtxid],
      },
    });
    const badSig = spendMultisig(
      ms,
      [utxo],
      [{ value: 1_990_000n, script: dest }],
      [ms.keys[1] as never, ms.keys[0] as never],
    );
    const [refused] = await call('testmempoolaccept', [[Buffer.from(badSig.raw).toString('hex')]]);
    expect(refused).toEqual({
      txid: badSig.txid,
      wtxid: badSig.wtxid,
      allowed: false,
      'reject-reason':
        'mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)',
    });
    expect(
      await callError('sendrawtransaction', [Buffer.from(badSig.raw).toString('hex')]),
    ).toEqual({
      status: 500,
      code: -26,
      message:
        'mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)',
    });
    expect(await call('sendrawtransaction', [Buffer.from(good.raw).toString('hex')])).toBe(
      good.txid,
    );
    expect(await call('sendrawtransaction', [Buffer.from(good.raw).toString('hex')])).toBe(
      good.txid,
    );
    node.mine(1);
    expect(
      await callError('sendrawtransaction', [Buffer.from(good.raw).toString('hex')]),
    ).toMatchObject({ code: -27, message: 'Transaction outputs already in utxo set' });
    expect(await callError('sendrawtransaction', ['00'])).toMatchObject({
      code: -22,
      message: 'TX decode failed. Make sure the tx has at least one input.',
    });
    expect(await callError('testmempoolaccept', [[]])).toMatchObject({
      code: -8,
      message: 'Array must contain between 1 and 25 transactions.',
    });
    expect(
      await callError('sendrawtransaction', [Buffer.from(good.raw).toString('hex'), 1]),
    ).toMatchObject({
      code: -8,
      message: 'Fee rates larger than or equal to 1BTC/kvB are not accepted',
    });
  });

  it('estimatesmartfee answers the configured rate in BTC/kvB', async () => {
    expect(await call('estimatesmartfee', [6])).toEqual({ feerate: 0.00002, blocks: 6 });
    expect(await call('estimatesmartfee', [1, 'conservative'])).toEqual({
      feerate: 0.00002,
      blocks: 2,
    });
    expect((await post({ method: 'estimatesmartfee', params: [6], id: 1 })).text).toContain(
      '"feerate":0.00002000',
    );
    expect(await callError('estimatesmartfee', [0])).toMatchObject({
      code: -8,
      message: 'Invalid conf_target, must be between 1 and 1008',
    });
    expect(await callError('estimatesmartfee', [6, 'fast'])).toMatchObject({ code: -8 });
  });

  it('generatetoaddress, invalidateblock, reconsiderblock', async () => {
    const hashes = await call('generatetoaddress', [2, devnet.node.miningAddress]);
    expect(hashes).toHaveLength(2);
    expect(await call('invalidateblock', [hashes[0]])).toBeNull();
    expect(await call('getblockcount')).toBe(devnet.node.tip().height);
    expect(await call('getbestblockhash')).not.toBe(hashes[1]);
    expect((await call('getblockheader', [hashes[0]])).confirmations).toBe(-1);
    expect(await call('reconsiderblock', [hashes[0]])).toBeNull();
    expect(await call('getbestblockhash')).toBe(hashes[1]);
    expect(await callError('generatetoaddress', [1, 'nope'])).toMatchObject({
      code: -5,
      message: 'Error: Invalid address',
    });
    expect(await callError('invalidateblock', ['33'.repeat(32)])).toMatchObject({
      code: -5,
      message: 'Block not found',
    });
  });

  it('the faucet: getnewaddress, sendtoaddress, getbalance', async () => {
    const address = await call('getnewaddress');
    expect(address).toMatch(/^bcrt1q/);
    const balance = await call('getbalance');
    expect(typeof balance).toBe('number');
    const txid = await call('sendtoaddress', [address, 0.5]);
    expect(devnet.node.mempoolTxids()).toContain(txid);
    expect(await callError('sendtoaddress', [address, 0])).toMatchObject({
      code: -3,
      message: 'Invalid amount for send',
    });
    expect(await callError('sendtoaddress', [address, 'abc'])).toMatchObject({
      code: -3,
      message: 'Invalid amount',
    });
    expect(await callError('sendtoaddress', ['nope', 1])).toMatchObject({ code: -5 });
    expect(await callError('sendtoaddress', [address, 20_000_000])).toMatchObject({
      code: -6,
      message: 'Insufficient funds',
    });
    devnet.node.mine(1);
  });

  it('getmempoolinfo, decoderawtransaction and getnetworkinfo', async () => {
    const info = await call('getmempoolinfo');
    expect(Object.keys(info)).toEqual([
      'loaded',
      'size',
      'bytes',
      'usage',
      'total_fee',
      'maxmempool',
      'mempoolminfee',
      'minrelaytxfee',
      'incrementalrelayfee',
      'unbroadcastcount',
      'fullrbf',
    ]);
    expect(info).toMatchObject({
      loaded: true,
      minrelaytxfee: 0.00001,
      incrementalrelayfee: 0.00001,
      fullrbf: false,
    });
    const txid = devnet.node.send(devnet.node.newAddress(), 100_000n);
    const hex = await call('getrawtransaction', [txid]);
    const decoded = await call('decoderawtransaction', [hex]);
    expect(decoded.txid).toBe(txid);
    expect(decoded.hex).toBeUndefined();
    expect(await callError('decoderawtransaction', ['zz'])).toMatchObject({ code: -22 });
    const net = await call('getnetworkinfo');
    expect(net).toMatchObject({ version: 280000, subversion: '/Satoshi:28.0.0/', connections: 0 });
    devnet.node.mine(1);
  });
});

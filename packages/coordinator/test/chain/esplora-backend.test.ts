/**
 * EsploraBackend over the fake Esplora server: the network check before any use, blocks decoded
 * from raw bytes and checked (a lying indexer is caught), statuses, broadcast outcomes in both
 * electrs error wordings, fee estimates, and HTTP failure handling.
 */
import { bytesToHex, concatBytes } from '@noble/hashes/utils.js';
import { p2wpkh } from '@scure/btc-signer';
import { afterEach, describe, expect, it } from 'vitest';
import { EsploraBackend, parseRejection, satPerVbToKvB } from '../../src/chain/esplora-backend.js';
import { CoordinatorError } from '../../src/errors.js';
import { invalidTransaction, txidFromBytes } from './conformance.js';
import { FakeChain, G_PUBKEY, REGTEST, REGTEST_GENESIS_HASH } from './fake-chain.js';
import { FakeEsplora, rawBlock } from './fake-esplora.js';

const SCRIPT = p2wpkh(G_PUBKEY, REGTEST).script;
let server: FakeEsplora | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(config: Record<string, unknown> = {}) {
  const chain = new FakeChain();
  chain.mine(2);
  server = await FakeEsplora.start(chain);
  const backend = EsploraBackend.fromConfig(
    { url: server.url, network: 'regtest', retries: 0, ...config },
    { sleep: async () => {}, random: () => 0 },
  );
  return { chain, server, backend };
}

async function failure(p: Promise<unknown>): Promise<CoordinatorError> {
  const e = await p.then(
    () => new Error('expected a failure'),
    (x: unknown) => x,
  );
  if (!(e instanceof CoordinatorError)) throw e;
  return e;
}

describe('config and network check', () => {
  it('refuses a bad config', () => {
    for (const input of [
      { url: 'http://x/', network: 'litecoin' },
      { url: 'ftp://x/', network: 'regtest' },
      { network: 'regtest' },
      { url: 'http://x/', network: 'regtest', more: 1 },
    ]) {
      expect(() => EsploraBackend.fromConfig(input)).toThrow(
        /chain\/esplora config: expected a valid esplora/,
      );
    }
    expect(() => EsploraBackend.fromConfig({ url: 'http://u:p@x/', network: 'regtest' })).toThrow(
      CoordinatorError,
    );
  });

  it('a server of another network is BAD_CONFIG before anything else is asked, and stays so', async () => {
    const { server, backend } = await setup({ network: 'mainnet' });
    const e = await failure(backend.tip());
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.message).toBe(
      `esplora/network: expected a mainnet server (genesis 000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f), got genesis ${REGTEST_GENESIS_HASH} (regtest)`,
    );
    expect((await failure(backend.mempoolTxids())).code).toBe('BAD_CONFIG');
    expect(server.paths).toEqual(['GET /block-height/0']);
  });

  it('a server that was down is checked again on the next call', async () => {
    const { server, backend } = await setup();
    server.injections.push({ status: 503, body: 'down' });
    expect((await failure(backend.network())).code).toBe('CHAIN_UNAVAILABLE');
    expect(await backend.network()).toBe('regtest');
    expect(await backend.network()).toBe('regtest');
    expect(server.paths.filter((p) => p === 'GET /block-height/0')).toHaveLength(2);
  });

  it('testnet accepts testnet3 and testnet4 genesis blocks', async () => {
    const { server, backend } = await setup({ network: 'testnet' });
    server.overrides.set('/block-height/0', {
      status: 200,
      body: '00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043',
    });
    expect(await backend.network()).toBe('testnet');
  });
});

describe('chain queries', () => {
  it('tip: hash, then that block’s height; blockHash null above the tip (404)', async () => {
    const { chain, server, backend } = await setup();
    expect(await backend.tip()).toEqual({ height: 2, hash: chain.tip.hash });
    expect(server.paths.slice(1)).toEqual(['GET /blocks/tip/hash', `GET /block/${chain.tip.hash}`]);
    expect(await backend.blockHash(1)).toBe(chain.blocks[1]?.hash);
    expect(await backend.blockHash(3)).toBeNull();
  });

  it('block: decoded from the raw bytes with exact amounts', async () => {
    const { chain, backend } = await setup();
    const txid = chain.fund(SCRIPT, 4_999_990_123n);
    const [h] = chain.mine(1);
    const b = await backend.block(h as string);
    expect(b).toMatchObject({
      hash: h,
      height: 3,
      previousHash: chain.blocks[2]?.hash,
      time: chain.blocks[3]?.time,
    });
    expect(b.transactions.map((t) => t.txid)).toEqual([chain.blocks[3]?.txs[0]?.txid, txid]);
    expect(b.transactions[1]?.outputs[0]?.value).toBe(4_999_990_123n);
    expect((await failure(backend.block('ab'.repeat(32)))).code).toBe('NOT_FOUND');
  });

  it('attack: raw bytes of another block are caught by the header hash', async () => {
    const { chain, server, backend } = await setup();
    const g = chain.blocks[0];
    server.overrides.set(`/block/${chain.tip.hash}/raw`, {
      status: 200,
      body: rawBlock(g?.header as Uint8Array, g?.txs.map((t) => t.raw) ?? []),
    });
    const e = await failure(backend.block(chain.tip.hash));
    expect(e.code).toBe('CHAIN_BAD_RESPONSE');
    expect(e.message).toMatch(/header hashing to 0f9188f1/);
  });

  it('attack: a transaction altered inside the block is caught by the merkle root', async () => {
    const { chain, server, backend } = await setup();
    chain.fund(SCRIPT, 1_000_000n);
    const [h] = chain.mine(1);
    const b = chain.byHash.get(h as string);
    const txs = b?.txs.map((t) => Uint8Array.from(t.raw)) ?? [];
    const paid = txs[1] as Uint8Array;
    // The first output's value starts 9 bytes after the input (segwit marker shifts by 2).
    const at = 4 + 2 + 1 + 32 + 4 + 1 + 4 + 1;
    paid[at] = (paid[at] as number) ^ 0x01;
    server.overrides.set(`/block/${h}/raw`, {
      status: 200,
      body: rawBlock(b?.header as Uint8Array, txs),
    });
    const e = await failure(backend.block(h as string));
    expect(e.code).toBe('CHAIN_BAD_RESPONSE');
    expect(e.message).toMatch(/expected transactions with merkle root/);
  });

  it('attack: a tx_count that disagrees, or bytes after the last transaction, are caught', async () => {
    const { chain, server, backend } = await setup();
    const b = chain.tip;
    server.overrides.set(`/block/${b.hash}/raw`, {
      status: 200,
      body: concatBytes(
        rawBlock(
          b.header,
          b.txs.map((t) => t.raw),
        ),
        Uint8Array.of(0),
      ),
    });
    expect((await failure(backend.block(b.hash))).message).toMatch(/1 more bytes/);
    server.overrides.delete(`/block/${b.hash}/raw`);
    server.overrides.set(`/block/${b.hash}`, {
      status: 200,
      body: JSON.stringify({ id: b.hash, height: b.height, tx_count: 2 }),
    });
    expect((await failure(backend.block(b.hash))).message).toMatch(
      /expected 2 transactions, got 1/,
    );
  });

  it('transaction: bytes checked against the txid; 404 is null', async () => {
    const { chain, server, backend } = await setup();
    const txid = chain.fund(SCRIPT, 1_000_000n);
    expect(txidFromBytes((await backend.transaction(txid)) as Uint8Array)).toBe(txid);
    expect(await backend.transaction('ab'.repeat(32))).toBeNull();
    server.overrides.set(`/tx/${txid}/raw`, { status: 200, body: invalidTransaction() });
    expect((await failure(backend.transaction(txid))).code).toBe('CHAIN_BAD_RESPONSE');
  });

  it('transactionStatus: unknown (electrs says confirmed:false), mempool, confirmed', async () => {
    const { chain, backend } = await setup();
    expect(await backend.transactionStatus('ab'.repeat(32))).toEqual({
      inMempool: false,
      confirmations: 0,
      blockHash: null,
    });
    const txid = chain.fund(SCRIPT, 1_000_000n);
    expect(await backend.transactionStatus(txid)).toEqual({
      inMempool: true,
      confirmations: 0,
      blockHash: null,
    });
    const [h] = chain.mine(3);
    expect(await backend.transactionStatus(txid)).toEqual({
      inMempool: false,
      confirmations: 3,
      blockHash: h,
    });
    expect(await backend.mempoolTxids()).toEqual([]);
  });
});

describe('broadcast', () => {
  it('new, already in mempool, already confirmed: the txid each time', async () => {
    const { chain, backend } = await setup();
    const txid = chain.fund(SCRIPT, 1_000_000n);
    const raw = chain.mempool.get(txid) as Uint8Array;
    chain.mempool.delete(txid);
    expect(await backend.broadcast(raw)).toBe(txid);
    expect(await backend.broadcast(raw)).toBe(txid);
    chain.mine(1);
    expect(await backend.broadcast(raw)).toBe(txid); // -27 in the body
  });

  for (const style of ['json', 'plain'] as const) {
    it(`a rejection (${style} wording) is CHAIN_REJECTED with the node's reason and code`, async () => {
      const { server, backend } = await setup();
      server.errorStyle = style;
      const e = await failure(backend.broadcast(invalidTransaction()));
      expect(e.code).toBe('CHAIN_REJECTED');
      expect(e.detail).toMatchObject({
        rejectReason: 'bad-txns-inputs-missingorspent',
        rpcCode: -25,
        httpStatus: 400,
      });
    });
  }

  it('txn-already-in-mempool and inputs spent by the same (confirmed) tx are success', async () => {
    const { chain, server, backend } = await setup();
    const raw = invalidTransaction();
    server.overrides.set('/tx', {
      status: 400,
      body: 'sendrawtransaction RPC error: {"code":-26,"message":"txn-already-in-mempool"}',
    });
    expect(await backend.broadcast(raw)).toBe(txidFromBytes(raw));
    const txid = chain.fund(SCRIPT, 1_000_000n);
    const paid = chain.mempool.get(txid) as Uint8Array;
    chain.mine(1);
    server.overrides.set('/tx', {
      status: 400,
      body: 'sendrawtransaction RPC error -25: bad-txns-inputs-missingorspent',
    });
    expect(await backend.broadcast(paid)).toBe(txid);
  });

  it('an indexer answering another txid is CHAIN_BAD_RESPONSE; 5xx is retried then unavailable', async () => {
    const { server, backend } = await setup({ retries: 2 });
    server.overrides.set('/tx', { status: 200, body: 'ee'.repeat(32) });
    expect((await failure(backend.broadcast(invalidTransaction()))).code).toBe(
      'CHAIN_BAD_RESPONSE',
    );
    server.overrides.set('/tx', { status: 502, body: 'bad gateway' });
    const e = await failure(backend.broadcast(invalidTransaction()));
    expect(e.code).toBe('CHAIN_UNAVAILABLE');
    expect(e.detail.attempts).toBe(3);
  });
});

describe('the rest', () => {
  it('estimateFee: smallest target ≥ asked, sat/vB → sat/kvB, null when none', async () => {
    const { server, backend } = await setup();
    expect(await backend.estimateFee(1)).toEqual({ satPerKvB: 87_882n, blocks: 1 });
    expect(await backend.estimateFee(3)).toEqual({ satPerKvB: 68_285n, blocks: 6 });
    expect(await backend.estimateFee(144)).toEqual({ satPerKvB: 1_027n, blocks: 144 });
    expect(await backend.estimateFee(145)).toBeNull();
    server.fees = {};
    expect(await backend.estimateFee(2)).toBeNull();
    server.fees = { '2': -1 };
    expect((await failure(backend.estimateFee(2))).code).toBe('CHAIN_BAD_RESPONSE');
  });

  it('sat/vB floats convert through their decimal string', () => {
    expect(satPerVbToKvB(87.882)).toBe(87_882n);
    expect(satPerVbToKvB(0.1 + 0.2)).toBe(300n);
    expect(satPerVbToKvB(1.0270000000000001)).toBe(1_027n);
    expect(satPerVbToKvB(0)).toBe(0n);
    expect(satPerVbToKvB(1.5)).toBe(1_500n);
    expect(satPerVbToKvB(2.0004999)).toBe(2_000n);
  });

  it('testAccept is unsupported: CHAIN_RPC with detail.unsupported', async () => {
    const { backend } = await setup();
    const e = await failure(backend.testAccept(invalidTransaction()));
    expect(e.code).toBe('CHAIN_RPC');
    expect(e.detail.unsupported).toBe(true);
  });

  it('HTTP 401/403 is BAD_CONFIG; another 4xx is CHAIN_RPC; a drop is retried', async () => {
    const { server, backend } = await setup({ retries: 1 });
    server.injections.push({ status: 403, body: 'forbidden' });
    expect((await failure(backend.tip())).code).toBe('BAD_CONFIG');
    server.overrides.set('/mempool/txids', { status: 400, body: 'Invalid hash string' });
    const e = await failure(backend.mempoolTxids());
    expect(e.code).toBe('CHAIN_RPC');
    expect(e.detail.httpStatus).toBe(400);
    server.injections.push('drop');
    expect(await backend.blockHash(0)).toBe(REGTEST_GENESIS_HASH);
  });

  it('parseRejection reads both electrs wordings and keeps anything else', () => {
    expect(
      parseRejection(
        'sendrawtransaction RPC error: {"code":-26,"message":"min relay fee not met"}',
      ),
    ).toEqual({
      reason: 'min relay fee not met',
      rpcCode: -26,
    });
    expect(parseRejection('sendrawtransaction RPC error -26: dust')).toEqual({
      reason: 'dust',
      rpcCode: -26,
    });
    expect(parseRejection('Invalid hex string')).toEqual({
      reason: 'Invalid hex string',
      rpcCode: null,
    });
    expect(bytesToHex(Uint8Array.of(1))).toBe('01');
  });
});

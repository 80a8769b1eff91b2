/**
 * BitcoindBackend over the fake Core server on a FakeChain: config, network mapping, blocks
 * decoded and checked (a lying node is caught), transaction lookups, status, idempotent
 * broadcast, testAccept and exact fee estimates.
 */
import { inspect } from 'node:util';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { p2wpkh } from '@scure/btc-signer';
import { afterEach, describe, expect, it } from 'vitest';
import { BitcoindBackend } from '../../src/chain/bitcoind-backend.js';
import { parseBitcoindConfig } from '../../src/chain/bitcoind-config.js';
import { txidOfBytes } from '../../src/chain/tx-decode.js';
import { CoordinatorError } from '../../src/errors.js';
import { invalidTransaction, txidFromBytes } from './conformance.js';
import { FakeChain, G_PUBKEY, REGTEST } from './fake-chain.js';
import { coreHandlers, FakeCore, type Handler, RawJson, RpcFault } from './fake-core.js';

const PASSWORD = 'backend-Pa55-secret';
const SCRIPT = p2wpkh(G_PUBKEY, REGTEST).script;

let core: FakeCore | undefined;
afterEach(async () => {
  await core?.close();
  core = undefined;
});

async function setup(
  override: (h: Record<string, Handler>, chain: FakeChain) => Record<string, Handler> = (h) => h,
  options: { chainName?: string; txindex?: boolean; config?: Record<string, unknown> } = {},
) {
  const chain = new FakeChain();
  chain.mine(2);
  const handlers = override(coreHandlers(chain, options), chain);
  core = await FakeCore.start({ user: 'u', password: PASSWORD }, handlers);
  const backend = BitcoindBackend.fromConfig({
    url: core.url,
    user: 'u',
    password: PASSWORD,
    retries: 0,
    ...options.config,
  });
  return { chain, core, backend };
}

async function failure(p: Promise<unknown>): Promise<CoordinatorError> {
  const e = await p.then(
    () => new Error('expected a failure'),
    (x: unknown) => x,
  );
  if (!(e instanceof CoordinatorError)) throw e;
  return e;
}

describe('config', () => {
  it('defaults, user/password or cookie, frozen, password redacted', () => {
    const c = parseBitcoindConfig({
      url: 'http://127.0.0.1:18443/',
      user: 'u',
      password: PASSWORD,
    });
    expect(c).toMatchObject({
      url: 'http://127.0.0.1:18443/',
      timeoutMs: 30_000,
      retry: { retries: 3, baseDelayMs: 250, maxDelayMs: 5_000 },
      maxFeeRateSatPerKvB: 10_000_000n,
    });
    expect(c.auth.kind).toBe('userpass');
    expect(Object.isFrozen(c)).toBe(true);
    expect(inspect(c, { depth: 10 })).not.toContain(PASSWORD);
    expect(JSON.stringify(c, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(
      PASSWORD,
    );
    const k = parseBitcoindConfig({
      url: 'http://127.0.0.1:18443/',
      cookieFile: '/x/.cookie',
      retries: 0,
    });
    expect(k.auth).toEqual({ kind: 'cookie', cookieFile: '/x/.cookie' });
  });

  it('refuses bad configs with BAD_CONFIG that never quotes the password', () => {
    const bad = [
      { url: 'http://127.0.0.1:1/', user: 'u', password: PASSWORD, cookieFile: '/c' },
      { url: 'http://127.0.0.1:1/' },
      { url: 'http://127.0.0.1:1/', user: 'u' },
      { url: `http://u:${PASSWORD}@127.0.0.1:1/`, user: 'u', password: PASSWORD },
      { url: 'ftp://127.0.0.1:1/', user: 'u', password: PASSWORD },
      { url: 'http://127.0.0.1:1/', user: 'u', password: PASSWORD, timeoutMs: 1 },
      { url: 'http://127.0.0.1:1/', user: 'u', password: PASSWORD, extra: true },
      { url: 'http://127.0.0.1:1/', user: 'u', password: PASSWORD, maxFeeRateSatPerKvB: -1 },
    ];
    for (const input of bad) {
      let e: unknown;
      try {
        parseBitcoindConfig(input);
      } catch (x) {
        e = x;
      }
      expect(e instanceof CoordinatorError && e.code === 'BAD_CONFIG', JSON.stringify(input)).toBe(
        true,
      );
      expect((e as Error).message).toMatch(
        /^chain\/bitcoind config: expected a valid bitcoind backend config, got /,
      );
      expect((e as Error).message).not.toContain(PASSWORD);
    }
  });
});

describe('network', () => {
  for (const [chainName, network] of [
    ['main', 'mainnet'],
    ['test', 'testnet'],
    ['testnet4', 'testnet'],
    ['signet', 'signet'],
    ['regtest', 'regtest'],
  ] as const) {
    it(`Core chain "${chainName}" is ${network}, asked once`, async () => {
      const { backend, core } = await setup(undefined, { chainName });
      expect(await backend.network()).toBe(network);
      expect(await backend.network()).toBe(network);
      expect(core.countCalls('getblockchaininfo')).toBe(1);
    });
  }

  it('an unknown chain name is CHAIN_BAD_RESPONSE', async () => {
    const { backend } = await setup(undefined, { chainName: 'liquidv1' });
    expect((await failure(backend.network())).code).toBe('CHAIN_BAD_RESPONSE');
  });
});

describe('tip, blockHash, block', () => {
  it('tip comes from one getblockchaininfo; blockHash is null only above the tip', async () => {
    const { backend, chain, core } = await setup((h) => ({
      ...h,
      getblockhash: ([n]) => {
        if (n === 999) throw new RpcFault(-1, 'misc failure');
        return (h.getblockhash as Handler)([n]);
      },
    }));
    expect(await backend.tip()).toEqual({ height: 2, hash: chain.tip.hash });
    expect(core.requests).toHaveLength(1);
    expect(await backend.blockHash(0)).toBe(chain.blocks[0]?.hash);
    expect(await backend.blockHash(3)).toBeNull();
    expect((await failure(backend.blockHash(999))).code).toBe('CHAIN_RPC');
  });

  it('decodes every transaction from hex, amounts exact; the genesis parent is 64 zeros', async () => {
    const { backend, chain } = await setup();
    const txid = chain.fund(SCRIPT, 4_999_990_123n); // 49.99990123 BTC
    const [h] = chain.mine(1);
    const block = await backend.block(h as string);
    expect(block.height).toBe(3);
    expect(block.previousHash).toBe(chain.blocks[2]?.hash);
    const paid = block.transactions.find((t) => t.txid === txid);
    expect(paid?.outputs[0]?.value).toBe(4_999_990_123n);
    const genesis = await backend.block(chain.blocks[0]?.hash as string);
    expect(genesis.previousHash).toBe('0'.repeat(64));
    expect(genesis.transactions[0]?.outputs[0]?.value).toBe(5_000_000_000n);
  });

  it('an unknown block is NOT_FOUND', async () => {
    const { backend } = await setup();
    const e = await failure(backend.block('ab'.repeat(32)));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe(`bitcoind/block ${'ab'.repeat(32)}: expected a known block, got none`);
  });

  type BlockJson = { hash: string; time: number; tx: Array<{ txid: string; hex: string }> };
  const lie = (f: (b: BlockJson) => void) => (h: Record<string, Handler>) => ({
    ...h,
    getblock: (p: readonly unknown[]) => {
      const b = structuredClone((h.getblock as Handler)(p)) as BlockJson;
      f(b);
      return b;
    },
  });

  it('attack: a tx whose hex is not its reported txid is caught', async () => {
    const { backend, chain } = await setup(
      lie((b) => {
        if (b.tx[0]) b.tx[0].txid = 'ee'.repeat(32);
      }),
    );
    const e = await failure(backend.block(chain.tip.hash));
    expect(e.code).toBe('CHAIN_BAD_RESPONSE');
    expect(e.message).toMatch(/tx 0: expected the bytes of transaction eeee/);
  });

  it('attack: a substituted transaction (txid and hex consistent) breaks the merkle root', async () => {
    const { backend, chain } = await setup(
      lie((b) => {
        const other = invalidTransaction();
        const id = txidFromBytes(other);
        b.tx.push({ txid: id, hash: id, hex: bytesToHex(other) } as BlockJson['tx'][0]);
      }),
    );
    const e = await failure(backend.block(chain.tip.hash));
    expect(e.code).toBe('CHAIN_BAD_RESPONSE');
    expect(e.message).toMatch(/expected transactions with merkle root/);
  });

  it('attack: header fields that do not hash to the block hash are caught', async () => {
    const { backend, chain } = await setup(
      lie((b) => {
        b.time += 1;
      }),
    );
    const e = await failure(backend.block(chain.tip.hash));
    expect(e.message).toMatch(/expected header fields hashing to/);
  });

  it('attack: another block than the one asked for is caught', async () => {
    const { backend, chain } = await setup((h, c) => ({
      ...h,
      getblock: ([, v]) => (h.getblock as Handler)([c.blocks[0]?.hash, v]),
    }));
    const e = await failure(backend.block(chain.tip.hash));
    expect(e.message).toMatch(/expected block .*, got block/);
  });
});

describe('transaction and transactionStatus', () => {
  it('mempool, confirmed, unknown — one HTTP request per status', async () => {
    const { backend, chain, core } = await setup();
    const txid = chain.fund(SCRIPT, 1_000_000n);
    const before = core.requests.length;
    expect(await backend.transactionStatus(txid)).toEqual({
      inMempool: true,
      confirmations: 0,
      blockHash: null,
    });
    expect(core.requests.length - before).toBe(1);
    const raw = await backend.transaction(txid);
    expect(txidFromBytes(raw as Uint8Array)).toBe(txid);
    const [h] = chain.mine(1);
    chain.mine(4);
    expect(await backend.transactionStatus(txid)).toEqual({
      inMempool: false,
      confirmations: 5,
      blockHash: h,
    });
    expect(await backend.transaction('ab'.repeat(32))).toBeNull();
  });

  it('a blockhash with 0 confirmations (stale block) reads as unknown', async () => {
    const { backend } = await setup((h) => ({
      ...h,
      getrawtransaction: ([txid]) => ({
        txid,
        hash: txid,
        hex: '00',
        blockhash: 'cd'.repeat(32),
        confirmations: 0,
      }),
    }));
    expect(await backend.transactionStatus('ab'.repeat(32))).toEqual({
      inMempool: false,
      confirmations: 0,
      blockHash: null,
    });
  });

  it('without txindex a confirmed transaction is not found (documented)', async () => {
    const { backend, chain } = await setup(undefined, { txindex: false });
    const txid = chain.fund(SCRIPT, 1_000_000n);
    chain.mine(1);
    expect(await backend.transaction(txid)).toBeNull();
    expect((await backend.transactionStatus(txid)).confirmations).toBe(0);
  });

  it('attack: bytes of another transaction are caught', async () => {
    const { backend, chain } = await setup((h) => ({
      ...h,
      getrawtransaction: () => bytesToHex(invalidTransaction()),
    }));
    const e = await failure(backend.transaction(chain.blocks[1]?.txs[0]?.txid as string));
    expect(e.code).toBe('CHAIN_BAD_RESPONSE');
  });
});

describe('broadcast', () => {
  it('is idempotent: new, in mempool, confirmed (-27), inputs spent by itself', async () => {
    const { backend, chain, core } = await setup((h, c) => ({
      ...h,
      sendrawtransaction: (p) => {
        const hex = String(p[0]);
        const txid = txidFromBytes(hexToBytes(hex));
        if (c.confirmed.has(txid) && c.tip.height >= 5)
          throw new RpcFault(-25, 'bad-txns-inputs-missingorspent');
        return (h.sendrawtransaction as Handler)(p);
      },
    }));
    const txid = chain.fund(SCRIPT, 1_000_000n);
    const raw = chain.mempool.get(txid) as Uint8Array;
    chain.mempool.delete(txid);
    expect(await backend.broadcast(raw)).toBe(txid);
    expect(chain.mempool.has(txid)).toBe(true);
    expect(await backend.broadcast(raw)).toBe(txid);
    chain.mine(1);
    expect(await backend.broadcast(raw)).toBe(txid); // -27 already in utxo set
    chain.mine(2);
    expect(await backend.broadcast(raw)).toBe(txid); // -25 missingorspent, but confirmed
    expect(core.requests.at(-3)?.body).toContain('"method":"sendrawtransaction"');
    expect(core.requests.at(-1)?.body).toContain('"method":"getmempoolentry"');
  });

  it('already-known reasons are success; real rejections are CHAIN_REJECTED with the reason', async () => {
    let fault = new RpcFault(-26, 'txn-already-known');
    const { backend } = await setup((h) => ({
      ...h,
      sendrawtransaction: () => {
        throw fault;
      },
    }));
    const raw = invalidTransaction();
    const txid = txidFromBytes(raw);
    expect(await backend.broadcast(raw)).toBe(txid);
    fault = new RpcFault(-26, 'txn-same-nonwitness-data-in-mempool');
    expect(await backend.broadcast(raw)).toBe(txid);
    fault = new RpcFault(-26, 'min relay fee not met, 100 < 141');
    let e = await failure(backend.broadcast(raw));
    expect(e.code).toBe('CHAIN_REJECTED');
    expect(e.detail).toMatchObject({
      rejectReason: 'min relay fee not met, 100 < 141',
      rpcCode: -26,
    });
    fault = new RpcFault(-25, 'bad-txns-inputs-missingorspent'); // and it is not known: rejected
    e = await failure(backend.broadcast(raw));
    expect(e.detail.rejectReason).toBe('bad-txns-inputs-missingorspent');
    fault = new RpcFault(-22, 'TX decode failed');
    e = await failure(backend.broadcast(Uint8Array.of(1, 2, 3)));
    expect(e.code).toBe('CHAIN_REJECTED');
    expect(e.detail.rejectReason).toBe('TX decode failed');
  });

  it('sends maxfeerate as exact BTC/kvB (default 0.1; configurable)', async () => {
    const { backend, core } = await setup(undefined, { config: { maxFeeRateSatPerKvB: 0 } });
    await failure(backend.broadcast(invalidTransaction()));
    const sent = (c: FakeCore) =>
      c.requests.filter((r) => r.body.includes('sendrawtransaction')).at(-1)?.body;
    expect(sent(core)).toMatch(/"params":\["[0-9a-f]+",0\]/);
    const d = await setup();
    await failure(d.backend.broadcast(invalidTransaction()));
    expect(sent(d.core)).toMatch(/"params":\["[0-9a-f]+",0\.1\]/);
    await d.core.close();
  });

  it('a node answering another txid than the bytes have is CHAIN_BAD_RESPONSE', async () => {
    const { backend } = await setup((h) => ({ ...h, sendrawtransaction: () => 'ee'.repeat(32) }));
    expect((await failure(backend.broadcast(invalidTransaction()))).code).toBe(
      'CHAIN_BAD_RESPONSE',
    );
  });
});

describe('testAccept', () => {
  it('allowed, not allowed with reason, undecodable, package error', async () => {
    const { backend, chain } = await setup();
    const txid = chain.fund(SCRIPT, 1_000_000n);
    const raw = chain.mempool.get(txid) as Uint8Array;
    chain.mempool.delete(txid);
    expect(await backend.testAccept(raw)).toEqual({ txid, allowed: true, rejectReason: null });
    expect(chain.mempool.has(txid)).toBe(false); // nothing relayed
    const invalid = invalidTransaction();
    expect(await backend.testAccept(invalid)).toEqual({
      txid: txidFromBytes(invalid),
      allowed: false,
      rejectReason: 'missing-inputs',
    });
    const garbage = Uint8Array.of(0xde, 0xad);
    expect(await backend.testAccept(garbage)).toEqual({
      txid: txidOfBytes(garbage),
      allowed: false,
      rejectReason: 'TX decode failed. Make sure the tx has at least one input.',
    });
  });

  it('a package error without `allowed` is not allowed', async () => {
    const { backend } = await setup((h) => ({
      ...h,
      testmempoolaccept: () => [
        { txid: 'ab'.repeat(32), wtxid: 'ab'.repeat(32), 'package-error': 'package-not-sorted' },
      ],
    }));
    expect(await backend.testAccept(invalidTransaction())).toEqual({
      txid: 'ab'.repeat(32),
      allowed: false,
      rejectReason: 'package-not-sorted',
    });
  });
});

describe('estimateFee', () => {
  it('converts BTC/kvB exactly; null when Core has errors; checks the target', async () => {
    let reply: unknown = { feerate: new RawJson('0.00012345'), blocks: 3 };
    const { backend, core } = await setup((h) => ({ ...h, estimatesmartfee: () => reply }));
    expect(await backend.estimateFee(2)).toEqual({ satPerKvB: 12_345n, blocks: 3 });
    reply = { feerate: new RawJson('20999999.97690000'), blocks: 2 };
    expect((await backend.estimateFee(2))?.satPerKvB).toBe(2_099_999_997_690_000n);
    reply = { errors: ['Insufficient data or no feerate found'], blocks: 0 };
    expect(await backend.estimateFee(6)).toBeNull();
    const n = core.requests.length;
    expect((await failure(backend.estimateFee(1009))).code).toBe('BAD_REQUEST');
    expect((await failure(backend.estimateFee(1.5))).code).toBe('BAD_REQUEST');
    expect(core.requests.length).toBe(n);
  });
});

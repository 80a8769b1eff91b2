/**
 * CoreRpcClient against the fake Core server: request shape, batching, timeouts, retries with
 * backoff, warmup, Core's error codes, legacy 1.x answers, malformed answers and exact amounts.
 * Authentication and credential hygiene: rpc-auth.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CORE_CALLS } from '../../src/chain/rpc-schemas.js';
import { btc, RawJson, RpcFault } from './fake-core.js';
import { client, expectNoSecret, failure, rpcFixture, startCore } from './rpc-fixture.js';

const any = z.unknown();
const fx = rpcFixture();

describe('requests', () => {
  it('are JSON-RPC 2.0 with positional params and exact amount literals', async () => {
    await startCore(fx, {
      sendtoaddress: () => 'ab'.repeat(32),
      sendrawtransaction: () => 'cd'.repeat(32),
    });
    const c = client(fx);
    await c.sendtoaddress('bcrt1qxyz', 12_345_678n);
    await c.sendtoaddress('bcrt1qxyz', 1n);
    await c.sendrawtransaction('00', 10_000_000n);
    const bodies =
      fx.core?.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>) ?? [];
    expect(bodies[0]).toEqual({
      jsonrpc: '2.0',
      id: 1,
      method: 'sendtoaddress',
      params: ['bcrt1qxyz', 0.12345678],
    });
    expect(fx.core?.requests[0]?.body).toContain('"params":["bcrt1qxyz",0.12345678]');
    expect(fx.core?.requests[1]?.body).toContain('"params":["bcrt1qxyz",1e-8]');
    expect(fx.core?.requests[2]?.body).toContain('"params":["00",0.1]');
    expect(CORE_CALLS.getblock('ab'.repeat(32)).params).toEqual(['ab'.repeat(32), 2]);
    expect(CORE_CALLS.getrawtransaction('ab'.repeat(32)).params).toEqual(['ab'.repeat(32), false]);
  });
});

describe('batch', () => {
  it('sends one HTTP request and matches replies by id (the server answers in reverse)', async () => {
    await startCore(fx, {
      getblockhash: ([h]) => {
        if (h !== 0) throw new RpcFault(-8, 'Block height out of range');
        return '00'.repeat(32);
      },
    });
    const [count, hash, missing] = await client(fx).batch([
      CORE_CALLS.getblockcount(),
      CORE_CALLS.getblockhash(0),
      CORE_CALLS.getblockhash(5),
    ] as const);
    expect(fx.core?.requests).toHaveLength(1);
    expect(count).toEqual({ ok: true, value: 7 });
    expect(hash).toEqual({ ok: true, value: '00'.repeat(32) });
    expect(missing.ok).toBe(false);
    if (!missing.ok) {
      expect(missing.error.code).toBe('CHAIN_RPC');
      expect(missing.error.detail).toMatchObject({
        rpcCode: -8,
        rpcMessage: 'Block height out of range',
      });
    }
  });

  it('a reply with an unknown id, a duplicate or a missing reply is CHAIN_BAD_RESPONSE', async () => {
    await startCore(fx);
    const c = client(fx);
    fx.core?.injections.push({
      kind: 'http',
      status: 200,
      body: '[{"jsonrpc":"2.0","result":1,"id":999}]',
    });
    expect((await failure(c.batch([CORE_CALLS.getblockcount()]))).code).toBe('CHAIN_BAD_RESPONSE');
    fx.core?.injections.push({ kind: 'http', status: 200, body: '[]' });
    expect((await failure(c.batch([CORE_CALLS.getblockcount()]))).message).toMatch(
      /expected 1 replies, got 0/,
    );
    fx.core?.injections.push({
      kind: 'http',
      status: 200,
      body: '{"jsonrpc":"2.0","result":1,"id":3}',
    });
    expect((await failure(c.batch([CORE_CALLS.getblockcount()]))).code).toBe('CHAIN_BAD_RESPONSE');
  });

  it('a warmup answer retries the whole batch', async () => {
    await startCore(fx);
    fx.core?.injections.push({ kind: 'rpc-error', code: -28, message: 'Loading block index…' });
    const [r] = await client(fx).batch([CORE_CALLS.getblockcount()]);
    expect(r).toEqual({ ok: true, value: 7 });
    expect(fx.core?.requests).toHaveLength(2);
    expect(fx.sleeps).toEqual([50]);
  });
});

describe('timeouts and retries', () => {
  it('retries HTTP 5xx without a JSON-RPC body with exponential backoff, then succeeds', async () => {
    await startCore(fx);
    fx.core?.injections.push(
      { kind: 'http', status: 503, body: 'Work queue depth exceeded' },
      { kind: 'http', status: 500 },
    );
    expect(await client(fx).getblockcount()).toBe(7);
    expect(fx.sleeps).toEqual([50, 100]); // random 0.5 × 100·2^k
  });

  it('gives up after `retries` with CHAIN_UNAVAILABLE; full jitter is capped at maxDelayMs', async () => {
    await startCore(fx);
    for (let i = 0; i < 7; i++) fx.core?.injections.push({ kind: 'http', status: 503 });
    const c = client(fx, {
      retry: { retries: 6, baseDelayMs: 100, maxDelayMs: 300 },
      retryDeps: { sleep: async (ms) => void fx.sleeps.push(ms), random: () => 0.999 },
    });
    const e = await failure(c.getblockcount());
    expect(e.code).toBe('CHAIN_UNAVAILABLE');
    expect(e.message).toMatch(
      /rpc\/getblockcount: expected an answer from http:\/\/127\.0\.0\.1:\d+\/, got none after 7 attempt\(s\); last: HTTP 503/,
    );
    expect(e.detail).toMatchObject({ attempts: 7, httpStatus: 503 });
    expect(fx.sleeps).toEqual([99, 199, 299, 299, 299, 299]);
    expect(fx.core?.requests).toHaveLength(7);
  });

  it('a dropped connection is retried', async () => {
    await startCore(fx);
    fx.core?.injections.push({ kind: 'drop' });
    expect(await client(fx).getblockcount()).toBe(7);
    expect(fx.core?.requests).toHaveLength(2);
  });

  it('a connection refused ends in CHAIN_UNAVAILABLE naming the cause', async () => {
    await startCore(fx);
    const url = fx.core?.url as string;
    await fx.core?.close();
    fx.core = undefined;
    const e = await failure(client(fx, {}, url).getblockcount());
    expect(e.code).toBe('CHAIN_UNAVAILABLE');
    expect(e.message).toMatch(/ECONNREFUSED/);
    expectNoSecret(e);
  });

  it('each attempt has its own timeout; a hanging node ends in CHAIN_UNAVAILABLE', async () => {
    await startCore(fx);
    fx.core?.injections.push({ kind: 'hang' }, { kind: 'hang' });
    const e = await failure(
      client(fx, {
        timeoutMs: 200,
        retry: { retries: 1, baseDelayMs: 10, maxDelayMs: 10 },
      }).getblockcount(),
    );
    expect(e.code).toBe('CHAIN_UNAVAILABLE');
    expect(e.message).toMatch(/timed out after 200 ms/);
    expect(fx.core?.requests).toHaveLength(2);
  });

  it('RPC_IN_WARMUP (-28) is retried; forever-warming ends in CHAIN_UNAVAILABLE', async () => {
    await startCore(fx);
    fx.core?.injections.push(
      { kind: 'rpc-error', code: -28, message: 'Loading block index…' },
      { kind: 'rpc-error', code: -28, message: 'Verifying blocks…' },
    );
    expect(await client(fx).getblockcount()).toBe(7);
    expect(fx.sleeps).toHaveLength(2);
    for (let i = 0; i < 4; i++)
      fx.core?.injections.push({ kind: 'rpc-error', code: -28, message: 'Rewinding blocks…' });
    const e = await failure(client(fx).getblockcount());
    expect(e.code).toBe('CHAIN_UNAVAILABLE');
    expect(e.detail.rpcCode).toBe(-28);
    expect(e.message).toMatch(/warming up \(-28: Rewinding blocks…\)/);
  });

  it('a JSON-RPC error that is an answer is never retried (2.0 and legacy 1.x)', async () => {
    await startCore(fx, {
      sendrawtransaction: () => {
        throw new RpcFault(-26, 'min relay fee not met, 100 < 141');
      },
    });
    const c = client(fx);
    expect((await failure(c.sendrawtransaction('00'))).code).toBe('CHAIN_REJECTED');
    fx.core!.legacy = true; // HTTP 500 with {result: null, error, id}
    expect((await failure(c.sendrawtransaction('00'))).code).toBe('CHAIN_REJECTED');
    expect(fx.core?.requests).toHaveLength(2);
    expect(fx.sleeps).toEqual([]);
  });
});

describe("Core's error codes", () => {
  const cases: Array<[number, string, string, Record<string, unknown>]> = [
    [
      -26,
      'min relay fee not met, 100 < 141',
      'CHAIN_REJECTED',
      { rejectReason: 'min relay fee not met, 100 < 141' },
    ],
    [
      -25,
      'bad-txns-inputs-missingorspent',
      'CHAIN_REJECTED',
      { rejectReason: 'bad-txns-inputs-missingorspent' },
    ],
    [-27, 'Transaction outputs already in utxo set', 'CHAIN_REJECTED', { alreadyInChain: true }],
    [-5, 'Block not found', 'NOT_FOUND', {}],
    [-8, 'Block height out of range', 'CHAIN_RPC', {}],
    [-1, 'some misc error', 'CHAIN_RPC', {}],
    [-22, 'TX decode failed', 'CHAIN_RPC', {}],
    [-10, 'Bitcoin Core is in initial sync', 'CHAIN_RPC', {}],
    [-999, 'a code this client does not know', 'CHAIN_RPC', {}],
  ];
  for (const legacy of [false, true]) {
    for (const [rpcCode, message, code, extra] of cases) {
      it(`${rpcCode} → ${code}${legacy ? ' (legacy 1.x answer)' : ''}`, async () => {
        await startCore(fx, {
          x: () => {
            throw new RpcFault(rpcCode, message);
          },
        });
        fx.core!.legacy = legacy;
        const e = await failure(client(fx).call({ method: 'x', params: [], schema: any }));
        expect(e.code).toBe(code);
        expect(e.detail).toMatchObject({ method: 'x', rpcCode, rpcMessage: message, ...extra });
        expect(e.message).toContain(`rpc/x: expected a result, got Core error ${rpcCode}`);
        expect(fx.core?.requests).toHaveLength(1);
      });
    }
  }

  it('an unknown method is CHAIN_RPC -32601 (2.0: HTTP 200; legacy: HTTP 404)', async () => {
    await startCore(fx);
    for (const legacy of [false, true]) {
      fx.core!.legacy = legacy;
      const e = await failure(client(fx).call({ method: 'nosuchmethod', params: [], schema: any }));
      expect(e.code).toBe('CHAIN_RPC');
      expect(e.detail.rpcCode).toBe(-32601);
    }
  });

  it('an error about an unreadable request (id null) is still mapped, not retried', async () => {
    await startCore(fx);
    fx.core?.injections.push({
      kind: 'http',
      status: 500,
      body: '{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}',
    });
    const e = await failure(client(fx).getblockcount());
    expect(e.code).toBe('CHAIN_RPC');
    expect(e.detail.rpcCode).toBe(-32700);
    expect(fx.sleeps).toEqual([]);
  });

  it('a legacy success reply ({result, error: null, id}) is read', async () => {
    await startCore(fx);
    fx.core!.legacy = true;
    expect(await client(fx).getblockcount()).toBe(7);
  });
});

describe('malformed answers are CHAIN_BAD_RESPONSE', () => {
  it('non-JSON, wrong shape, wrong id, neither result nor error, HTTP 400 text', async () => {
    await startCore(fx, {
      getblockhash: () => 123,
      getblockchaininfo: () => ({ chain: 'regtest', blocks: 1 }),
    });
    const c = client(fx);
    const bad = async (p: Promise<unknown>, pattern: RegExp) => {
      const e = await failure(p);
      expect(e.code, e.message).toBe('CHAIN_BAD_RESPONSE');
      expect(e.message).toMatch(pattern);
    };
    fx.core?.injections.push({ kind: 'http', status: 200, body: '<html>proxy</html>' });
    await bad(c.getblockcount(), /expected a JSON body, got 18 bytes that are not JSON/);
    await bad(c.getblockhash(1), /rpc\/getblockhash: expected a result of Core's documented shape/);
    await bad(c.getblockchaininfo(), /bestblockhash/);
    fx.core?.injections.push({
      kind: 'http',
      status: 200,
      body: '{"jsonrpc":"2.0","result":7,"id":12345}',
    });
    await bad(c.getblockcount(), /expected a reply with id \d+, got id 12345/);
    fx.core?.injections.push({ kind: 'http', status: 200, body: '{"jsonrpc":"2.0","id":1}' });
    await bad(c.getblockcount(), /expected a reply with result or error, got neither/);
    fx.core?.injections.push({ kind: 'http', status: 400, body: 'Bad Request' });
    await bad(c.getblockcount(), /got HTTP 400/);
    expect(fx.sleeps).toEqual([]);
  });

  it('a response over maxResponseBytes', async () => {
    await startCore(fx, {
      getrawmempool: () => Array.from({ length: 100 }, () => 'ab'.repeat(32)),
    });
    const e = await failure(client(fx, { maxResponseBytes: 2048 }).getrawmempool());
    expect(e.code).toBe('CHAIN_BAD_RESPONSE');
    expect(e.message).toMatch(/expected a response of at most 2048 bytes/);
  });
});

describe('amounts are exact', () => {
  it('estimatesmartfee feerates: BTC/kvB literals → sat/kvB bigint', async () => {
    let literal = '';
    await startCore(fx, { estimatesmartfee: () => ({ feerate: new RawJson(literal), blocks: 2 }) });
    const c = client(fx);
    for (const [text, sats] of [
      ['20999999.97690000', 2_099_999_997_690_000n],
      ['0.00001000', 1_000n],
      ['0.30000000', 30_000_000n],
      ['0.00000001', 1n],
      ['1e-8', 1n],
    ] as const) {
      literal = text;
      expect((await c.estimatesmartfee(2)).feerate, text).toBe(sats);
    }
    literal = '0.30000000000000004';
    expect((await failure(c.estimatesmartfee(2))).code).toBe('CHAIN_BAD_RESPONSE');
    literal = '21000000.00000001';
    expect((await failure(c.estimatesmartfee(2))).code).toBe('CHAIN_BAD_RESPONSE');
  });

  it('getmempoolentry fees', async () => {
    await startCore(fx, {
      getmempoolentry: () => ({ vsize: 141, fees: { base: btc(141n), modified: btc(141n) } }),
    });
    expect((await client(fx).getmempoolentry('ab'.repeat(32))).fees?.base).toBe(141n);
  });
});

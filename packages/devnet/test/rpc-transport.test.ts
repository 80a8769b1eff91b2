import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDevnet, startDevnet } from '../src/start.js';
import { AUTH, client, PASSWORD, startTestDevnet, USER } from './helpers/rpc.js';

let devnet: RunningDevnet;
const { post, call, callError } = client(() => devnet);

beforeAll(async () => {
  devnet = await startTestDevnet();
});

afterAll(async () => {
  await devnet.close();
});

describe('RPC transport (Core v28 httprpc)', () => {
  it('listens on loopback and answers 401 with a Basic challenge without or with wrong credentials', async () => {
    expect(devnet.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const none = await post({ method: 'getblockcount', id: 1 }, { auth: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Basic realm="jsonrpc"');
    const wrong = await post(
      { method: 'getblockcount', id: 1 },
      { auth: `Basic ${Buffer.from(`${USER}:nope`).toString('base64')}` },
    );
    expect(wrong.status).toBe(401);
    const garbage = await post({ method: 'getblockcount', id: 1 }, { auth: 'Bearer x' });
    expect(garbage.status).toBe(401);
  });

  it('answers 405 to GET, 404 to other paths, and serves /wallet/<name>', async () => {
    const get = await post(null, { method: 'GET' });
    expect([get.status, get.text]).toEqual([405, 'JSONRPC server handles only POST requests']);
    expect(
      (await post({ method: 'getblockcount', id: 1 }, { path: '/rest/chaininfo.json' })).status,
    ).toBe(404);
    const wallet = await post({ method: 'getbalance', id: 1 }, { path: '/wallet/miner' });
    expect(wallet.status).toBe(200);
  });

  it('uses the JSON-RPC 1.0 shape: result and error both present, HTTP 404 / 500 on errors', async () => {
    const ok = await post({ method: 'getblockcount', id: 'a' });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('{"result":101,"error":null,"id":"a"}\n');
    expect(ok.headers.get('content-type')).toBe('application/json');
    const unknown = await post({ method: 'nosuchmethod', id: 2 });
    expect([unknown.status, unknown.json]).toEqual([
      404,
      { result: null, error: { code: -32601, message: 'Method not found' }, id: 2 },
    ]);
    const bad = await post({ method: 'getblockhash', params: [1000], id: 3 });
    expect([bad.status, bad.json]).toEqual([
      500,
      { result: null, error: { code: -8, message: 'Block height out of range' }, id: 3 },
    ]);
    const noId = await post({ method: 'getblockcount' });
    expect(noId.json).toEqual({ result: 101, error: null });
  });

  it('uses the JSON-RPC 2.0 shape: HTTP 200 with only result or only error; notifications get 204', async () => {
    const ok = await post({ jsonrpc: '2.0', method: 'getblockcount', id: 1 });
    expect(ok.text).toBe('{"jsonrpc":"2.0","result":101,"id":1}\n');
    const unknown = await post({ jsonrpc: '2.0', method: 'nosuchmethod', id: 1 });
    expect([unknown.status, unknown.json]).toEqual([
      200,
      { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 1 },
    ]);
    const before = devnet.node.tip().height;
    const note = await post({
      jsonrpc: '2.0',
      method: 'generatetoaddress',
      params: [1, devnet.node.miningAddress],
    });
    expect([note.status, note.text]).toEqual([204, '']);
    expect(devnet.node.tip().height).toBe(before + 1);
    devnet.node.invalidateBlock(devnet.node.tip().hash);
  });

  it('refuses malformed envelopes with Core texts', async () => {
    expect(await post('this is bad', { raw: true })).toMatchObject({
      status: 500,
      json: { result: null, error: { code: -32700, message: 'Parse error' }, id: null },
    });
    expect(await post({ jsonrpc: 2, method: 'getblockcount' })).toMatchObject({
      status: 400,
      json: { result: null, error: { code: -32600, message: 'jsonrpc field must be a string' } },
    });
    expect(await post({ jsonrpc: '3.0', method: 'getblockcount' })).toMatchObject({
      status: 400,
      json: { error: { code: -32600, message: 'JSON-RPC version not supported' } },
    });
    expect(await post({ id: 1 })).toMatchObject({
      status: 400,
      json: { error: { code: -32600, message: 'Missing method' } },
    });
    expect(await post({ id: 1, method: 'getblockcount', params: 5 })).toMatchObject({
      status: 400,
      json: { error: { message: 'Params must be an array or object' } },
    });
    expect(await post('7', { raw: true })).toMatchObject({
      status: 500,
      json: { error: { code: -32700, message: 'Top-level object parse error' } },
    });
  });

  it('answers batches with one reply per request (errors included), [] for an empty batch, 204 for notifications only', async () => {
    const batch = await post([
      { method: 'getblockcount', id: 1 },
      { method: 'invalidmethod', id: 2 },
      { jsonrpc: '2.0', method: 'getblockhash', params: [0], id: 3 },
      { pizza: 'sausage', id: 4 },
    ]);
    expect(batch.status).toBe(200);
    expect(batch.json).toEqual([
      { result: 101, error: null, id: 1 },
      { result: null, error: { code: -32601, message: 'Method not found' }, id: 2 },
      {
        jsonrpc: '2.0',
        result: '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
        id: 3,
      },
      { result: null, error: { code: -32600, message: 'Missing method' }, id: 4 },
    ]);
    expect((await post([])).json).toEqual([]);
    const notes = await post([{ jsonrpc: '2.0', method: 'getblockcount' }]);
    expect(notes.status).toBe(204);
  });

  it('checks arguments as RPCHelpMan does: count (-1 with help), type (-3), value (-8), named parameters', async () => {
    const count = await callError('getblockhash', []);
    expect(count.code).toBe(-1);
    expect(count.message.startsWith('getblockhash height\n')).toBe(true);
    const type = await callError('getblockhash', ['0']);
    expect(type).toEqual({
      status: 500,
      code: -3,
      message:
        'Wrong type passed:\n{\n    "Position 1 (height)": "JSON value of type string is not of expected type number"\n}',
    });
    expect(await callError('getblockheader', ['xyz'])).toMatchObject({
      code: -8,
      message: "hash must be of length 64 (not 3, for 'xyz')",
    });
    expect(await callError('getblock', ['z'.repeat(64)])).toMatchObject({
      code: -8,
      message: `blockhash must be hexadecimal string (not '${'z'.repeat(64)}')`,
    });
    expect(await call('getblockhash', { height: 0 })).toBe(
      '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
    );
    expect(await callError('getblockhash', { height: 0, extra: 1 })).toMatchObject({
      code: -8,
      message: 'Unknown named parameter extra',
    });
    expect(await callError('getblockheader', ['00'.repeat(32)])).toMatchObject({
      code: -5,
      message: 'Block not found',
    });
  });

  it('limits the request body (413)', async () => {
    const small = await startDevnet({
      port: 0,
      rpcUser: USER,
      rpcPassword: PASSWORD,
      maxBodyBytes: 64,
    });
    try {
      const res = await fetch(small.url, {
        method: 'POST',
        headers: { authorization: AUTH },
        body: JSON.stringify({ method: 'getblockcount', params: ['x'.repeat(200)] }),
      });
      expect(res.status).toBe(413);
    } finally {
      await small.close();
    }
  });

  it('refuses to bind a non-loopback host unless allowRemote', async () => {
    await expect(startDevnet({ port: 0, host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });
});

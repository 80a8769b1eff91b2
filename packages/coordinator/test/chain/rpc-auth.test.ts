/**
 * CoreRpcClient authentication against the fake Core: user/password, the cookie file (re-read
 * once after a 401, as after a node restart), 401/403 as BAD_CONFIG, and credentials absent from
 * every error and printed value.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Redacted, type RpcAuth } from '../../src/chain/rpc-auth.js';
import { CoreRpcClient } from '../../src/chain/rpc-client.js';
import { isCoordinatorError } from '../../src/errors.js';
import { FakeCore, RpcFault } from './fake-core.js';
import {
  client,
  expectNoSecret,
  failure,
  PASSWORD,
  rpcFixture,
  SECRETS,
  startCore,
  USER,
} from './rpc-fixture.js';

const fx = rpcFixture();

describe('authentication', () => {
  it('sends HTTP Basic user/password and reads the result', async () => {
    await startCore(fx);
    expect(await client(fx).getblockcount()).toBe(7);
    const r = fx.core?.requests[0];
    expect(r?.headers.authorization).toBe(`Basic ${SECRETS[1]}`);
    expect(r?.headers['content-type']).toBe('application/json');
  });

  it('a wrong password is BAD_CONFIG at once (no retry), without the password in it', async () => {
    await startCore(fx);
    const c = new CoreRpcClient({
      url: fx.core?.url as string,
      auth: { kind: 'userpass', user: USER, password: new Redacted('wrong-Pa55') },
      timeoutMs: 5_000,
      retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 1 },
      maxResponseBytes: 1 << 20,
    });
    const e = await failure(c.getblockcount());
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.message).toMatch(
      /rpc\/getblockcount: expected .* to accept our user\/password credentials, got HTTP 401/,
    );
    expect(fx.core?.requests).toHaveLength(1);
    expectNoSecret(e, ['wrong-Pa55', Buffer.from(`${USER}:wrong-Pa55`).toString('base64')]);
  });

  it('cookie: reads the file, and re-reads it once after a 401 (node restarted)', async () => {
    const cookieFile = join(fx.dir, '.cookie');
    fx.core = await FakeCore.start({ cookieFile }, { getblockcount: () => 7 });
    const c = client(fx, { auth: { kind: 'cookie', cookieFile } });
    expect(await c.getblockcount()).toBe(7);
    const secret = fx.core.rotateCookie(); // Core restarted: a new cookie
    expect(await c.getblockcount()).toBe(7);
    expect(fx.core.requests).toHaveLength(3); // ok, 401, ok after re-reading
    expect(fx.core.requests[2]?.headers.authorization).toBe(
      `Basic ${Buffer.from(`__cookie__:${secret}`).toString('base64')}`,
    );
    expect(fx.sleeps).toEqual([]);
  });

  it('cookie: still 401 after re-reading is BAD_CONFIG, without the cookie in it', async () => {
    const cookieFile = join(fx.dir, '.cookie');
    fx.core = await FakeCore.start({ cookieFile }, { getblockcount: () => 7 });
    const c = client(fx, { auth: { kind: 'cookie', cookieFile } });
    const secret = fx.core.rotateCookie();
    fx.core.expectUnwrittenCookie();
    const e = await failure(c.getblockcount());
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.message).toMatch(/accept our cookie credentials, got HTTP 401/);
    expect(fx.core.requests).toHaveLength(2);
    expectNoSecret(e, [secret]);
  });

  it('cookie: a missing file is retried (restart window), then CHAIN_UNAVAILABLE naming the file', async () => {
    await startCore(fx);
    const cookieFile = join(fx.dir, 'missing.cookie');
    const e = await failure(client(fx, { auth: { kind: 'cookie', cookieFile } }).getblockcount());
    expect(e.code).toBe('CHAIN_UNAVAILABLE');
    expect(e.message).toContain(`cookie file ${cookieFile} does not exist`);
    expect(e.detail.attempts).toBe(4);
    expect(fx.core?.requests).toHaveLength(0);
  });

  it('cookie: a malformed file is BAD_CONFIG that does not quote it', async () => {
    await startCore(fx);
    const cookieFile = join(fx.dir, 'bad.cookie');
    writeFileSync(cookieFile, 'no-colon-secret-value\n');
    const e = await failure(client(fx, { auth: { kind: 'cookie', cookieFile } }).getblockcount());
    expect(e.code).toBe('BAD_CONFIG');
    expectNoSecret(e, ['no-colon-secret-value']);
  });

  it('HTTP 403 (rpcallowip) is BAD_CONFIG', async () => {
    await startCore(fx);
    fx.core?.injections.push({ kind: 'http', status: 403 });
    const e = await failure(client(fx).getblockcount());
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.message).toMatch(/HTTP 403 Forbidden \(check rpcallowip\/rpcbind\)/);
  });

  it('a URL carrying user:password is refused, without echoing the password', () => {
    let e: unknown;
    try {
      new CoreRpcClient({
        url: `http://u:${PASSWORD}@127.0.0.1:1/`,
        auth: { kind: 'userpass', user: 'u', password: new Redacted(PASSWORD) } as RpcAuth,
        timeoutMs: 1000,
        retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0 },
        maxResponseBytes: 1024,
      });
    } catch (x) {
      e = x;
    }
    expect(isCoordinatorError(e, 'BAD_CONFIG')).toBe(true);
    expectNoSecret(e);
  });
});

describe('credentials never appear in errors or printed values', () => {
  it('across every failure kind', async () => {
    await startCore(fx, {
      sendrawtransaction: () => {
        throw new RpcFault(-26, 'rejected');
      },
      getblockhash: () => 1,
    });
    const c = client(fx, { retry: { retries: 1, baseDelayMs: 0, maxDelayMs: 0 } });
    const errors: unknown[] = [];
    errors.push(await failure(c.sendrawtransaction('00')));
    errors.push(await failure(c.getblockhash(0)));
    fx.core?.injections.push({ kind: 'http', status: 503 }, { kind: 'http', status: 503 });
    errors.push(await failure(c.getblockcount()));
    fx.core?.injections.push({ kind: 'hang' }, { kind: 'hang' });
    errors.push(
      await failure(
        client(fx, {
          timeoutMs: 100,
          retry: { retries: 1, baseDelayMs: 0, maxDelayMs: 0 },
        }).getblockcount(),
      ),
    );
    for (const e of errors) expectNoSecret(e);
    const auth: RpcAuth = { kind: 'userpass', user: USER, password: new Redacted(PASSWORD) };
    expect(JSON.stringify(auth)).not.toContain(PASSWORD);
    expect(inspect(auth, { depth: 5 })).not.toContain(PASSWORD);
    expect(`${auth.password}`).toBe('[redacted]');
    expect(inspect(client(fx), { depth: 5 })).not.toContain(PASSWORD);
  });
});

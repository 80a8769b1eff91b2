/**
 * Shared set-up of the CoreRpcClient tests: a fake Core per test (closed after it), a temp
 * directory for cookie files, and a client whose backoff sleeps are recorded instead of waited.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, expect } from 'vitest';
import { Redacted } from '../../src/chain/rpc-auth.js';
import { CoreRpcClient, type CoreRpcClientOptions } from '../../src/chain/rpc-client.js';
import { CoordinatorError } from '../../src/errors.js';
import { FakeCore } from './fake-core.js';

export const USER = 'alice';
export const PASSWORD = 'S3cret-Pa55-never-print';
export const SECRETS = [PASSWORD, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')];

export interface RpcFixture {
  core: FakeCore | undefined;
  dir: string;
  sleeps: number[];
}

/** Registers beforeEach/afterEach; the returned object holds the current test's state. */
export function rpcFixture(): RpcFixture {
  const fx: RpcFixture = { core: undefined, dir: '', sleeps: [] };
  beforeEach(() => {
    fx.dir = mkdtempSync(join(tmpdir(), 'keyline-rpc-'));
    fx.sleeps = [];
  });
  afterEach(async () => {
    await fx.core?.close();
    fx.core = undefined;
    rmSync(fx.dir, { recursive: true, force: true });
  });
  return fx;
}

export async function startCore(
  fx: RpcFixture,
  handlers: Record<string, (p: readonly unknown[]) => unknown> = {},
): Promise<FakeCore> {
  fx.core = await FakeCore.start(
    { user: USER, password: PASSWORD },
    { getblockcount: () => 7, ...handlers },
  );
  return fx.core;
}

export function client(
  fx: RpcFixture,
  over: Partial<CoreRpcClientOptions> = {},
  url = fx.core?.url as string,
): CoreRpcClient {
  return new CoreRpcClient({
    url,
    auth: { kind: 'userpass', user: USER, password: new Redacted(PASSWORD) },
    timeoutMs: 5_000,
    retry: { retries: 3, baseDelayMs: 100, maxDelayMs: 1_000 },
    maxResponseBytes: 1 << 20,
    retryDeps: {
      sleep: async (ms) => {
        fx.sleeps.push(ms);
      },
      random: () => 0.5,
    },
    ...over,
  });
}

export async function failure(p: Promise<unknown>): Promise<CoordinatorError> {
  const e = await p.then(
    (v) => new Error(`expected a failure, got ${String(v)}`),
    (x: unknown) => x,
  );
  if (!(e instanceof CoordinatorError)) throw e;
  return e;
}

/** Neither the message, the detail nor a deep inspect (causes included) holds a secret. */
export function expectNoSecret(e: unknown, secrets: readonly string[] = SECRETS): void {
  const texts = [
    (e as Error).message,
    JSON.stringify((e as CoordinatorError).detail ?? {}),
    inspect(e, { depth: 20 }),
  ];
  for (const t of texts) for (const s of secrets) expect(t.includes(s), t).toBe(false);
}

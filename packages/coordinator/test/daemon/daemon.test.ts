/**
 * The whole coordinator daemon in this process (runCoordinator: config, keys, the embedded devnet
 * over its JSON-RPC, the gateway, the payout pipeline, the API), with three real signer devices
 * (in-process, from the device package's flow fixtures) reached over the real wire stack on memory
 * transports instead of serial lines. One deposit is credited through the gateway; one withdrawal
 * goes through the API, two devices, the node and the confirmation; the ledger reconciles.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryTransportPair, publicKeyOf, serveCoordinator } from '@keyline/wire-protocol';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/cli/commands.js';
import { parseCoordinatorConfig } from '../../src/daemon/config.js';
import { createSecretKeyFile, readSecretKeyFile } from '../../src/daemon/key-files.js';
import { type RunningCoordinator, runCoordinator } from '../../src/daemon/run.js';
import { createApiKey } from '../../src/storage/api-keys.js';
import { openDatabase } from '../../src/storage/database.js';
import { type Deployment, flow, type Running } from '../service/pipeline-harness.js';

/** The device package's handlers, from its source (kept out of this tsc program, like FLOW). */
const DEVICE_SRC = '../../../signer-device/src/index.js';
const DEVICE = (await import(/* @vite-ignore */ DEVICE_SRC)) as {
  signerHandlers(signer: unknown): never;
};
interface RunningWithSigner extends Running {
  signer: { linkIdentity(): { privateKey: Uint8Array; publicKey: Uint8Array } | null };
}

const devnetAvailable =
  typeof ((await import('@keyline/devnet').catch(() => ({}))) as { startDevnet?: unknown })
    .startDevnet === 'function';

describe.skipIf(!devnetAvailable)('the coordinator daemon end to end (in process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyline-daemon-e2e-'));
  let d: Deployment;
  const devices: RunningWithSigner[] = [];
  const servers: { close(): Promise<void> }[] = [];
  let running: RunningCoordinator;
  let key: string;
  let admin: string;
  let nowMs = 0;

  beforeAll(async () => {
    d = await flow.setupDeployment('daemon-e2e');
    const rules = flow
      .defaultRules()
      .filter((r) => r.type !== 'velocity')
      .concat([
        {
          type: 'velocity',
          windowSeconds: 86_400,
          maxAmount: 1_000_000_000n,
          maxCount: 1000,
        } as never,
      ]);
    const policy = flow.signedPolicy(d, flow.policyDoc(d, { rules }));
    for (let i = 0; i < 3; i++) {
      const r = (await flow.armedDevice(d, i, policy)) as RunningWithSigner;
      await r.client.call('register_wallet', {
        name: 'hot',
        descriptor: d.descriptor,
        approvals: policy.approvals,
      });
      r.tick(5);
      devices.push(r);
    }
    nowMs = (flow.T0 + 5) * 1000;

    // The coordinator's data directory: the risk key is the deployment's intent key (the one the
    // device policy names); the link key is fresh and pinned by each device's server end below.
    const config = {
      ...defaultConfig('regtest'),
      dataDir: dir,
      chain: { kind: 'devnet', port: 0 },
      api: { host: '127.0.0.1', port: 0 },
      payouts: {
        maxBatch: 10,
        intentTtlSeconds: 3600,
        confirmations: 1,
        feeTargetBlocks: 6,
        pollMs: 50,
      },
      gateway: { startHeight: 0, pollIntervalMs: 50 },
    };
    writeFileSync(join(dir, 'risk.key'), `${bytesToHex(d.intentSecret)}\n`, { mode: 0o600 });
    createSecretKeyFile(join(dir, 'link.key'), 'link');
    const c = parseCoordinatorConfig(config, join(dir, 'config.json'));
    const linkKey = readSecretKeyFile(c.keys.linkKeyFile, 'link');
    const coordinatorPublic = publicKeyOf(linkKey);
    linkKey.fill(0);

    const database = await openDatabase(c.database);
    for (const [i, r] of devices.entries()) {
      const id = r.signer.linkIdentity();
      const cos = d.cosigners[i];
      if (id === null || cos === undefined) throw new Error('device not unlocked');
      await database.db
        .insertInto('devices')
        .values({
          id: ['signer-a', 'signer-b', 'signer-c'][i] as string,
          link_public_key: id.publicKey,
          serial_path: `mem:${i}`,
          baud: 115_200n,
          fingerprint: cos.fingerprint,
          xpub: cos.xpub,
          state: 'enrolled',
          last_seen: null,
          policy_version: null,
          enrolled_at: BigInt(i),
        })
        .execute();
    }
    key = (await createApiKey(database.db, { name: 'exchange', role: 'exchange' }, new Date(nowMs)))
      .secret;
    admin = (await createApiKey(database.db, { name: 'ops', role: 'admin' }, new Date(nowMs)))
      .secret;
    await database.close();

    running = await runCoordinator(c, {
      logger: (await import('pino')).default({ level: process.env.KEYLINE_TEST_LOG ?? 'silent' }),
      now: () => nowMs,
      openTransport: async (path) => {
        const i = Number(path.slice(4));
        const r = devices[i];
        const id = r?.signer.linkIdentity();
        if (r === undefined || id === null || id === undefined)
          throw new Error(`no device at ${path}`);
        const [coordinatorEnd, deviceEnd] = createMemoryTransportPair();
        servers.push(
          serveCoordinator(
            deviceEnd,
            { staticPrivateKey: id.privateKey, remoteStaticPublicKey: coordinatorPublic },
            DEVICE.signerHandlers(r.signer),
          ),
        );
        return coordinatorEnd;
      },
    });
  }, 120_000);

  afterAll(async () => {
    await running?.stop();
    for (const s of servers) await s.close().catch(() => undefined);
    for (const r of devices) await r.close();
    await d?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async (
    method: string,
    url: string,
    body?: unknown,
    bearer = key,
    extra: Record<string, string> = {},
  ) => {
    const res = await running.api.inject({
      method: method as 'GET',
      url,
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...extra,
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> };
  };
  const rpc = async (method: string, params: unknown[]) => {
    const { readFileSync } = await import('node:fs');
    const cookie = readFileSync(join(dir, 'devnet.cookie'), 'utf8');
    const res = await fetch(running.devnetUrl as string, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(cookie).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    const json = (await res.json()) as { result?: unknown; error?: unknown };
    if (json.error !== undefined && json.error !== null)
      throw new Error(JSON.stringify(json.error));
    return json.result;
  };
  const until = async (what: string, check: () => Promise<boolean>, ms = 30_000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  it('credits a deposit and pays a withdrawal signed by two devices, exactly once, reconciled', async () => {
    const miner = (await rpc('getnewaddress', [])) as string;
    await rpc('generatetoaddress', [101, miner]);
    const addr = await api('POST', '/v1/deposit-addresses', { userId: 'alice' });
    expect(addr.status).toBe(201);
    await rpc('sendtoaddress', [addr.body.address, 0.5]);
    await rpc('generatetoaddress', [3, miner]); // deposits are spendable at 3 confirmations
    await until('the deposit to be credited', async () => {
      const b = await api('GET', '/v1/users/alice/balances');
      return JSON.stringify(b.body).includes('"available":"50000000"');
    });

    const dest = (await rpc('getnewaddress', [])) as string;
    const body = {
      userId: 'alice',
      address: dest,
      amount: '1000000',
      flags: { newDevice: false },
    };
    const w = await api('POST', '/v1/withdrawals', body, key, { 'idempotency-key': 'w-1' });
    expect(w.status).toBe(201);
    const id = w.body.id as string;
    await until(
      'the withdrawal to be broadcast',
      async () => (await api('GET', `/v1/withdrawals/${id}`)).body.state === 'broadcast',
    );
    const txid = (await api('GET', `/v1/withdrawals/${id}`)).body.txid as string;
    expect(((await rpc('getrawmempool', [])) as string[]).includes(txid)).toBe(true);
    await rpc('generatetoaddress', [1, miner]);
    await until(
      'the withdrawal to be confirmed',
      async () => (await api('GET', `/v1/withdrawals/${id}`)).body.state === 'confirmed',
    );

    const again = await api('POST', '/v1/withdrawals', body, key, { 'idempotency-key': 'w-1' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(id);
    const balances = await api('GET', '/v1/users/alice/balances');
    expect(JSON.stringify(balances.body)).toContain('"available":"49000000"');
    const rec = await api('GET', '/v1/reconciliation', undefined, admin);
    expect(rec.body.ok).toBe(true);
    const devicesView = await api('GET', '/v1/devices', undefined, admin);
    expect(JSON.stringify(devicesView.body)).toContain('signer-a');
  });
});

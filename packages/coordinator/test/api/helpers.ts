/**
 * Shared setup of the API tests: an in-memory key store (the same hashing as storage), one key
 * per role plus a revoked one, the fake service, and `call` around fastify.inject.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { ApiKeyStore } from '../../src/api/auth.js';
import { type ApiOptions, buildApi } from '../../src/api/server.js';
import { CoordinatorError } from '../../src/errors.js';
import { type ApiKeyRecord, generateApiKey } from '../../src/storage/api-keys.js';
import type { ApiKeyRole } from '../../src/storage/schema-api.js';
import { FakeService } from './fake-service.js';

export class MemoryKeyStore implements ApiKeyStore {
  private readonly byHash = new Map<string, ApiKeyRecord>();
  private readonly byId = new Map<bigint, { hash: string; record: ApiKeyRecord }>();
  private next = 1n;
  lookups = 0;

  async lookup(hash: Uint8Array) {
    this.lookups++;
    return this.byHash.get(bytesToHex(hash));
  }
  async create(input: { name: string; role: ApiKeyRole }) {
    const { secret, hash } = generateApiKey();
    const record: ApiKeyRecord = Object.freeze({
      id: this.next++,
      name: input.name,
      role: input.role,
      createdAt: 1_700_000_000_000n,
      revokedAt: null,
    });
    const h = bytesToHex(hash);
    this.byHash.set(h, record);
    this.byId.set(record.id, { hash: h, record });
    return { record, secret };
  }
  async list() {
    return [...this.byId.values()].map((x) => x.record);
  }
  async revoke(id: bigint) {
    const e = this.byId.get(id);
    if (e === undefined)
      throw new CoordinatorError('NOT_FOUND', `apiKeys/revoke: expected API key ${id}, got none`);
    if (e.record.revokedAt !== null) return e.record;
    const record = Object.freeze({ ...e.record, revokedAt: 1_700_000_000_001n });
    this.byHash.set(e.hash, record);
    this.byId.set(id, { hash: e.hash, record });
    return record;
  }
}

export interface Setup {
  readonly app: FastifyInstance;
  readonly service: FakeService;
  readonly store: MemoryKeyStore;
  readonly keys: Readonly<Record<ApiKeyRole | 'revoked', string>>;
}

export async function setup(
  over: Partial<Omit<ApiOptions, 'service' | 'keys'>> = {},
): Promise<Setup> {
  const service = new FakeService();
  const store = new MemoryKeyStore();
  const exchange = (await store.create({ name: 'exchange-backend', role: 'exchange' })).secret;
  const operator = (await store.create({ name: 'alice-ops', role: 'operator' })).secret;
  const admin = (await store.create({ name: 'root-admin', role: 'admin' })).secret;
  const revokedKey = await store.create({ name: 'old-exchange', role: 'exchange' });
  await store.revoke(revokedKey.record.id);
  const app = buildApi({
    service,
    keys: store,
    logger: false,
    limits: { rateLimit: false },
    ...over,
  });
  await app.ready();
  return { app, service, store, keys: { exchange, operator, admin, revoked: revokedKey.secret } };
}

export interface CallOptions {
  readonly key?: string;
  readonly body?: unknown;
  /** Sent as is (with content-type application/json unless headers say otherwise). */
  readonly raw?: string;
  readonly headers?: Record<string, string>;
}

export function call(
  app: FastifyInstance,
  method: 'GET' | 'POST',
  url: string,
  opts: CallOptions = {},
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
  let payload: string | undefined;
  if (opts.raw !== undefined) payload = opts.raw;
  else if (opts.body !== undefined) payload = JSON.stringify(opts.body);
  if (payload !== undefined && headers['content-type'] === undefined) {
    headers['content-type'] = 'application/json';
  }
  return app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
}

export const ADDRESS = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';

export const withdrawalBody = (over: Record<string, unknown> = {}) => ({
  userId: 'u1',
  address: ADDRESS,
  amount: '150000',
  flags: { newDevice: false },
  ...over,
});

/** The JSON error body, checked for shape. */
export function errorOf(res: LightMyRequestResponse): {
  code: string;
  message: string;
  requestId: string;
} {
  const body = res.json() as { error?: { code: string; message: string; requestId: string } };
  if (body.error === undefined) throw new Error(`expected an error body, got ${res.body}`);
  return body.error;
}

export interface Sample {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

const TXID = 'ab'.repeat(32);

/** One valid request per route id (the auth tests check every route in ROUTES has one). */
export const SAMPLES: Readonly<Record<string, Sample>> = Object.freeze({
  createDepositAddress: { method: 'POST', url: '/v1/deposit-addresses', body: { userId: 'u1' } },
  submitWithdrawal: {
    method: 'POST',
    url: '/v1/withdrawals',
    body: withdrawalBody(),
    headers: { 'idempotency-key': 'sample-key-1' },
  },
  getWithdrawal: { method: 'GET', url: '/v1/withdrawals/wd-held' },
  listWithdrawals: { method: 'GET', url: '/v1/withdrawals?userId=u1&limit=10' },
  listDeposits: { method: 'GET', url: '/v1/deposits?state=delayed' },
  getBalances: { method: 'GET', url: '/v1/users/u1/balances' },
  getReviewQueue: { method: 'GET', url: '/v1/review-queue' },
  approveWithdrawal: {
    method: 'POST',
    url: '/v1/withdrawals/wd-held/approve',
    body: { note: 'ok' },
  },
  rejectWithdrawal: { method: 'POST', url: '/v1/withdrawals/wd-held/reject', body: { note: 'no' } },
  clearDeposit: { method: 'POST', url: `/v1/deposits/${TXID}/0/clear`, body: { note: 'checked' } },
  pause: { method: 'POST', url: '/v1/pause', body: { reason: 'incident 42' } },
  resume: { method: 'POST', url: '/v1/resume' },
  getStatus: { method: 'GET', url: '/v1/status' },
  listDevices: { method: 'GET', url: '/v1/devices' },
  activateDevice: {
    method: 'POST',
    url: '/v1/devices/signer-b/activate',
    body: {
      deviceId: 'signer-b',
      challenge: 'ab'.repeat(32),
      bootNonce: 'cd'.repeat(32),
      expiresAt: 1_800_000_600,
      holderKeyId: 'holder-2',
      signature: 'ef'.repeat(64),
    },
  },
  getReconciliation: { method: 'GET', url: '/v1/reconciliation' },
  listApiKeys: { method: 'GET', url: '/v1/api-keys' },
  createApiKey: {
    method: 'POST',
    url: '/v1/api-keys',
    body: { name: 'new-key', role: 'exchange' },
  },
  revokeApiKey: { method: 'POST', url: '/v1/api-keys/4/revoke' },
});

export const sampleCall = (app: FastifyInstance, s: Sample, key?: string) =>
  call(app, s.method, s.url, {
    ...(key === undefined ? {} : { key }),
    ...(s.body === undefined ? {} : { body: s.body }),
    ...(s.headers === undefined ? {} : { headers: s.headers }),
  });

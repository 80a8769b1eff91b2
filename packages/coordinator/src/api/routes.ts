/**
 * The API's route table. Each handler validates nothing itself (route.ts parsed its inputs with
 * the schemas named here), calls exactly one service method, and converts the answer to JSON.
 * Roles: `exchange` for the exchange backend's calls, `operator` for operations and every read,
 * `admin` for everything (roles() always adds it) and key management alone.
 */
import { actor, roles } from './auth.js';
import { defineRoute, type Route } from './route.js';
import {
  activateDeviceBody,
  apiKeyParams,
  createApiKeyBody,
  DEFAULT_PAGE,
  depositAddressBody,
  depositListQuery,
  depositParams,
  deviceParams,
  noteBody,
  pauseBody,
  resumeBody,
  submitWithdrawalBody,
  userParams,
  withdrawalListQuery,
  withdrawalParams,
} from './schemas.js';
import {
  apiKeyJson,
  apiKeyListResponse,
  apiKeyResponse,
  balancesResponse,
  createdApiKeyResponse,
  depositAddressResponse,
  depositJson,
  depositPageResponse,
  depositResponse,
  deviceJson,
  deviceResponse,
  devicesJson,
  devicesResponse,
  reconciliationJson,
  reconciliationResponse,
  reviewQueueResponse,
  statusJson,
  statusResponse,
  withdrawalJson,
  withdrawalPageResponse,
  withdrawalResponse,
} from './views.js';

const EXCHANGE = roles('exchange');
const OPERATOR = roles('operator');
const READERS = roles('exchange', 'operator');
const ADMIN = roles('admin');

const ok = (body: unknown) => ({ status: 200, body });
const one = <T>(description: string, schema: T) => ({ 200: { description, schema } });

/** Only the id is safe in a Location header; the schema allows any printable ASCII. */
const location = (id: string) => `/v1/withdrawals/${encodeURIComponent(id)}`;

const exchangeRoutes: readonly Route[] = [
  defineRoute({
    id: 'createDepositAddress',
    method: 'POST',
    url: '/v1/deposit-addresses',
    summary: 'Derive a fresh deposit address for a user',
    access: EXCHANGE,
    body: depositAddressBody,
    responses: { 201: { description: 'the new address', schema: depositAddressResponse } },
    handle: async ({ service }, { body }) => {
      const a = await service.createDepositAddress(body.userId);
      return { status: 201, body: { userId: a.userId, address: a.address, index: a.index } };
    },
  }),
  defineRoute({
    id: 'submitWithdrawal',
    method: 'POST',
    url: '/v1/withdrawals',
    summary:
      'Submit a withdrawal; idempotent by (userId, Idempotency-Key): a replay returns the same withdrawal (200), other content with the same key is DUPLICATE (409)',
    access: EXCHANGE,
    body: submitWithdrawalBody,
    idempotencyKey: true,
    responses: {
      201: { description: 'created', schema: withdrawalResponse },
      200: {
        description: 'a replay: the withdrawal created by the first request',
        schema: withdrawalResponse,
      },
    },
    errors: [409, 422, 423],
    handle: async ({ service }, { body, idempotencyKey }) => {
      const { withdrawal, created } = await service.submitWithdrawal({
        userId: body.userId,
        idempotencyKey,
        address: body.address,
        amount: body.amount,
        flags: {
          newDevice: body.flags.newDevice,
          ...(body.flags.passwordChangedAt === undefined
            ? {}
            : { passwordChangedAt: body.flags.passwordChangedAt }),
          ...(body.flags.twoFactorChangedAt === undefined
            ? {}
            : { twoFactorChangedAt: body.flags.twoFactorChangedAt }),
        },
      });
      const headers: Record<string, string> = created
        ? { location: location(withdrawal.id) }
        : { 'idempotent-replayed': 'true' };
      return { status: created ? 201 : 200, body: withdrawalJson(withdrawal), headers };
    },
  }),
  defineRoute({
    id: 'getWithdrawal',
    method: 'GET',
    url: '/v1/withdrawals/:id',
    summary: 'Read a withdrawal',
    access: READERS,
    params: withdrawalParams,
    responses: one('the withdrawal', withdrawalResponse),
    errors: [404],
    handle: async ({ service }, { params }) =>
      ok(withdrawalJson(await service.getWithdrawal(params.id))),
  }),
  defineRoute({
    id: 'listWithdrawals',
    method: 'GET',
    url: '/v1/withdrawals',
    summary: 'List withdrawals, optionally of one user or in one state, a page at a time',
    access: READERS,
    query: withdrawalListQuery,
    responses: one('a page of withdrawals', withdrawalPageResponse),
    handle: async ({ service }, { query }) => {
      const page = await service.listWithdrawals({
        limit: query.limit ?? DEFAULT_PAGE,
        ...(query.userId === undefined ? {} : { userId: query.userId }),
        ...(query.state === undefined ? {} : { state: query.state }),
        ...(query.after === undefined ? {} : { after: query.after }),
      });
      return ok({ items: page.items.map(withdrawalJson), next: page.next });
    },
  }),
  defineRoute({
    id: 'listDeposits',
    method: 'GET',
    url: '/v1/deposits',
    summary: 'List deposits, optionally of one user or in one state, a page at a time',
    access: READERS,
    query: depositListQuery,
    responses: one('a page of deposits', depositPageResponse),
    handle: async ({ service }, { query }) => {
      const page = await service.listDeposits({
        limit: query.limit ?? DEFAULT_PAGE,
        ...(query.userId === undefined ? {} : { userId: query.userId }),
        ...(query.state === undefined ? {} : { state: query.state }),
        ...(query.after === undefined ? {} : { after: query.after }),
      });
      return ok({ items: page.items.map(depositJson), next: page.next });
    },
  }),
  defineRoute({
    id: 'getBalances',
    method: 'GET',
    url: '/v1/users/:userId/balances',
    summary: "A user's available balance and pending withdrawals, per asset",
    access: READERS,
    params: userParams,
    responses: one('the balances', balancesResponse),
    handle: async ({ service }, { params }) => {
      const list = await service.balances(params.userId);
      return ok({
        userId: params.userId,
        balances: list.map((b) => ({
          asset: b.asset,
          available: b.available.toString(),
          pendingWithdrawals: b.pendingWithdrawals.toString(),
        })),
      });
    },
  }),
];

const operatorRoutes: readonly Route[] = [
  defineRoute({
    id: 'getReviewQueue',
    method: 'GET',
    url: '/v1/review-queue',
    summary: 'Held and refused withdrawals and delayed deposits, oldest first',
    access: OPERATOR,
    responses: one('the queue', reviewQueueResponse),
    handle: async ({ service }) => {
      const q = await service.reviewQueue();
      return ok({
        withdrawals: q.withdrawals.map(withdrawalJson),
        deposits: q.deposits.map(depositJson),
      });
    },
  }),
  defineRoute({
    id: 'approveWithdrawal',
    method: 'POST',
    url: '/v1/withdrawals/:id/approve',
    summary: 'Approve a held withdrawal (attributed to the calling key)',
    access: OPERATOR,
    params: withdrawalParams,
    body: noteBody,
    responses: one('the withdrawal after the step', withdrawalResponse),
    errors: [404, 409],
    handle: async ({ service, principal }, { params, body }) =>
      ok(withdrawalJson(await service.approveWithdrawal(params.id, actor(principal), body.note))),
  }),
  defineRoute({
    id: 'rejectWithdrawal',
    method: 'POST',
    url: '/v1/withdrawals/:id/reject',
    summary: 'Reject a held withdrawal (attributed to the calling key)',
    access: OPERATOR,
    params: withdrawalParams,
    body: noteBody,
    responses: one('the withdrawal after the step', withdrawalResponse),
    errors: [404, 409],
    handle: async ({ service, principal }, { params, body }) =>
      ok(withdrawalJson(await service.rejectWithdrawal(params.id, actor(principal), body.note))),
  }),
  defineRoute({
    id: 'clearDeposit',
    method: 'POST',
    url: '/v1/deposits/:txid/:vout/clear',
    summary: 'Clear a delayed deposit for crediting (attributed to the calling key)',
    access: OPERATOR,
    params: depositParams,
    body: noteBody,
    responses: one('the deposit after the step', depositResponse),
    errors: [404, 409],
    handle: async ({ service, principal }, { params, body }) =>
      ok(
        depositJson(
          await service.clearDeposit(params.txid, params.vout, actor(principal), body.note),
        ),
      ),
  }),
  defineRoute({
    id: 'pause',
    method: 'POST',
    url: '/v1/pause',
    summary: 'Pause withdrawals (and forward a signed pause to the devices when given)',
    access: OPERATOR,
    body: pauseBody,
    responses: one('the status after pausing', statusResponse),
    handle: async ({ service, principal }, { body }) =>
      ok(statusJson(await service.pause(actor(principal), body.reason, body.signedPause))),
  }),
  defineRoute({
    id: 'resume',
    method: 'POST',
    url: '/v1/resume',
    summary: 'Resume withdrawals',
    access: OPERATOR,
    body: resumeBody,
    responses: one('the status after resuming', statusResponse),
    errors: [409],
    handle: async ({ service, principal }) =>
      ok(statusJson(await service.resume(actor(principal)))),
  }),
  defineRoute({
    id: 'getStatus',
    method: 'GET',
    url: '/v1/status',
    summary: 'Pause switch, chain tip and network',
    access: OPERATOR,
    responses: one('the status', statusResponse),
    handle: async ({ service }) => ok(statusJson(await service.status())),
  }),
  defineRoute({
    id: 'listDevices',
    method: 'GET',
    url: '/v1/devices',
    summary: 'The signer devices and their last reported state',
    access: OPERATOR,
    responses: one('the devices', devicesResponse),
    handle: async ({ service }) => ok(devicesJson(await service.devices())),
  }),
  defineRoute({
    id: 'activateDevice',
    method: 'POST',
    url: '/v1/devices/:id/activate',
    summary: "Forward a second holder's signed activation to a device (after it restarted)",
    access: OPERATOR,
    params: deviceParams,
    body: activateDeviceBody,
    responses: one('the device after activation', deviceResponse),
    errors: [404, 422],
    handle: async ({ service }, { params, body }) =>
      ok(deviceJson(await service.activateDevice(params.id, body))),
  }),
  defineRoute({
    id: 'getReconciliation',
    method: 'GET',
    url: '/v1/reconciliation',
    summary: 'Hot wallet per the ledger against the chain',
    access: OPERATOR,
    responses: one('the report', reconciliationResponse),
    handle: async ({ service }) => ok(reconciliationJson(await service.reconciliation())),
  }),
];

const adminRoutes: readonly Route[] = [
  defineRoute({
    id: 'listApiKeys',
    method: 'GET',
    url: '/v1/api-keys',
    summary: 'Every API key, valid or revoked (never a secret or a hash)',
    access: ADMIN,
    responses: one('the keys', apiKeyListResponse),
    handle: async ({ keys }) => ok({ keys: (await keys.list()).map(apiKeyJson) }),
  }),
  defineRoute({
    id: 'createApiKey',
    method: 'POST',
    url: '/v1/api-keys',
    summary: 'Create an API key; its secret is in this response only',
    access: ADMIN,
    body: createApiKeyBody,
    responses: { 201: { description: 'the key and its secret', schema: createdApiKeyResponse } },
    handle: async ({ keys }, { body }) => {
      const created = await keys.create({ name: body.name, role: body.role });
      return { status: 201, body: { key: apiKeyJson(created.record), secret: created.secret } };
    },
  }),
  defineRoute({
    id: 'revokeApiKey',
    method: 'POST',
    url: '/v1/api-keys/:id/revoke',
    summary: 'Revoke an API key at once (idempotent)',
    access: ADMIN,
    params: apiKeyParams,
    responses: one('the key, revoked', apiKeyResponse),
    errors: [404],
    handle: async ({ keys }, { params }) => ok(apiKeyJson(await keys.revoke(params.id))),
  }),
];

export const ROUTES: readonly Route[] = Object.freeze([
  ...exchangeRoutes,
  ...operatorRoutes,
  ...adminRoutes,
]);

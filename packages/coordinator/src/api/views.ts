/**
 * The API's response shapes: one zod schema per JSON body (for /openapi.json and for the tests
 * that check every response against it) and one converter per service view. Amounts leave as
 * decimal strings of satoshis; times as Unix milliseconds; ids of keys as decimal strings.
 */
import { z } from 'zod';
import type {
  DepositState,
  DepositView,
  DeviceView,
  ReconciliationView,
  ServiceStatus,
  WithdrawalState,
  WithdrawalView,
} from '../service/contract.js';
import type { ApiKeyRecord } from '../storage/api-keys.js';
import { API_KEY_ROLES } from '../storage/schema-api.js';
import { DEPOSIT_STATES, WITHDRAWAL_STATES } from './schemas.js';

// The state lists in schemas.ts and the unions in the service contract must be the same sets.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const statesMatch: [
  Same<WithdrawalState, (typeof WITHDRAWAL_STATES)[number]>,
  Same<DepositState, (typeof DEPOSIT_STATES)[number]>,
] = [true, true];
void statesMatch;

const sats = z
  .string()
  .regex(/^-?[0-9]+$/)
  .meta({ description: 'satoshis, decimal string' });
const timeMs = z.number().int().meta({ description: 'Unix milliseconds' });

export const errorResponse = z.strictObject({
  error: z.strictObject({
    code: z.string().meta({ description: 'stable code, see docs/api.md §Errors' }),
    message: z.string().meta({ description: 'where it failed, what was expected, what came' }),
    requestId: z.string().meta({ description: 'the x-request-id of this request' }),
  }),
});

export const withdrawalResponse = z.strictObject({
  id: z.string(),
  userId: z.string(),
  asset: z.string(),
  address: z.string(),
  scriptPubKey: z.string().meta({ description: 'lowercase hex' }),
  amount: sats,
  state: z.enum(WITHDRAWAL_STATES),
  history: z.array(z.strictObject({ state: z.string(), at: timeMs })),
  risk: z.strictObject({
    outcome: z.enum(['approve', 'hold', 'reject']).nullable(),
    reasons: z.array(z.string()),
  }),
  txid: z.string().nullable(),
  deviceReport: z
    .strictObject({
      deviceId: z.string(),
      code: z.number().int(),
      name: z.string(),
      reason: z.string().nullable(),
      rule: z.string().nullable(),
      message: z.string(),
      at: timeMs,
    })
    .nullable(),
  createdAt: timeMs,
  updatedAt: timeMs,
});
export type WithdrawalJson = z.infer<typeof withdrawalResponse>;

export const depositResponse = z.strictObject({
  txid: z.string(),
  vout: z.number().int(),
  userId: z.string(),
  address: z.string(),
  amount: sats,
  confirmations: z.number().int(),
  state: z.enum(DEPOSIT_STATES),
  reasons: z.array(z.string()),
  createdAt: timeMs,
});
export type DepositJson = z.infer<typeof depositResponse>;

const page = <T extends z.ZodType>(item: T) =>
  z.strictObject({
    items: z.array(item),
    next: z.string().nullable().meta({ description: 'pass as `after` for the next page' }),
  });
export const withdrawalPageResponse = page(withdrawalResponse);
export const depositPageResponse = page(depositResponse);

export const depositAddressResponse = z.strictObject({
  userId: z.string(),
  address: z.string(),
  index: z.number().int(),
});

export const balancesResponse = z.strictObject({
  userId: z.string(),
  balances: z.array(
    z.strictObject({ asset: z.string(), available: sats, pendingWithdrawals: sats }),
  ),
});

export const reviewQueueResponse = z.strictObject({
  withdrawals: z.array(withdrawalResponse),
  deposits: z.array(depositResponse),
});

export const statusResponse = z.strictObject({
  paused: z.boolean(),
  pauseReason: z.string().nullable(),
  chainTip: z.number().int().nullable(),
  network: z.string(),
});

export const deviceResponse = z.strictObject({
  deviceId: z.string(),
  serialPath: z.string(),
  state: z.string(),
  lastSeen: timeMs.nullable(),
  policyVersion: z.number().int().nullable(),
  fingerprint: z.string(),
});

export const devicesResponse = z.strictObject({ devices: z.array(deviceResponse) });

export const reconciliationResponse = z.strictObject({
  ok: z.boolean(),
  ledgerHotWallet: sats,
  chainHotWallet: sats,
  differences: z.array(z.strictObject({ what: z.string(), detail: z.string() })),
});

export const apiKeyResponse = z.strictObject({
  id: z.string(),
  name: z.string(),
  role: z.enum(API_KEY_ROLES),
  createdAt: timeMs,
  revokedAt: timeMs.nullable(),
});
export const apiKeyListResponse = z.strictObject({ keys: z.array(apiKeyResponse) });
export const createdApiKeyResponse = z.strictObject({
  key: apiKeyResponse,
  secret: z
    .string()
    .meta({ description: 'the key, `kl_...`: shown once, never stored, never shown again' }),
});

export const healthResponse = z.strictObject({ status: z.literal('ok') });

// ---- converters ----------------------------------------------------------------------------

export function withdrawalJson(w: WithdrawalView): WithdrawalJson {
  return {
    id: w.id,
    userId: w.userId,
    asset: w.asset,
    address: w.address,
    scriptPubKey: w.scriptPubKey,
    amount: w.amount.toString(),
    state: w.state,
    history: w.history.map((h) => ({ state: h.state, at: h.at })),
    risk: { outcome: w.risk.outcome, reasons: [...w.risk.reasons] },
    txid: w.txid,
    deviceReport: w.deviceReport === null ? null : { ...w.deviceReport },
    createdAt: w.createdAt,
    updatedAt: w.updatedAt,
  };
}

export function depositJson(d: DepositView): DepositJson {
  return {
    txid: d.txid,
    vout: d.vout,
    userId: d.userId,
    address: d.address,
    amount: d.amount.toString(),
    confirmations: d.confirmations,
    state: d.state,
    reasons: [...d.reasons],
    createdAt: d.createdAt,
  };
}

export function statusJson(s: ServiceStatus): z.infer<typeof statusResponse> {
  return {
    paused: s.paused,
    pauseReason: s.pauseReason,
    chainTip: s.chainTip,
    network: s.network,
  };
}

export function deviceJson(d: DeviceView): z.infer<typeof deviceResponse> {
  return {
    deviceId: d.deviceId,
    serialPath: d.serialPath,
    state: d.state,
    lastSeen: d.lastSeen,
    policyVersion: d.policyVersion,
    fingerprint: d.fingerprint,
  };
}

export function devicesJson(list: readonly DeviceView[]): z.infer<typeof devicesResponse> {
  return { devices: list.map(deviceJson) };
}

export function reconciliationJson(r: ReconciliationView): z.infer<typeof reconciliationResponse> {
  return {
    ok: r.ok,
    ledgerHotWallet: r.ledgerHotWallet.toString(),
    chainHotWallet: r.chainHotWallet.toString(),
    differences: r.differences.map((d) => ({ what: d.what, detail: d.detail })),
  };
}

export function apiKeyJson(k: ApiKeyRecord): z.infer<typeof apiKeyResponse> {
  return {
    id: k.id.toString(),
    name: k.name,
    role: k.role,
    createdAt: Number(k.createdAt),
    revokedAt: k.revokedAt === null ? null : Number(k.revokedAt),
  };
}

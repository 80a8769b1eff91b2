/**
 * The coordinator's HTTP API as the exchange backend and an operator use it (coordinator
 * docs/api.md): bearer API keys, amounts as decimal strings of satoshis, every answer parsed with
 * a zod schema of the fields the demo reads (extra fields are allowed: the demo must not break
 * when the API grows).
 */
import { z } from './deps.js';
import { DemoError } from './wait.js';

const sats = z
  .string()
  .regex(/^-?[0-9]+$/)
  .transform((s) => BigInt(s));

export const withdrawalSchema = z.object({
  id: z.string(),
  userId: z.string(),
  address: z.string(),
  amount: sats,
  state: z.string(),
  risk: z.object({ outcome: z.string().nullable(), reasons: z.array(z.string()) }),
  txid: z.string().nullable(),
  deviceReport: z
    .object({
      deviceId: z.string(),
      code: z.number().int(),
      name: z.string(),
      reason: z.string().nullable(),
      message: z.string(),
    })
    .nullable(),
});
export type Withdrawal = z.infer<typeof withdrawalSchema>;

export const depositSchema = z.object({
  txid: z.string().regex(/^[0-9a-f]{64}$/),
  vout: z.number().int(),
  userId: z.string(),
  amount: sats,
  confirmations: z.number().int(),
  state: z.string(),
  reasons: z.array(z.string()),
});
export type Deposit = z.infer<typeof depositSchema>;

const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), next: z.string().nullable() });

const reconciliationSchema = z.object({
  ok: z.boolean(),
  ledgerHotWallet: sats,
  chainHotWallet: sats,
  differences: z.array(z.object({ what: z.string(), detail: z.string() })),
});
export type Reconciliation = z.infer<typeof reconciliationSchema>;

const devicesSchema = z.object({
  devices: z.array(
    z.object({
      deviceId: z.string(),
      state: z.string(),
      policyVersion: z.number().int().nullable(),
    }),
  ),
});

const balancesSchema = z.object({
  balances: z.array(z.object({ asset: z.string(), available: sats, pendingWithdrawals: sats })),
});

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly exchangeKey: string,
    private readonly operatorKey: string,
  ) {}

  async #call<T>(
    role: 'exchange' | 'operator',
    method: 'GET' | 'POST',
    path: string,
    schema: z.ZodType<T>,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const key = role === 'exchange' ? this.exchangeKey : this.operatorKey;
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) {
      throw new DemoError(
        `demo/api: expected ${method} ${path} to succeed, got HTTP ${res.status} ${text.slice(0, 400)}`,
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new DemoError(
        `demo/api: expected JSON from ${method} ${path}, got ${text.slice(0, 200)}`,
      );
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      throw new DemoError(
        `demo/api: expected ${method} ${path}'s documented answer, got issues ${parsed.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.join('.')}: ${i.message}`)
          .join('; ')}`,
      );
    }
    return parsed.data;
  }

  async healthy(): Promise<boolean> {
    const res = await fetch(new URL('/healthz', this.baseUrl), {
      signal: AbortSignal.timeout(5_000),
    });
    return res.ok;
  }

  depositAddress(userId: string) {
    return this.#call(
      'exchange',
      'POST',
      '/v1/deposit-addresses',
      z.object({ userId: z.string(), address: z.string(), index: z.number().int() }),
      { userId },
    );
  }

  submitWithdrawal(w: { userId: string; address: string; amount: bigint; key: string }) {
    return this.#call(
      'exchange',
      'POST',
      '/v1/withdrawals',
      withdrawalSchema,
      {
        userId: w.userId,
        address: w.address,
        amount: w.amount.toString(),
        flags: { newDevice: false },
      },
      { 'idempotency-key': w.key },
    );
  }

  withdrawal(id: string) {
    return this.#call(
      'exchange',
      'GET',
      `/v1/withdrawals/${encodeURIComponent(id)}`,
      withdrawalSchema,
    );
  }

  /** Every deposit (follows the pages). */
  async deposits(): Promise<Deposit[]> {
    const out: Deposit[] = [];
    let after: string | null = null;
    do {
      const q: string = after === null ? '' : `&after=${encodeURIComponent(after)}`;
      const p = await this.#call(
        'operator',
        'GET',
        `/v1/deposits?limit=500${q}`,
        page(depositSchema),
      );
      out.push(...p.items);
      after = p.next;
    } while (after !== null);
    return out;
  }

  /** Every withdrawal, or every one of `userId` (follows the pages). */
  async withdrawals(userId?: string): Promise<Withdrawal[]> {
    const who = userId === undefined ? '' : `&userId=${encodeURIComponent(userId)}`;
    const out: Withdrawal[] = [];
    let after: string | null = null;
    do {
      const q: string = after === null ? '' : `&after=${encodeURIComponent(after)}`;
      const p = await this.#call(
        'operator',
        'GET',
        `/v1/withdrawals?limit=500${who}${q}`,
        page(withdrawalSchema),
      );
      out.push(...p.items);
      after = p.next;
    } while (after !== null);
    return out;
  }

  balances(userId: string) {
    return this.#call(
      'exchange',
      'GET',
      `/v1/users/${encodeURIComponent(userId)}/balances`,
      balancesSchema,
    );
  }

  reviewQueue() {
    return this.#call(
      'operator',
      'GET',
      '/v1/review-queue',
      z.object({ withdrawals: z.array(withdrawalSchema), deposits: z.array(depositSchema) }),
    );
  }

  clearDeposit(txid: string, vout: number, note: string) {
    return this.#call('operator', 'POST', `/v1/deposits/${txid}/${vout}/clear`, depositSchema, {
      note,
    });
  }

  devices() {
    return this.#call('operator', 'GET', '/v1/devices', devicesSchema);
  }

  reconciliation() {
    return this.#call('operator', 'GET', '/v1/reconciliation', reconciliationSchema);
  }
}

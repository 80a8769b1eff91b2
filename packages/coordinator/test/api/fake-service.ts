/**
 * An in-memory CoordinatorService for the API tests: the contract's behaviour (idempotent submit
 * by (userId, key), DUPLICATE on other content, NOT_FOUND, INVALID_TRANSITION, PAUSED) without a
 * database. It records every call and counts the writes it made, so that a test can show a bad
 * request wrote nothing. `failNext` makes the next call throw a given error.
 */
import { CoordinatorError } from '../../src/errors.js';
import type {
  CoordinatorService,
  DepositView,
  DeviceView,
  ReconciliationView,
  ServiceStatus,
  SignedActivation,
  SubmitWithdrawalInput,
  WithdrawalState,
  WithdrawalView,
} from '../../src/service/contract.js';

export interface Call {
  readonly method: string;
  readonly args: readonly unknown[];
}

const NOW = 1_700_000_000_000;

export class FakeService implements CoordinatorService {
  readonly calls: Call[] = [];
  /** Successful state changes (withdrawals created, steps taken, pause switches, addresses). */
  writes = 0;
  readonly withdrawals = new Map<
    string,
    WithdrawalView & { flags: SubmitWithdrawalInput['flags'] }
  >();
  readonly byKey = new Map<string, string>();
  readonly deposits: DepositView[] = [];
  readonly activations: { deviceId: string; activation: SignedActivation }[] = [];
  devicesList: DeviceView[] = [
    {
      deviceId: 'signer-a',
      serialPath: '/dev/ttyA',
      state: 'armed',
      lastSeen: NOW,
      policyVersion: 3,
      fingerprint: '0a1b2c3d',
    },
    {
      deviceId: 'signer-b',
      serialPath: '/dev/ttyB',
      state: 'offline',
      lastSeen: null,
      policyVersion: null,
      fingerprint: '4e5f6071',
    },
  ];
  hotWallet = 1_234_567_890n;
  paused: { reason: string } | null = null;
  nextIndex = 0;
  private nextId = 1;
  private failure: unknown = undefined;
  /** A promise each call awaits first (to hold requests in flight). */
  gate: Promise<void> | null = null;

  failNext(err: unknown): void {
    this.failure = err;
  }

  private async enter(method: string, ...args: unknown[]): Promise<void> {
    this.calls.push({ method, args });
    if (this.gate !== null) await this.gate;
    if (this.failure !== undefined) {
      const e = this.failure;
      this.failure = undefined;
      throw e;
    }
  }

  seedWithdrawal(
    over: Partial<WithdrawalView> = {},
  ): WithdrawalView & { flags: { newDevice: boolean } } {
    const id = over.id ?? `wd-${this.nextId++}`;
    const w = {
      id,
      userId: 'u1',
      asset: 'BTC',
      address: 'bcrt1qexampleaddress0000000000000000000000',
      scriptPubKey: '0014'.padEnd(44, 'a'),
      amount: 50_000n,
      state: 'held' as WithdrawalState,
      history: [{ state: 'requested', at: NOW }],
      risk: { outcome: 'hold' as const, reasons: ['LARGE_AMOUNT'] },
      txid: null,
      deviceReport: null,
      createdAt: NOW,
      updatedAt: NOW,
      ...over,
      flags: { newDevice: false },
    };
    this.withdrawals.set(id, w);
    return w;
  }

  seedDeposit(over: Partial<DepositView> = {}): DepositView {
    const d: DepositView = {
      txid: 'ab'.repeat(32),
      vout: 0,
      userId: 'u1',
      address: 'bcrt1qdeposit000000000000000000000000000000',
      amount: 70_000n,
      confirmations: 1,
      state: 'delayed',
      reasons: ['LARGE_AMOUNT'],
      createdAt: NOW,
      ...over,
    };
    this.deposits.push(d);
    return d;
  }

  async createDepositAddress(userId: string) {
    await this.enter('createDepositAddress', userId);
    this.writes++;
    const index = this.nextIndex++;
    return { userId, address: `bcrt1qfakeaddress${index.toString().padStart(24, '0')}`, index };
  }

  async submitWithdrawal(input: SubmitWithdrawalInput) {
    await this.enter('submitWithdrawal', input);
    const k = `${input.userId}\u0000${input.idempotencyKey}`;
    const existing = this.byKey.get(k);
    if (existing !== undefined) {
      const w = this.withdrawals.get(existing)!;
      if (w.amount !== input.amount || w.address !== input.address) {
        throw new CoordinatorError(
          'DUPLICATE',
          `withdrawals/submit: expected idempotency key '${input.idempotencyKey}' reused with the same request, got a different amount or address`,
        );
      }
      return { withdrawal: w, created: false };
    }
    if (this.paused !== null) {
      throw new CoordinatorError(
        'PAUSED',
        'withdrawals/submit: expected withdrawals running, got paused',
      );
    }
    const id = `wd-${this.nextId++}`;
    const w = {
      id,
      userId: input.userId,
      asset: 'BTC',
      address: input.address,
      scriptPubKey: '0014'.padEnd(44, 'b'),
      amount: input.amount,
      state: 'requested' as WithdrawalState,
      history: [{ state: 'requested', at: NOW }],
      risk: { outcome: null, reasons: [] },
      txid: null,
      deviceReport: null,
      createdAt: NOW,
      updatedAt: NOW,
      flags: input.flags,
    };
    this.withdrawals.set(id, w);
    this.byKey.set(k, id);
    this.writes++;
    return { withdrawal: w, created: true };
  }

  async getWithdrawal(id: string) {
    await this.enter('getWithdrawal', id);
    const w = this.withdrawals.get(id);
    if (w === undefined) {
      throw new CoordinatorError(
        'NOT_FOUND',
        `withdrawals/get: expected withdrawal '${id}', got none`,
      );
    }
    return w;
  }

  async listWithdrawals(q: {
    userId?: string;
    state?: WithdrawalState;
    limit: number;
    after?: string;
  }) {
    await this.enter('listWithdrawals', q);
    const all = [...this.withdrawals.values()].filter(
      (w) =>
        (q.userId === undefined || w.userId === q.userId) &&
        (q.state === undefined || w.state === q.state),
    );
    const start = q.after === undefined ? 0 : all.findIndex((w) => w.id === q.after) + 1;
    const items = all.slice(start, start + q.limit);
    const last = items[items.length - 1];
    return { items, next: start + q.limit < all.length && last !== undefined ? last.id : null };
  }

  async listDeposits(q: {
    userId?: string;
    state?: DepositView['state'];
    limit: number;
    after?: string;
  }) {
    await this.enter('listDeposits', q);
    const items = this.deposits
      .filter(
        (d) =>
          (q.userId === undefined || d.userId === q.userId) &&
          (q.state === undefined || d.state === q.state),
      )
      .slice(0, q.limit);
    return { items, next: null };
  }

  async balances(userId: string) {
    await this.enter('balances', userId);
    return [{ asset: 'BTC', available: 2_100_000_000_000_000n, pendingWithdrawals: 5n }];
  }

  async reviewQueue() {
    await this.enter('reviewQueue');
    return {
      withdrawals: [...this.withdrawals.values()].filter(
        (w) => w.state === 'held' || w.state === 'refused',
      ),
      deposits: this.deposits.filter((d) => d.state === 'delayed'),
    };
  }

  private async step(
    method: string,
    id: string,
    to: WithdrawalState,
    operator: string,
    note: string,
  ) {
    await this.enter(method, id, operator, note);
    const w = this.withdrawals.get(id);
    if (w === undefined)
      throw new CoordinatorError(
        'NOT_FOUND',
        `withdrawals/${method}: expected withdrawal '${id}', got none`,
      );
    if (w.state !== 'held') {
      throw new CoordinatorError(
        'INVALID_TRANSITION',
        `withdrawals/${method}: expected state held, got ${w.state}`,
      );
    }
    const next = {
      ...w,
      state: to,
      history: [...w.history, { state: to, at: NOW + 1 }],
      updatedAt: NOW + 1,
    };
    this.withdrawals.set(id, next);
    this.writes++;
    return next;
  }

  approveWithdrawal(id: string, operator: string, note: string) {
    return this.step('approveWithdrawal', id, 'approved', operator, note);
  }

  rejectWithdrawal(id: string, operator: string, note: string) {
    return this.step('rejectWithdrawal', id, 'rejected', operator, note);
  }

  async clearDeposit(txid: string, vout: number, operator: string, note: string) {
    await this.enter('clearDeposit', txid, vout, operator, note);
    const i = this.deposits.findIndex((d) => d.txid === txid && d.vout === vout);
    const d = this.deposits[i];
    if (d === undefined)
      throw new CoordinatorError('NOT_FOUND', `deposits/clear: expected ${txid}:${vout}, got none`);
    if (d.state !== 'delayed') {
      throw new CoordinatorError(
        'INVALID_TRANSITION',
        `deposits/clear: expected state delayed, got ${d.state}`,
      );
    }
    const next: DepositView = { ...d, state: 'pending' };
    this.deposits[i] = next;
    this.writes++;
    return next;
  }

  private statusNow(): ServiceStatus {
    return {
      paused: this.paused !== null,
      pauseReason: this.paused?.reason ?? null,
      chainTip: 812_345,
      network: 'regtest',
    };
  }

  async pause(operator: string, reason: string, signedPause?: Uint8Array) {
    await this.enter('pause', operator, reason, signedPause);
    this.paused = { reason };
    this.writes++;
    return this.statusNow();
  }

  async resume(operator: string) {
    await this.enter('resume', operator);
    if (this.paused === null) {
      throw new CoordinatorError(
        'INVALID_TRANSITION',
        'service/resume: expected paused, got running',
      );
    }
    this.paused = null;
    this.writes++;
    return this.statusNow();
  }

  async status() {
    await this.enter('status');
    return this.statusNow();
  }

  async devices() {
    await this.enter('devices');
    return this.devicesList;
  }

  async activateDevice(deviceId: string, activation: SignedActivation) {
    await this.enter('activateDevice');
    this.activations.push({ deviceId, activation });
    const d = this.devicesList.find((x) => x.deviceId === deviceId);
    if (d === undefined) {
      throw new CoordinatorError(
        'NOT_FOUND',
        `fake/activateDevice: expected device '${deviceId}', got none`,
      );
    }
    return { ...d, state: 'armed' };
  }

  async reconciliation(): Promise<ReconciliationView> {
    await this.enter('reconciliation');
    return {
      ok: false,
      ledgerHotWallet: 2_000_000n,
      chainHotWallet: 1_999_000n,
      differences: [{ what: 'hot_wallet', detail: 'chain is 1000 sat short' }],
    };
  }

  async withdrawalCountsByState() {
    await this.enter('withdrawalCountsByState');
    const counts: Record<string, number> = {};
    for (const w of this.withdrawals.values()) counts[w.state] = (counts[w.state] ?? 0) + 1;
    return counts;
  }

  async hotWalletBalance() {
    await this.enter('hotWalletBalance');
    return this.hotWallet;
  }
}

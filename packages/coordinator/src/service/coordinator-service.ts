/**
 * The CoordinatorService the HTTP API calls (service/contract.ts), joining intake, review, the
 * read models, deposit addresses, the pause switch and reconciliation. Each method is one
 * database transaction or one read; the payout pipeline and the gateway run beside it in the
 * daemon and share only the database.
 */

import { approval as approvalSchema, decodeStrict } from '@keyline/wire-protocol';
import { bytesToHex } from '@noble/hashes/utils.js';
import { type Kysely, sql } from 'kysely';
import type { ChainNetwork } from '../chain/interface.js';
import { CoordinatorError } from '../errors.js';
import type { RiskConfig } from '../risk/config.js';
import type { DeviceLink } from '../signing/device-link.js';
import type { Schema } from '../storage/schema.js';
import { getSetting, putSetting } from '../storage/signing.js';
import { allocateAddress } from '../storage/vault.js';
import { deriveAddress, RECEIVE, type VaultWallet } from '../vault/wallet.js';
import type {
  CoordinatorService,
  DepositView,
  DeviceView,
  ReconciliationView,
  ServiceStatus,
  SignedActivation,
  SubmitWithdrawalInput,
  WithdrawalView,
} from './contract.js';
import { clearDeposit, type DepositDeps, depositView } from './deposits.js';
import { PAUSE_SETTING } from './payouts.js';
import {
  ledgerHotWallet,
  listDeposits,
  listWithdrawals,
  readWithdrawal,
  reviewQueue,
  userBalances,
  withdrawalCounts,
} from './views.js';
import { approveWithdrawal, rejectWithdrawal, submitWithdrawal } from './withdrawals.js';

export interface ServiceDeps {
  readonly db: Kysely<Schema>;
  readonly network: ChainNetwork;
  readonly risk: RiskConfig;
  readonly wallet: VaultWallet;
  readonly deposits: DepositDeps;
  readonly now: () => number;
  readonly devices: () => readonly DeviceLink[];
  /** Last chain tip the gateway processed, or null before the first. */
  readonly chainTip: () => number | null;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

export class KeylineService implements CoordinatorService {
  constructor(private readonly deps: ServiceDeps) {}

  private get wdeps() {
    const { db, network, risk, now } = this.deps;
    return { db, network, risk, now };
  }

  async createDepositAddress(userId: string) {
    const a = await allocateAddress(
      this.deps.db,
      { walletId: this.deps.wallet.idHex, branch: RECEIVE, userId, at: new Date(this.deps.now()) },
      (b, i) => deriveAddress(this.deps.wallet, b, i),
    );
    return { userId, address: a.address, index: a.index };
  }

  async submitWithdrawal(input: SubmitWithdrawalInput) {
    const { withdrawal, created } = await submitWithdrawal(this.wdeps, input);
    return { withdrawal: await this.getWithdrawal(withdrawal.id), created };
  }

  getWithdrawal(id: string): Promise<WithdrawalView> {
    return readWithdrawal(this.deps.db, this.deps.network, id);
  }

  listWithdrawals(q: Parameters<CoordinatorService['listWithdrawals']>[0]) {
    return listWithdrawals(this.deps.db, this.deps.network, q);
  }

  listDeposits(q: Parameters<CoordinatorService['listDeposits']>[0]) {
    return listDeposits(this.deps.db, q);
  }

  balances(userId: string) {
    return userBalances(this.deps.db, userId);
  }

  reviewQueue() {
    return reviewQueue(this.deps.db, this.deps.network);
  }

  async approveWithdrawal(id: string, operator: string, note: string) {
    await approveWithdrawal(this.wdeps, id, operator, note);
    this.deps.log?.('withdrawal_approved_by_operator', { id, operator });
    return this.getWithdrawal(id);
  }

  async rejectWithdrawal(id: string, operator: string, note: string) {
    await rejectWithdrawal(this.wdeps, id, operator, note);
    this.deps.log?.('withdrawal_rejected_by_operator', { id, operator });
    return this.getWithdrawal(id);
  }

  async clearDeposit(
    txid: string,
    vout: number,
    operator: string,
    note: string,
  ): Promise<DepositView> {
    const row = await clearDeposit(this.deps.db, this.deps.deposits, txid, vout, operator, note);
    this.deps.log?.('deposit_cleared_by_operator', { txid, vout, operator });
    return depositView(row);
  }

  async pause(operator: string, reason: string, signedPause?: Uint8Array): Promise<ServiceStatus> {
    const at = this.deps.now();
    await putSetting(
      this.deps.db,
      PAUSE_SETTING,
      JSON.stringify({ operator, reason, at }),
      BigInt(at),
    );
    this.deps.log?.('withdrawals_paused', { operator, reason });
    if (signedPause !== undefined) {
      let approval: unknown;
      try {
        approval = approvalSchema.parse(decodeStrict(signedPause));
      } catch (e) {
        throw new CoordinatorError(
          'BAD_REQUEST',
          `pause: expected the signed pause as canonical CBOR of a holder or officer approval, got ${e instanceof Error ? e.message.slice(0, 200) : 'other'}`,
        );
      }
      // Forwarded to every device; a device that is offline or not armed is reported, not fatal:
      // the coordinator's own pause already stops everything it would send.
      for (const link of this.deps.devices()) {
        try {
          await link.call('pause', { reason: reason.slice(0, 256), approval: approval as never });
          this.deps.log?.('device_paused', { deviceId: link.deviceId });
        } catch (e) {
          this.deps.log?.('device_pause_failed', {
            deviceId: link.deviceId,
            message: e instanceof Error ? e.message : String(e),
          });
        }
      }
    }
    return this.status();
  }

  async resume(operator: string): Promise<ServiceStatus> {
    await this.deps.db.deleteFrom('settings').where('key', '=', PAUSE_SETTING).execute();
    this.deps.log?.('withdrawals_resumed', { operator });
    return this.status();
  }

  async status(): Promise<ServiceStatus> {
    const raw = await getSetting(this.deps.db, PAUSE_SETTING);
    let reason: string | null = null;
    if (raw !== null) {
      const parsed: unknown = JSON.parse(raw);
      reason =
        typeof parsed === 'object' &&
        parsed !== null &&
        typeof (parsed as { reason?: unknown }).reason === 'string'
          ? (parsed as { reason: string }).reason
          : '';
    }
    return {
      paused: raw !== null,
      pauseReason: reason,
      chainTip: this.deps.chainTip(),
      network: this.deps.network,
    };
  }

  async devices(): Promise<readonly DeviceView[]> {
    const rows = await this.deps.db.selectFrom('devices').selectAll().orderBy('id').execute();
    const links = new Map(this.deps.devices().map((l) => [l.deviceId, l]));
    return rows.map((r) => {
      const link = links.get(r.id);
      return {
        deviceId: r.id,
        serialPath: r.serial_path,
        state: link?.state ?? r.state,
        lastSeen: link?.lastSeen ?? (r.last_seen === null ? null : Number(r.last_seen)),
        policyVersion:
          link?.policyVersion ?? (r.policy_version === null ? null : Number(r.policy_version)),
        fingerprint: bytesToHex(r.fingerprint),
      };
    });
  }

  async activateDevice(deviceId: string, activation: SignedActivation): Promise<DeviceView> {
    const link = this.deps.devices().find((l) => l.deviceId === deviceId);
    if (link === undefined) {
      throw new CoordinatorError(
        'NOT_FOUND',
        `devices/activate: expected an enrolled device '${deviceId.slice(0, 64)}', got none`,
      );
    }
    await link.call('activate', {
      activation: {
        deviceId: activation.deviceId,
        challenge: Uint8Array.from(activation.challenge),
        bootNonce: Uint8Array.from(activation.bootNonce),
        expiresAt: activation.expiresAt,
        holderKeyId: activation.holderKeyId,
        signature: Uint8Array.from(activation.signature),
      },
    });
    await link.refresh();
    this.deps.log?.('device_activated', { deviceId });
    const view = (await this.devices()).find((d) => d.deviceId === deviceId);
    if (view === undefined) {
      throw new CoordinatorError('NOT_FOUND', `devices/activate: device '${deviceId}' vanished`);
    }
    return view;
  }

  /**
   * Ledger vs chain: the ledger's hot wallet against the wallet's confirmed unspent outputs,
   * minus deposits seen but not yet booked to the hot wallet (pending), plus what payouts that
   * are in a block but not yet settled at depth still owe the ledger (their amounts and fees).
   */
  async reconciliation(): Promise<ReconciliationView> {
    const db = this.deps.db;
    const ledger = await ledgerHotWallet(db);
    const utxo = await db
      .selectFrom('vault_utxos')
      .select(sql<bigint>`cast(coalesce(sum(value), 0) as bigint)`.as('total'))
      .where('state', 'in', ['available', 'reserved'])
      .where('height', 'is not', null)
      .executeTakeFirstOrThrow();
    const pending = await db
      .selectFrom('deposits')
      .select(sql<bigint>`cast(coalesce(sum(amount), 0) as bigint)`.as('total'))
      .where('state', '=', 'pending')
      .executeTakeFirstOrThrow();
    const included = await db
      .selectFrom('payouts')
      .innerJoin('payout_withdrawals', 'payout_withdrawals.payout_id', 'payouts.id')
      .innerJoin('withdrawals', 'withdrawals.id', 'payout_withdrawals.withdrawal_id')
      .select(sql<bigint>`cast(coalesce(sum(withdrawals.amount), 0) as bigint)`.as('total'))
      .where('payouts.state', '=', 'broadcast')
      .where('payouts.block_height', 'is not', null)
      .executeTakeFirstOrThrow();
    const includedFees = await db
      .selectFrom('payouts')
      .select(sql<bigint>`cast(coalesce(sum(fee), 0) as bigint)`.as('total'))
      .where('state', '=', 'broadcast')
      .where('block_height', 'is not', null)
      .executeTakeFirstOrThrow();
    const chain =
      BigInt(utxo.total) -
      BigInt(pending.total) +
      BigInt(included.total) +
      BigInt(includedFees.total);
    const differences =
      chain === ledger
        ? []
        : [
            {
              what: 'hot_wallet',
              detail: `ledger ${ledger} sat, chain ${chain} sat, difference ${ledger - chain} sat`,
            },
          ];
    return {
      ok: differences.length === 0,
      ledgerHotWallet: ledger,
      chainHotWallet: chain,
      differences,
    };
  }

  withdrawalCountsByState() {
    return withdrawalCounts(this.deps.db);
  }

  hotWalletBalance() {
    return ledgerHotWallet(this.deps.db);
  }
}

/**
 * The coordinator's service contract: what the HTTP API (and the CLI's read-only listings) may
 * ask of the running coordinator. The API layer validates and authenticates, then calls exactly
 * one of these; the implementation (service/coordinator-service.ts) owns the database
 * transactions, the state machines and the ledger. Amounts are bigint satoshis; scripts are
 * lowercase hex at this boundary; times are Unix milliseconds.
 */

export type WithdrawalState =
  | 'requested'
  | 'held'
  | 'rejected'
  | 'approved'
  | 'batched'
  | 'signing'
  | 'signed'
  | 'broadcast'
  | 'confirmed'
  | 'refused'
  | 'failed';

export type DepositState = 'seen' | 'delayed' | 'pending' | 'credited' | 'reversed' | 'rejected';

export interface AccountFlags {
  /** Unix seconds of the user's last password change, if any. */
  readonly passwordChangedAt?: number;
  readonly twoFactorChangedAt?: number;
  readonly newDevice: boolean;
  /** The user added this destination to their address book recently. */
  readonly newDestination?: boolean;
  /** The user's realized trading profit in satoshis (negative for a loss), for the profit check. */
  readonly realizedProfit?: bigint;
}

export interface SubmitWithdrawalInput {
  readonly userId: string;
  /** The client's idempotency key (1..128 printable ASCII). */
  readonly idempotencyKey: string;
  /** Destination as an address of the coordinator's network. */
  readonly address: string;
  readonly amount: bigint;
  readonly flags: AccountFlags;
}

export interface DeviceReport {
  readonly deviceId: string;
  /** The device's wire error code and name (e.g. 2003 POLICY_VIOLATION) and refusal reason. */
  readonly code: number;
  readonly name: string;
  /** The refusal reason code (e.g. DESTINATION_DENIED), when the device gave one. */
  readonly reason: string | null;
  /** The policy rule that refused (e.g. rules[0].denyDestinations), for a policy refusal. */
  readonly rule: string | null;
  readonly message: string;
  readonly at: number;
}

export interface WithdrawalView {
  readonly id: string;
  readonly userId: string;
  readonly asset: string;
  readonly address: string;
  readonly scriptPubKey: string;
  readonly amount: bigint;
  readonly state: WithdrawalState;
  readonly history: readonly { readonly state: string; readonly at: number }[];
  readonly risk: {
    readonly outcome: 'approve' | 'hold' | 'reject' | null;
    readonly reasons: readonly string[];
  };
  /** The transaction paying it, once signed. */
  readonly txid: string | null;
  readonly deviceReport: DeviceReport | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface DepositView {
  readonly txid: string;
  readonly vout: number;
  readonly userId: string;
  readonly address: string;
  readonly amount: bigint;
  readonly confirmations: number;
  readonly state: DepositState;
  readonly reasons: readonly string[];
  readonly createdAt: number;
}

export interface DeviceView {
  readonly deviceId: string;
  readonly serialPath: string;
  /** Last state reported by get_info (`locked`, `unlocked`, `armed`, `paused`) or `offline`. */
  readonly state: string;
  readonly lastSeen: number | null;
  readonly policyVersion: number | null;
  readonly fingerprint: string;
}

export interface ReconciliationView {
  readonly ok: boolean;
  /** Hot wallet per the ledger vs the UTXO set the gateway sees (confirmed + own unconfirmed). */
  readonly ledgerHotWallet: bigint;
  readonly chainHotWallet: bigint;
  readonly differences: readonly { readonly what: string; readonly detail: string }[];
}

export interface ServiceStatus {
  readonly paused: boolean;
  readonly pauseReason: string | null;
  readonly chainTip: number | null;
  readonly network: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back as `after` to read the next page; null at the end. */
  readonly next: string | null;
}

/** A second holder's signature over a device's activation challenge (keyline-signer sign-activation). */
export interface SignedActivation {
  readonly deviceId: string;
  readonly challenge: Uint8Array;
  readonly bootNonce: Uint8Array;
  readonly expiresAt: number;
  readonly holderKeyId: string;
  readonly signature: Uint8Array;
}

export interface CoordinatorService {
  createDepositAddress(userId: string): Promise<{ userId: string; address: string; index: number }>;
  /** Idempotent by (userId, idempotencyKey); DUPLICATE when the key is reused with other content. */
  submitWithdrawal(
    input: SubmitWithdrawalInput,
  ): Promise<{ withdrawal: WithdrawalView; created: boolean }>;
  /** NOT_FOUND when unknown. */
  getWithdrawal(id: string): Promise<WithdrawalView>;
  listWithdrawals(q: {
    userId?: string;
    state?: WithdrawalState;
    limit: number;
    after?: string;
  }): Promise<Page<WithdrawalView>>;
  listDeposits(q: {
    userId?: string;
    state?: DepositState;
    limit: number;
    after?: string;
  }): Promise<Page<DepositView>>;
  /** Available balance and pending withdrawals of a user, per asset. */
  balances(
    userId: string,
  ): Promise<readonly { asset: string; available: bigint; pendingWithdrawals: bigint }[]>;
  /** Withdrawals in `held` or `refused`, and deposits in `delayed`, oldest first. */
  reviewQueue(): Promise<{
    withdrawals: readonly WithdrawalView[];
    deposits: readonly DepositView[];
  }>;
  approveWithdrawal(id: string, operator: string, note: string): Promise<WithdrawalView>;
  rejectWithdrawal(id: string, operator: string, note: string): Promise<WithdrawalView>;
  clearDeposit(txid: string, vout: number, operator: string, note: string): Promise<DepositView>;
  /** `signedPause` (CBOR of a holder/officer-signed pause approval) is forwarded to the devices. */
  pause(operator: string, reason: string, signedPause?: Uint8Array): Promise<ServiceStatus>;
  resume(operator: string): Promise<ServiceStatus>;
  status(): Promise<ServiceStatus>;
  devices(): Promise<readonly DeviceView[]>;
  /** Forward a signed activation to the device over its line (after a reboot); NOT_FOUND if unknown. */
  activateDevice(deviceId: string, activation: SignedActivation): Promise<DeviceView>;
  reconciliation(): Promise<ReconciliationView>;
  /** Counts for /metrics. */
  withdrawalCountsByState(): Promise<Readonly<Record<string, number>>>;
  hotWalletBalance(): Promise<bigint>;
}

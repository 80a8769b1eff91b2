/**
 * What the scenario steps share: the running system's handles and the outcomes they record for
 * the summary. Each step adds its figures to `Outcomes`; the summary compares them with what the
 * scenario expected.
 */
import type { ApiClient } from './api.js';
import type { DevnetClient } from './devnet.js';
import type { Miner } from './miner.js';
import type { Narrator } from './narrator.js';
import type { ChildHandle } from './processes.js';
import type { RunningSigner } from './signers.js';

export interface ScenarioSettings {
  /** Users who get a deposit address and a deposit. */
  readonly users: number;
  /** Deposits at or above this (sat) are delayed by the online risk engine. */
  readonly largeDeposit: bigint;
  /** The device-deny-listed destination. */
  readonly denied: { readonly script: string; readonly address: string };
  /** Upper bound for each wait of a step. */
  readonly stepTimeoutMs: number;
  /** Line faults injected (`--faults`): round 1 also rides out a 5 s disconnect of signer-a. */
  readonly faults: boolean;
}

export interface Context {
  readonly say: Narrator;
  readonly api: ApiClient;
  readonly devnet: DevnetClient;
  readonly miner: Miner;
  readonly coordinator: ChildHandle;
  readonly signers: readonly RunningSigner[];
  readonly settings: ScenarioSettings;
  readonly signal: AbortSignal;
}

export interface FailoverOutcome {
  readonly killed: string;
  /** Devices that returned signatures before the kill / after it. */
  readonly signersBefore: readonly string[];
  readonly signersAfter: readonly string[];
  /** Devices that signed after the kill and had not signed before: the failover targets. */
  readonly tookOver: readonly string[];
  /** Coordinator `device_fault` events about the killed device after the kill. */
  readonly faultsOnKilled: number;
  readonly firstFault: string | null;
  readonly withdrawalsConfirmed: number;
  readonly withdrawalsExpected: number;
}

export interface ReconciliationOutcome {
  readonly ok: boolean;
  readonly ledger: bigint;
  readonly chain: bigint;
  readonly differences: readonly string[];
}

/** The hot → cold sweep after a restart of the coordinator with `hotWallet` in its config. */
export interface SweepOutcome {
  /** The coordinator's SIGTERM before the sweep: exit and whether it logged its clean stop. */
  readonly restart: {
    readonly code: number | null;
    readonly signal: string | null;
    readonly stopped: boolean;
    /** Withdrawals the restarted daemon lists from its database; chain height before / after. */
    readonly withdrawalsResumed: number;
    readonly heightBefore: number;
    readonly heightAfter: number;
  };
  /** Hot wallet available (ledger − open withdrawals) when the marks were chosen, and the marks. */
  readonly available: bigint;
  readonly highMark: bigint;
  readonly lowMark: bigint;
  readonly address: string;
  /** The treasury withdrawals the coordinator created (exactly one expected). */
  readonly withdrawals: number;
  readonly withdrawalId: string;
  readonly amount: bigint;
  readonly state: string;
  readonly txid: string | null;
  readonly signedBy: readonly string[];
  readonly deviceReport: {
    deviceId: string;
    code: number;
    name: string;
    reason: string | null;
  } | null;
  /** What the devnet shows in `txid` for the cold address. */
  readonly onChain: {
    readonly outputs: number;
    readonly amount: bigint;
    readonly confirmations: number;
  } | null;
  readonly reconciliation: ReconciliationOutcome | null;
}

export interface Outcomes {
  usersWithAddresses: number;
  depositsSent: number;
  depositsCredited: number;
  depositAmount: bigint;
  delayedDeposits: { txid: string; userId: string; amount: bigint; reasons: string[] }[];
  delayedCleared: number;
  withdrawalsSubmitted: number;
  withdrawalsConfirmed: number;
  withdrawnAmount: bigint;
  payoutTxids: Set<string>;
  refusal: {
    id: string;
    state: string;
    onlineRisk: string | null;
    deviceReport: { deviceId: string; code: number; name: string; reason: string | null } | null;
  } | null;
  failover: FailoverOutcome | null;
  reconciliation: ReconciliationOutcome | null;
  sweep: SweepOutcome | null;
  blocksMined: number;
}

export function emptyOutcomes(): Outcomes {
  return {
    usersWithAddresses: 0,
    depositsSent: 0,
    depositsCredited: 0,
    depositAmount: 0n,
    delayedDeposits: [],
    delayedCleared: 0,
    withdrawalsSubmitted: 0,
    withdrawalsConfirmed: 0,
    withdrawnAmount: 0n,
    payoutTxids: new Set(),
    refusal: null,
    failover: null,
    reconciliation: null,
    sweep: null,
    blocksMined: 0,
  };
}

/** `user-01` … */
export function userId(i: number): string {
  return `user-${String(i + 1).padStart(2, '0')}`;
}

/** The BTC amount shown to the viewer for `sats`. */
export function btc(sats: bigint): string {
  const neg = sats < 0n;
  const v = neg ? -sats : sats;
  return `${neg ? '-' : ''}${v / 100_000_000n}.${(v % 100_000_000n).toString().padStart(8, '0')} BTC`;
}

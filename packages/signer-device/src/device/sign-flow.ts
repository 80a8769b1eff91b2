/**
 * `sign_psbt` as numbered steps, one small function each (docs/signing-flow.md §2):
 *
 *   1 guards → 2 accept the offered time → 3 find the registered wallet → 4 verify the PSBT →
 *   5 verify the withdrawal intents → 6 evaluate the policy → 7 sign every job →
 *   8 verify every signature → 9 apply the spend and COMMIT the state → 10 audit → 11 reply
 *
 * Nothing leaves before step 9 resolved: a failed commit throws and no signature is returned.
 * One parse (verifyPsbt's) feeds the summary the policy judges and the digests that get signed.
 * Refusals and malformed requests after the guards go to `hooks.failed` (audit, refusal counter)
 * before they are rethrown. The coordinator may be compromised: every value in `params` is hostile.
 */
import type { MethodParams } from '@keyline/wire-protocol';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { AuditEntry } from '../audit/audit-entry.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { ClockAcceptance, DeviceClock } from '../clock.js';
import type { DeviceMemory } from '../device-memory.js';
import { isSignerError, SignerError } from '../errors.js';
import type { UnlockedKey } from '../keystore/keystore.js';
import { evaluatePolicy, type SignRecord } from '../policy/evaluate.js';
import { type VerifiedIntent, verifyIntents } from '../policy/intent.js';
import type { Network } from '../psbt/descriptor.js';
import type { PsbtLimits, TxRules } from '../psbt/limits.js';
import { verifyInputSignature } from '../psbt/signature.js';
import { type SigningJob, type VerifiedPsbt, verifyPsbt } from '../psbt/verify-psbt.js';
import { applyClock, applySpend } from '../state/memory-ops.js';
import type { StateStore } from '../state/state-store.js';
import type { TxSummary } from '../tx-summary.js';
import type { AcceptedPolicy, RegisteredWallet } from './accepted-policy.js';
import { assertMethodAllowed, type DeviceState } from './lifecycle.js';

/** Spends are kept at least this long when no velocity rule asks for longer (replacement checks). */
export const MIN_SPEND_RETENTION_SECONDS = 30 * 86_400;
/** applySpend's own bound on the retention window. */
export const MAX_SPEND_RETENTION_SECONDS = 10 * 366 * 86_400;

export type SignParams = MethodParams<'sign_psbt'>;

export interface InputSignature {
  readonly input: number;
  readonly pubkey: Uint8Array;
  readonly signature: Uint8Array;
}

export interface SignResult {
  readonly signatures: readonly InputSignature[];
  readonly auditSeq: number;
}

/** What the flow reads from the signer. */
export interface SignContext {
  readonly state: DeviceState;
  readonly key: UnlockedKey;
  readonly policy: AcceptedPolicy | null;
  readonly store: StateStore;
  readonly audit: AuditLog;
  readonly clock: DeviceClock;
  /** Monotonic reading for this request (ms since boot). */
  readonly monotonicMs: number;
  readonly network: Network;
  /** The configured change window; the smaller of it and the policy's applies. */
  readonly maxChangeWindow: number;
  readonly limits: PsbtLimits;
  readonly txRules: TxRules;
}

/** What the flow asks of the signer. */
export interface SignHooks {
  /** A refusal or malformed request after the guards: audit it, count refusals (may pause). */
  failed(error: SignerError, now: number, txid: string | null): Promise<void>;
  /** The clock after this request; called only once the state recording it is committed. */
  adoptClock(clock: DeviceClock): void;
}

const PLACE = 'sign-flow';

/** Transaction id in display order (reversed), lower-case hex: what explorers and memory use. */
export function displayTxid(txid: Uint8Array): string {
  return bytesToHex(Uint8Array.from(txid).reverse());
}

/** 1: armed, a policy accepted and not expired at the last accepted time, memory trusted. */
export function checkGuards(ctx: SignContext): AcceptedPolicy {
  assertMethodAllowed('sign_psbt', ctx.state);
  const memory = ctx.store.memory;
  if (memory.failClosed) {
    throw new SignerError(
      'STATE_CORRUPT',
      `${PLACE}/guards: expected trusted durable state, got a fail-closed memory`,
      { reason: 'MEMORY_FAIL_CLOSED' },
    );
  }
  const policy = ctx.policy;
  if (policy === null) {
    throw new SignerError(
      'STALE_POLICY',
      `${PLACE}/guards: expected an accepted policy, got none`,
      {
        reason: 'NO_POLICY',
      },
    );
  }
  if (memory.policyHash !== policy.hashHex || memory.policyVersion !== policy.version) {
    throw new SignerError(
      'STATE_CORRUPT',
      `${PLACE}/guards: expected the policy recorded in state (v${memory.policyVersion}), got v${policy.version}`,
      { reason: 'POLICY_STATE_MISMATCH' },
    );
  }
  const expiresAt = policy.compiled.document.expiresAt;
  if (ctx.clock.state.lastTime >= expiresAt) {
    throw new SignerError(
      'STALE_POLICY',
      `${PLACE}/guards: expected a policy valid after ${ctx.clock.state.lastTime}, got one that expired at ${expiresAt}`,
      { reason: 'EXPIRED' },
    );
  }
  return policy;
}

/** 2: the offered time, only forward and never faster than the device's monotonic clock. */
export function acceptTime(ctx: SignContext, offered: SignParams['time']): ClockAcceptance {
  return ctx.clock.accept(offered, ctx.monotonicMs);
}

/** 3: the wallet, by name, among those registered by the accepted policy. */
export function findWallet(policy: AcceptedPolicy, name: string): RegisteredWallet {
  const wallet = typeof name === 'string' ? policy.wallets.get(name) : undefined;
  if (wallet === undefined) {
    throw new SignerError(
      'WALLET_NOT_REGISTERED',
      `${PLACE}/wallet: expected a wallet registered by policy v${policy.version}, got an unknown name`,
      { reason: 'UNKNOWN_WALLET' },
    );
  }
  return wallet;
}

/** The change window: indices 0 .. highest seen + window (the policy's and the config's, smaller). */
export function changeWindowFor(
  memory: DeviceMemory,
  wallet: RegisteredWallet,
  policyWindow: number,
  configWindow: number,
): { from: number; size: number } {
  const highest = Object.hasOwn(memory.changeIndex, wallet.idHex)
    ? (memory.changeIndex[wallet.idHex] ?? 0)
    : 0;
  const window = Math.min(policyWindow, configWindow);
  const size = Math.min(highest + window + 1, 0x80000000);
  return { from: 0, size };
}

/** 4: every check of verify-psbt, with this device's key and change window. */
export function verifyTransaction(
  ctx: SignContext,
  policy: AcceptedPolicy,
  wallet: RegisteredWallet,
  psbt: Uint8Array,
): VerifiedPsbt {
  return verifyPsbt(psbt, {
    wallet: wallet.wallet,
    network: ctx.network,
    ownKeyIndex: wallet.ownKeyIndex,
    changeWindow: changeWindowFor(
      ctx.store.memory,
      wallet,
      policy.compiled.document.changeWindow,
      ctx.maxChangeWindow,
    ),
    limits: ctx.limits,
    txRules: ctx.txRules,
  });
}

/** 5: each intent signed by one of the policy's intent keys, and not expired. */
export function verifyRequestIntents(
  policy: AcceptedPolicy,
  intents: SignParams['intents'],
  now: number,
): VerifiedIntent[] {
  return verifyIntents(intents, policy.compiled.document.intentKeys, now);
}

/** 6: the offline policy. A refusal is POLICY_REFUSED with the report in `detail`. */
export function decide(
  policy: AcceptedPolicy,
  summary: TxSummary,
  intents: readonly VerifiedIntent[],
  memory: DeviceMemory,
  now: number,
): SignRecord {
  const decision = evaluatePolicy({ summary, intents, policy: policy.compiled, memory, now });
  if (decision.decision === 'refuse') {
    throw new SignerError(
      'POLICY_REFUSED',
      `${PLACE}/policy: expected every rule to pass, got a refusal by ${decision.rule} (${decision.reason})`,
      {
        reason: decision.reason,
        rule: decision.rule,
        output: decision.output,
        input: null,
        detail: decision.detail,
      },
    );
  }
  return decision.record;
}

/** 7: one signature per job, with the key at the job's branch/index (digest signed as is). */
export function signJobs(key: UnlockedKey, jobs: readonly SigningJob[]): InputSignature[] {
  return jobs.map((job) => {
    const s = key.signDigest(job.branch, job.addressIndex, job.digest);
    return { input: job.inputIndex, pubkey: s.pubkey, signature: s.signature };
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** 8: never release an unchecked signature: each must verify for its job's pubkey and digest. */
export function checkSignatures(
  jobs: readonly SigningJob[],
  signatures: readonly InputSignature[],
): void {
  if (signatures.length !== jobs.length) {
    throw new SignerError(
      'VERIFICATION_FAILED',
      `${PLACE}/self-check: expected ${jobs.length} signatures, got ${signatures.length}`,
      { reason: 'SIGNATURE_SELF_CHECK' },
    );
  }
  jobs.forEach((job, i) => {
    const s = signatures[i];
    const ok =
      s !== undefined &&
      s.input === job.inputIndex &&
      sameBytes(s.pubkey, job.pubkey) &&
      verifyInputSignature(job.pubkey, job.digest, s.signature);
    if (!ok) {
      throw new SignerError(
        'VERIFICATION_FAILED',
        `${PLACE}/self-check: input ${job.inputIndex}: expected a signature that verifies, got one that does not`,
        { reason: 'SIGNATURE_SELF_CHECK', input: job.inputIndex },
      );
    }
  });
}

/** How long spends stay in memory: the longest velocity window, at least 30 days. */
export function spendRetention(policy: AcceptedPolicy): number {
  let longest = MIN_SPEND_RETENTION_SECONDS;
  for (const r of policy.compiled.rules) {
    if (r.type === 'velocity' && r.windowSeconds > longest) longest = r.windowSeconds;
  }
  return Math.min(longest, MAX_SPEND_RETENTION_SECONDS);
}

/** 9: the spend, the time and height in memory, committed durably before anything leaves. */
export async function commitSpend(
  store: StateStore,
  policy: AcceptedPolicy,
  record: SignRecord,
  time: ClockAcceptance,
): Promise<void> {
  const spent = applySpend(store.memory, record, time.unixSeconds, spendRetention(policy));
  const next = applyClock(spent, time.unixSeconds, Math.max(spent.lastHeight, time.height));
  await store.commit(next);
}

/** 10: the decision and the signatures in the audit log; the signature entry's seq is returned. */
export async function auditSignatures(
  audit: AuditLog,
  summary: TxSummary,
  signatures: readonly InputSignature[],
  now: number,
): Promise<AuditEntry> {
  const txid = displayTxid(summary.txid);
  await audit.append(
    {
      kind: 'decision',
      method: 'sign_psbt',
      outcome: 'sign',
      code: null,
      reason: null,
      rule: null,
      output: null,
      txid,
    },
    now,
  );
  return audit.append(
    {
      kind: 'signature',
      txid,
      walletId: bytesToHex(summary.walletId),
      inputs: signatures.map((s) => s.input),
      amount: summary.totalExternal + summary.fee,
      fee: summary.fee,
    },
    now,
  );
}

/** The whole flow. Throws SignerError; returns only signatures whose spend is committed. */
export async function signPsbtFlow(
  params: SignParams,
  ctx: SignContext,
  hooks: SignHooks,
): Promise<SignResult> {
  const policy = checkGuards(ctx); //                                               1
  let now = ctx.clock.state.lastTime;
  let txid: string | null = null;
  let time: ClockAcceptance;
  let verified: VerifiedPsbt;
  let record: SignRecord;
  try {
    time = acceptTime(ctx, params.time); //                                         2
    now = time.unixSeconds;
    const wallet = findWallet(policy, params.wallet); //                            3
    verified = verifyTransaction(ctx, policy, wallet, params.psbt); //              4
    txid = displayTxid(verified.summary.txid);
    const intents = verifyRequestIntents(policy, params.intents, now); //           5
    record = decide(policy, verified.summary, intents, ctx.store.memory, now); //   6
  } catch (e) {
    if (isSignerError(e)) await hooks.failed(e, now, txid);
    throw e;
  }
  const signatures = signJobs(ctx.key, verified.jobs); //                           7
  checkSignatures(verified.jobs, signatures); //                                    8
  await commitSpend(ctx.store, policy, record, time); //                            9
  hooks.adoptClock(time.clock);
  const entry = await auditSignatures(ctx.audit, verified.summary, signatures, now); // 10
  return Object.freeze({ signatures: Object.freeze(signatures), auditSeq: entry.seq }); // 11
}

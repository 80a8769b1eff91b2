/**
 * The device's signing path, composed from the committed modules in the order of the sign flow
 * (independent of src/device/sign-flow.ts), each step timed on its own:
 *
 *   verifyPsbt → verifyIntents → evaluatePolicy → sign (signDigest per job) →
 *   verifySignatures (verifyInputSignature per signature) → commitState (applySpend +
 *   StateStore.commit: fsync'd files + the audit log's `state` entry) → auditAppend (decision and
 *   signature entries, each fsync'd)
 *
 * State lives in real files under a temporary directory (openBenchState). Not measured: decoding
 * the CBOR request, the clock step, the reply encoding and the wire.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bytesToHex } from '@noble/hashes/utils.js';
import { AuditLog } from '../src/audit/audit-log.js';
import { SignerError } from '../src/errors.js';
import { evaluatePolicy } from '../src/policy/evaluate.js';
import { verifyIntents } from '../src/policy/intent.js';
import { verifyInputSignature } from '../src/psbt/signature.js';
import { type VerifyContext, verifyPsbt } from '../src/psbt/verify-psbt.js';
import { applySpend } from '../src/state/memory-ops.js';
import { StateStore } from '../src/state/state-store.js';
import { BENCH_AUDIT_SEED, BENCH_MAC_KEY, type BenchWallet, NETWORK, NOW } from './bench-wallet.js';
import type { WireIntent } from './psbt-builder.js';

export const DEVICE_STEPS = Object.freeze([
  'verifyPsbt',
  'verifyIntents',
  'evaluatePolicy',
  'sign',
  'verifySignatures',
  'commitState',
  'auditAppend',
] as const);
export type DeviceStep = (typeof DEVICE_STEPS)[number];

export interface BenchState {
  readonly dir: string;
  readonly store: StateStore;
  readonly log: AuditLog;
}

/** A fresh state directory with a new audit log and state store (a first signing). */
export async function openBenchState(): Promise<BenchState> {
  const dir = await mkdtemp(join(tmpdir(), 'keyline-bench-'));
  const log = await AuditLog.open({
    path: join(dir, 'audit.log'),
    seed: BENCH_AUDIT_SEED,
    create: true,
    time: NOW - 60,
  });
  const store = await StateStore.open({
    dir,
    macKey: BENCH_MAC_KEY,
    network: NETWORK,
    witness: log,
  });
  return { dir, store, log };
}

export async function closeBenchState(s: BenchState): Promise<void> {
  s.store.close();
  s.log.close();
  await rm(s.dir, { recursive: true, force: true });
}

export interface DeviceSignature {
  readonly inputIndex: number;
  readonly pubkey: Uint8Array;
  /** DER + SIGHASH_ALL. */
  readonly signature: Uint8Array;
  readonly digest: Uint8Array;
}

export interface DeviceRun {
  readonly signatures: readonly DeviceSignature[];
  readonly stepMs: Readonly<Record<DeviceStep, number>>;
  readonly totalMs: number;
}

export interface DeviceRequest {
  readonly psbt: Uint8Array;
  readonly intents: readonly WireIntent[];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Runs the whole path once; throws SignerError when any step refuses (the bench must sign). */
export async function runDevicePath(
  w: BenchWallet,
  ctx: VerifyContext,
  req: DeviceRequest,
  state: BenchState,
): Promise<DeviceRun> {
  const stepMs = Object.fromEntries(DEVICE_STEPS.map((s) => [s, 0])) as Record<DeviceStep, number>;
  const start = performance.now();
  let mark = start;
  const lap = (step: DeviceStep): void => {
    const t = performance.now();
    stepMs[step] += t - mark;
    mark = t;
  };

  const verified = verifyPsbt(req.psbt, ctx);
  lap('verifyPsbt');
  const intents = verifyIntents(req.intents, w.policy.document.intentKeys, NOW);
  lap('verifyIntents');
  const decision = evaluatePolicy({
    summary: verified.summary,
    intents,
    policy: w.policy,
    memory: state.store.memory,
    now: NOW,
  });
  lap('evaluatePolicy');
  if (decision.decision !== 'sign') {
    throw new SignerError(
      'POLICY_REFUSED',
      `bench/device-path: expected a sign decision, got a refusal by ${decision.rule} (${decision.reason})`,
      { reason: decision.reason, rule: decision.rule },
    );
  }
  const signatures = verified.jobs.map((job): DeviceSignature => {
    const s = w.device.signDigest(job.branch, job.addressIndex, job.digest);
    if (!sameBytes(s.pubkey, job.pubkey)) {
      throw new SignerError(
        'STATE_CORRUPT',
        `bench/device-path: input ${job.inputIndex}: expected the signing key to be the verified own key, got another`,
      );
    }
    return {
      inputIndex: job.inputIndex,
      pubkey: s.pubkey,
      signature: s.signature,
      digest: job.digest,
    };
  });
  lap('sign');
  signatures.forEach((s) => {
    if (!verifyInputSignature(s.pubkey, s.digest, s.signature)) {
      throw new SignerError(
        'STATE_CORRUPT',
        `bench/device-path: input ${s.inputIndex}: expected our signature to verify, got one that does not`,
      );
    }
  });
  lap('verifySignatures');
  const next = applySpend(state.store.memory, decision.record, NOW, w.longestWindowSeconds);
  await state.store.commit(next);
  lap('commitState');
  const { spend } = decision.record;
  await state.log.append(
    {
      kind: 'decision',
      method: 'sign_psbt',
      outcome: 'sign',
      code: null,
      reason: null,
      rule: null,
      output: null,
      txid: spend.txid,
    },
    NOW,
  );
  await state.log.append(
    {
      kind: 'signature',
      txid: spend.txid,
      walletId: bytesToHex(verified.summary.walletId),
      inputs: signatures.map((s) => s.inputIndex),
      amount: spend.amount,
      fee: spend.fee,
    },
    NOW,
  );
  lap('auditAppend');
  return { signatures, stepMs, totalMs: mark - start };
}

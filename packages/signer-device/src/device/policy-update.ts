/**
 * update_policy, as steps: verify the signed update against the pinned officers and the policy
 * the authenticated state records (rollback, chain, expiry, target) → register its wallets →
 * write policy.cbor durably → commit the new version and hash to state (and, when the officers'
 * `issuedAt` is ahead of the device time, that time: a signed lower bound on "now") → the caller
 * adopts the policy and audits it. docs/signing-flow.md §4.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { DeviceClock } from '../clock.js';
import type { KeyFile } from '../keystore/key-file-format.js';
import { verifyPolicyUpdate } from '../policy/signed-policy.js';
import type { Fs } from '../state/fs.js';
import { applyClock, applyPolicy } from '../state/memory-ops.js';
import type { StateStore } from '../state/state-store.js';
import {
  type AcceptedPolicy,
  acceptPolicy,
  encodePolicyFile,
  writePolicyFile,
} from './accepted-policy.js';
import type { SignerConfig } from './signer-config.js';
import { ownKeyFacts } from './signer-session.js';

export interface PolicyInstallInput {
  readonly document: Uint8Array;
  readonly approvals: readonly { readonly keyId: string; readonly signature: Uint8Array }[];
  readonly config: SignerConfig;
  readonly keyFile: KeyFile;
  readonly store: StateStore;
  readonly fs: Fs;
  readonly stateDir: string;
  /** Device time now. */
  readonly now: number;
  /** Monotonic reading now (to re-anchor the clock when the time is raised). */
  readonly monotonicMs: number;
  readonly toleranceSeconds: number;
}

export interface PolicyInstall {
  readonly accepted: AcceptedPolicy;
  /** The clock re-anchored at the policy's issuedAt, or null when the device time was ahead. */
  readonly clock: DeviceClock | null;
}

/** Verify, persist and commit a signed policy update. Throws SignerError; state unchanged then. */
export async function installPolicy(input: PolicyInstallInput): Promise<PolicyInstall> {
  const { config: cfg, store, now } = input;
  const memory = store.memory;
  const current =
    memory.policyVersion > 0
      ? { version: memory.policyVersion, hash: hexToBytes(memory.policyHash) }
      : null;
  const verified = verifyPolicyUpdate(
    { documentBytes: input.document, approvals: input.approvals },
    { officers: cfg.officers, threshold: cfg.officerThreshold, network: cfg.network },
    current,
    cfg.deviceId,
    now,
  );
  const accepted = acceptPolicy(verified, input.approvals, ownKeyFacts(input.keyFile), cfg.network);
  await writePolicyFile(input.fs, input.stateDir, encodePolicyFile(accepted));
  let next = applyPolicy(memory, accepted.version, accepted.hashHex);
  const issuedAt = verified.document.issuedAt;
  let clock: DeviceClock | null = null;
  if (issuedAt > now && issuedAt > next.lastTime) {
    next = applyClock(next, issuedAt, next.lastHeight);
    clock = DeviceClock.atBoot(next, {
      bootMonotonicMs: input.monotonicMs,
      toleranceSeconds: input.toleranceSeconds,
    });
  }
  await store.commit(next);
  return Object.freeze({ accepted, clock });
}

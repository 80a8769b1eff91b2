/**
 * What exists only while the signer is unlocked: the key, the durable state, the audit log, and
 * the accepted policy re-verified from policy.cbor. `openSession` builds it at the console unlock;
 * `closeSession` wipes it (keys, the stores' key copies). docs/signing-flow.md §3.
 */
import { join } from 'node:path';
import { hexToBytes } from '@noble/hashes/utils.js';
import { AuditLog } from '../audit/audit-log.js';
import { isSignerError, SignerError } from '../errors.js';
import { accountPathIndexes } from '../keystore/account.js';
import type { KdfPolicy, KeyFile } from '../keystore/key-file-format.js';
import type { UnlockedKey } from '../keystore/keystore.js';
import { releaseSecret } from '../keystore/secrets.js';
import { verifyPolicyUpdate } from '../policy/signed-policy.js';
import { type Fs, nodeFs } from '../state/fs.js';
import { StateStore } from '../state/state-store.js';
import {
  type AcceptedPolicy,
  acceptPolicy,
  type OwnKeyFacts,
  readPolicyFiles,
} from './accepted-policy.js';
import type { SignerConfig } from './signer-config.js';
import { openDeviceKey } from './unlock-key.js';

export const AUDIT_FILE = 'audit.log';

export interface SignerSession {
  readonly key: UnlockedKey;
  readonly store: StateStore;
  readonly audit: AuditLog;
  /** The policy recorded in state, re-verified; null when none (or its file is lost). */
  readonly policy: AcceptedPolicy | null;
}

export interface SessionOptions {
  readonly config: SignerConfig;
  readonly stateDir: string;
  readonly auditPath: string;
  /** Create the audit log when missing (provisioning only): otherwise a missing log fails. */
  readonly provision: boolean;
  readonly fs: Fs | undefined;
  readonly kdf: KdfPolicy;
}

const PLACE = 'signer/session';

/** The device's own key as descriptors name it, from the key file's public facts. */
export function ownKeyFacts(file: KeyFile): OwnKeyFacts {
  if (!('network' in file)) {
    throw new SignerError('BAD_KEY_FILE', `${PLACE}: expected a device key file, got ${file.kind}`);
  }
  return Object.freeze({
    fingerprint: hexToBytes(file.public.fingerprint),
    accountXpub: file.public.accountXpub,
    accountPath: accountPathIndexes(file.network),
  });
}

/** Default audit log path for a state directory. */
export function defaultAuditPath(stateDir: string): string {
  return join(stateDir, AUDIT_FILE);
}

/**
 * Load the stored policy whose hash the authenticated state recorded. Each file is re-verified
 * against the pinned officers (now = 0: expiry is judged when signing, not when loading) and must
 * hash to `memory.policyHash` with `memory.policyVersion`. Null when no file matches.
 */
export async function loadAcceptedPolicy(
  opts: SessionOptions,
  store: StateStore,
  own: OwnKeyFacts,
): Promise<AcceptedPolicy | null> {
  const memory = store.memory;
  if (memory.policyVersion === 0) return null;
  const { config } = opts;
  for (const stored of await readPolicyFiles(fsOf(opts), opts.stateDir)) {
    try {
      const verified = verifyPolicyUpdate(
        { documentBytes: stored.documentBytes, approvals: stored.approvals },
        { officers: config.officers, threshold: config.officerThreshold, network: config.network },
        null,
        config.deviceId,
        0,
      );
      const accepted = acceptPolicy(verified, stored.approvals, own, config.network);
      if (accepted.hashHex === memory.policyHash && accepted.version === memory.policyVersion) {
        return accepted;
      }
    } catch (e) {
      if (!isSignerError(e)) throw e;
      // a file that no longer verifies (officers rotated, tampered) is not used
    }
  }
  return null;
}

function fsOf(opts: SessionOptions): Fs {
  return opts.fs ?? nodeFs;
}

/** Console unlock: open the key file, the audit log and the state. The passphrase is consumed. */
export async function openSession(
  opts: SessionOptions,
  file: KeyFile,
  passphrase: Uint8Array,
): Promise<SignerSession> {
  const opened = openDeviceKey(file, passphrase, opts.config.network, opts.kdf);
  let audit: AuditLog | undefined;
  let store: StateStore | undefined;
  try {
    try {
      audit = await AuditLog.open({
        path: opts.auditPath,
        seed: opened.auditSeed,
        create: opts.provision,
        time: 0,
        ...(opts.fs === undefined ? {} : { fs: opts.fs }),
      });
      store = await StateStore.open({
        dir: opts.stateDir,
        macKey: opened.stateMacKey,
        network: opts.config.network,
        witness: audit,
        ...(opts.fs === undefined ? {} : { fs: opts.fs }),
      });
    } finally {
      releaseSecret(opened.auditSeed);
      releaseSecret(opened.stateMacKey);
    }
    const policy = await loadAcceptedPolicy(opts, store, ownKeyFacts(file));
    return Object.freeze({ key: opened.key, store, audit, policy });
  } catch (e) {
    store?.close();
    audit?.close();
    opened.key.lock();
    throw e;
  }
}

/** Wipe everything the session holds. The audit log object stays readable for exports. */
export function closeSession(session: SignerSession): void {
  session.store.close();
  session.audit.close();
  session.key.lock();
}

/**
 * The policy the signer runs under, and the wallets it registers. A policy is accepted only after
 * `verifyPolicyUpdate` (officer threshold, chain, expiry, target); its `wallets` are parsed here
 * and kept only when they contain this device's own key (`findOwnKey`). The accepted document and
 * its approvals are kept in `policy.cbor` next to the state, so a restart keeps them; on load the
 * file is re-verified against the pinned officers and must hash to the policy hash the
 * authenticated state recorded. docs/signing-flow.md §4.
 *
 * policy.cbor = canonical CBOR { format: "keyline-policy-file/v1", document: bytes,
 *                                approvals: [{keyId, signature}] }
 */
import { join } from 'node:path';
import { decodeStrict, encodeCanonical, MAX_POLICY_BYTES } from '@keyline/wire-protocol';
import { bytesToHex } from '@noble/hashes/utils.js';
import { SignerError } from '../errors.js';
import { type CompiledPolicy, compilePolicy } from '../policy/compile.js';
import type { PolicyApproval, VerifiedPolicyUpdate } from '../policy/signed-policy.js';
import {
  findOwnKey,
  type Network,
  parseDescriptor,
  type WalletDescriptor,
} from '../psbt/descriptor.js';
import type { Fs } from '../state/fs.js';

export const POLICY_FILE = 'policy.cbor';
export const POLICY_PREV_FILE = 'policy.prev';
const POLICY_TMP_FILE = 'policy.tmp';
export const POLICY_FILE_FORMAT = 'keyline-policy-file/v1';

export interface RegisteredWallet {
  readonly name: string;
  readonly wallet: WalletDescriptor;
  /** Position of this device's key in the descriptor. */
  readonly ownKeyIndex: number;
  /** sha256 of the canonical descriptor text, lower-case hex. */
  readonly idHex: string;
}

export interface AcceptedPolicy {
  readonly version: number;
  readonly hash: Uint8Array;
  readonly hashHex: string;
  readonly documentBytes: Uint8Array;
  readonly approvals: readonly PolicyApproval[];
  readonly compiled: CompiledPolicy;
  /** Registered wallets by name: only those that contain this device's key. */
  readonly wallets: ReadonlyMap<string, RegisteredWallet>;
}

/** The device's own account key as the descriptors name it. */
export interface OwnKeyFacts {
  readonly fingerprint: Uint8Array;
  readonly accountXpub: string;
  readonly accountPath: readonly number[];
}

/**
 * Build the accepted policy from a verified update: compile it and register its wallets. A
 * descriptor that does not parse fails the whole update (BAD_DESCRIPTOR / WRONG_NETWORK: the
 * officers signed a broken policy); a wallet without this device's key is not registered here;
 * a policy with no wallet of this device is refused (WALLET_NOT_REGISTERED).
 */
export function acceptPolicy(
  verified: VerifiedPolicyUpdate,
  approvals: readonly PolicyApproval[],
  own: OwnKeyFacts,
  network: Network,
): AcceptedPolicy {
  const compiled = compilePolicy(verified.document);
  const wallets = new Map<string, RegisteredWallet>();
  for (const entry of verified.document.wallets) {
    const wallet = parseDescriptor(entry.descriptor, network);
    let ownKeyIndex: number;
    try {
      ownKeyIndex = findOwnKey(wallet, own.fingerprint, own.accountXpub, own.accountPath);
    } catch (e) {
      if (e instanceof SignerError && e.code === 'WALLET_NOT_REGISTERED') continue;
      throw e;
    }
    wallets.set(
      entry.name,
      Object.freeze({ name: entry.name, wallet, ownKeyIndex, idHex: bytesToHex(wallet.id) }),
    );
  }
  if (wallets.size === 0) {
    throw new SignerError(
      'WALLET_NOT_REGISTERED',
      `signer/policy: expected a wallet with this device's key among the policy's ${verified.document.wallets.length}, got none`,
      { reason: 'NO_OWN_WALLET' },
    );
  }
  return Object.freeze({
    version: verified.document.version,
    hash: Uint8Array.from(verified.hash),
    hashHex: bytesToHex(verified.hash),
    documentBytes: Uint8Array.from(verified.documentBytes),
    approvals: Object.freeze(
      approvals.map((a) =>
        Object.freeze({ keyId: a.keyId, signature: Uint8Array.from(a.signature) }),
      ),
    ),
    compiled,
    wallets,
  });
}

/**
 * register_wallet: the wallet `name` of the accepted policy, when `descriptor` is the same wallet
 * (same canonical text). Anything not in a signed policy is WALLET_NOT_REGISTERED; a descriptor
 * that does not parse is BAD_DESCRIPTOR / WRONG_NETWORK.
 */
export function registeredWallet(
  policy: AcceptedPolicy | null,
  name: string,
  descriptor: string,
  network: Network,
): RegisteredWallet {
  const registered = policy?.wallets.get(name);
  if (registered === undefined) {
    throw new SignerError(
      'WALLET_NOT_REGISTERED',
      'signer/register_wallet: expected a wallet of the accepted signed policy, got an unknown name',
      { reason: 'UNKNOWN_WALLET' },
    );
  }
  if (parseDescriptor(descriptor, network).text !== registered.wallet.text) {
    throw new SignerError(
      'WALLET_NOT_REGISTERED',
      'signer/register_wallet: expected the descriptor the policy registers under this name, got another',
      { reason: 'DESCRIPTOR_MISMATCH' },
    );
  }
  return registered;
}

/** The bytes of policy.cbor. */
export function encodePolicyFile(p: {
  readonly documentBytes: Uint8Array;
  readonly approvals: readonly PolicyApproval[];
}): Uint8Array {
  return encodeCanonical({
    format: POLICY_FILE_FORMAT,
    document: p.documentBytes,
    approvals: p.approvals.map((a) => ({ keyId: a.keyId, signature: a.signature })),
  });
}

/** Parse policy.cbor strictly; null when it is not a policy file of this format. */
export function decodePolicyFile(
  bytes: Uint8Array,
): { documentBytes: Uint8Array; approvals: PolicyApproval[] } | null {
  if (bytes.length > MAX_POLICY_BYTES + 4096) return null;
  let v: unknown;
  try {
    v = decodeStrict(bytes);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  if (keys !== 'approvals,document,format' || o.format !== POLICY_FILE_FORMAT) return null;
  if (!(o.document instanceof Uint8Array) || !Array.isArray(o.approvals)) return null;
  const approvals: PolicyApproval[] = [];
  for (const a of o.approvals as unknown[]) {
    if (typeof a !== 'object' || a === null) return null;
    const r = a as Record<string, unknown>;
    if (typeof r.keyId !== 'string' || !(r.signature instanceof Uint8Array)) return null;
    approvals.push({ keyId: r.keyId, signature: Uint8Array.from(r.signature) });
  }
  return { documentBytes: Uint8Array.from(o.document), approvals };
}

/**
 * Write policy.cbor durably, keeping the one before as policy.prev: write tmp, fsync, rename the
 * current to prev, rename tmp over, fsync the directory. Written BEFORE the state commit that
 * records the new hash, so a crash in between leaves the old policy in policy.prev, still
 * matching the old state. Failure: IO.
 */
export async function writePolicyFile(fs: Fs, dir: string, bytes: Uint8Array): Promise<void> {
  const step = async (name: string, f: () => Promise<void>): Promise<void> => {
    try {
      await f();
    } catch (e) {
      const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
      if (name === 'rename current to prev' && code === 'ENOENT') return;
      throw new SignerError(
        'IO',
        `signer/policy-file: ${name} failed: ${typeof code === 'string' ? code : 'error'}`,
        { step: name },
        { cause: e },
      );
    }
  };
  await step('write tmp', () => fs.writeFile(join(dir, POLICY_TMP_FILE), bytes));
  await step('fsync tmp', () => fs.fsyncFile(join(dir, POLICY_TMP_FILE)));
  await step('rename current to prev', () =>
    fs.rename(join(dir, POLICY_FILE), join(dir, POLICY_PREV_FILE)),
  );
  await step('rename tmp to current', () =>
    fs.rename(join(dir, POLICY_TMP_FILE), join(dir, POLICY_FILE)),
  );
  await step('fsync dir', () => fs.fsyncDir(dir));
}

/** The stored policy files, current first; unreadable or missing files are skipped. */
export async function readPolicyFiles(
  fs: Fs,
  dir: string,
): Promise<{ documentBytes: Uint8Array; approvals: PolicyApproval[] }[]> {
  const out: { documentBytes: Uint8Array; approvals: PolicyApproval[] }[] = [];
  for (const name of [POLICY_FILE, POLICY_PREV_FILE]) {
    let bytes: Uint8Array | null;
    try {
      bytes = await fs.readFile(join(dir, name));
    } catch {
      continue;
    }
    if (bytes === null) continue;
    const decoded = decodePolicyFile(bytes);
    if (decoded !== null) out.push(decoded);
  }
  return out;
}

/**
 * The benchmark's fixed world: a 2-of-3 P2WSH testnet wallet whose key A is the device
 * (an `UnlockedKey` from fixed entropy) and whose keys B and C are cosigners from fixed seeds, a
 * signed-intent policy compiled once, and the verify context. BENCH KEYS ONLY: every secret here
 * is a published constant of this file and must never hold funds.
 */

import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { HDKey } from '@scure/bip32';
import { UnlockedKey } from '../src/keystore/keystore.js';
import { type CompiledPolicy, compilePolicy } from '../src/policy/compile.js';
import { type PolicyDocumentInput, validatePolicyDocument } from '../src/policy/document.js';
import type { PolicyRuleInput } from '../src/policy/rules.js';
import { findOwnKey, parseDescriptor, type WalletDescriptor } from '../src/psbt/descriptor.js';
import { descriptorChecksum } from '../src/psbt/descriptor-checksum.js';
import { DEFAULT_PSBT_LIMITS, DEFAULT_TX_RULES } from '../src/psbt/limits.js';
import type { VerifyContext } from '../src/psbt/verify-psbt.js';

export const NETWORK = 'testnet' as const;
/** Device time of every bench request (unix seconds). */
export const NOW = 1_800_000_000;
const DAY = 86_400;
const H = 0x80000000;
/** BIP48 account path on a test network: m/48'/1'/0'/2'. */
export const ACCOUNT_PATH: readonly number[] = Object.freeze([48 + H, 1 + H, H, 2 + H]);
const TEST_VERSIONS = Object.freeze({ private: 0x04358394, public: 0x043587cf });

/** A key of the wallet as the PSBT builder needs it: public facts only. */
export interface BenchCosigner {
  readonly fingerprint: Uint8Array;
  readonly xpub: string;
  /** The account node, public only (private data wiped). */
  readonly account: HDKey;
}

export interface BenchWallet {
  readonly device: UnlockedKey;
  /** [device, B, C] in descriptor order. */
  readonly keys: readonly BenchCosigner[];
  readonly descriptorText: string;
  readonly policy: CompiledPolicy;
  readonly intentKeys: readonly Uint8Array[];
  /** Ed25519 seed of the risk engine's intent key (bench constant). */
  readonly intentSecret: Uint8Array;
  readonly longestWindowSeconds: number;
}

/** Fixed device entropy (bench only). */
export const DEVICE_ENTROPY_BYTE = 0x5a;
/** Fixed MAC key of the bench state store and seed of its audit log (bench only). */
export const BENCH_MAC_KEY: Uint8Array = Uint8Array.from(
  { length: 32 },
  (_, i) => (i * 5 + 1) & 255,
);
export const BENCH_AUDIT_SEED: Uint8Array = Uint8Array.from(
  { length: 32 },
  (_, i) => (i * 11 + 7) & 255,
);

function fingerprintBytes(fp: number): Uint8Array {
  return Uint8Array.of(fp >>> 24, (fp >>> 16) & 255, (fp >>> 8) & 255, fp & 255);
}

/** Cosigner B or C: an account from a fixed 32-byte seed; private data wiped before return. */
function cosignerFromSeed(seedByte: number): BenchCosigner {
  const seed = new Uint8Array(32).fill(seedByte);
  const master = HDKey.fromMasterSeed(seed, TEST_VERSIONS);
  try {
    const priv = master.derive("m/48'/1'/0'/2'");
    const account = HDKey.fromExtendedKey(priv.publicExtendedKey, TEST_VERSIONS);
    priv.wipePrivateData();
    return {
      fingerprint: fingerprintBytes(master.fingerprint),
      xpub: account.publicExtendedKey,
      account,
    };
  } finally {
    master.wipePrivateData();
    seed.fill(0);
  }
}

/** A deterministic P2WPKH-shaped script (external destinations and list padding). */
export function externalScript(
  n: number,
  kind: 'p2wpkh' | 'p2tr' = 'p2wpkh',
): Uint8Array<ArrayBuffer> {
  const len = kind === 'p2wpkh' ? 20 : 32;
  const s = new Uint8Array(2 + len);
  s[0] = kind === 'p2wpkh' ? 0x00 : 0x51;
  s[1] = len;
  new DataView(s.buffer).setUint32(2, n >>> 0);
  s[len + 1] = 0xb7;
  return s;
}

/** Destinations the bench transactions pay (all allow-listed long enough ago). */
export const DESTINATIONS: readonly Uint8Array<ArrayBuffer>[] = Object.freeze([
  externalScript(1),
  externalScript(2, 'p2tr'),
  externalScript(3),
]);

/** Size of the deny list and of the extra allow-list entries (a realistic database). */
export const LIST_PADDING = 2_000;

function policyRules(): { rules: PolicyRuleInput[]; longestWindow: number } {
  const deny = Array.from({ length: LIST_PADDING }, (_, i) => externalScript(1_000_000 + i));
  const allow = [
    ...DESTINATIONS.map((script) => ({ script, addedAt: NOW - 30 * DAY })),
    ...Array.from({ length: LIST_PADDING }, (_, i) => ({
      script: externalScript(2_000_000 + i),
      addedAt: NOW - 10 * DAY,
    })),
  ];
  const longestWindow = 7 * DAY;
  return {
    longestWindow,
    rules: [
      { type: 'maxPerTransaction', maxAmount: 10_000_000_000n },
      { type: 'maxPerOutput', maxAmount: 5_000_000_000n },
      { type: 'velocity', windowSeconds: DAY, maxAmount: 50_000_000_000n, maxCount: 10_000 },
      {
        type: 'velocity',
        windowSeconds: longestWindow,
        maxAmount: 200_000_000_000n,
        maxCount: 50_000,
      },
      { type: 'maxFee', absolute: 10_000_000n, feerateMsatPerVb: 200_000n },
      { type: 'denyDestinations', scripts: deny },
      { type: 'allowDestinations', entries: allow, coolingOffSeconds: DAY },
      { type: 'requireIntents' },
    ],
  };
}

function descriptorOf(keys: readonly BenchCosigner[]): string {
  const body = `wsh(sortedmulti(2,${keys
    .map((k) => `[${bytesToHex(k.fingerprint)}/48'/1'/0'/2']${k.xpub}/<0;1>/*`)
    .join(',')}))`;
  return `${body}#${descriptorChecksum(body)}`;
}

/** Builds the bench world. The device key is unlocked from fixed entropy (wiped after). */
export function makeBenchWallet(): BenchWallet {
  const entropy = new Uint8Array(32).fill(DEVICE_ENTROPY_BYTE);
  let device: UnlockedKey;
  try {
    device = UnlockedKey.fromEntropy(entropy, NETWORK);
  } finally {
    entropy.fill(0);
  }
  const fp = Number.parseInt(device.fingerprint(), 16);
  const deviceCosigner: BenchCosigner = {
    fingerprint: fingerprintBytes(fp),
    xpub: device.accountXpub(),
    account: HDKey.fromExtendedKey(device.accountXpub(), TEST_VERSIONS),
  };
  const keys = Object.freeze([deviceCosigner, cosignerFromSeed(0x42), cosignerFromSeed(0x43)]);
  const descriptorText = descriptorOf(keys);
  const intentSecret = new Uint8Array(32).fill(0x77);
  const intentKey = ed25519.getPublicKey(intentSecret);
  const { rules, longestWindow } = policyRules();
  const doc: PolicyDocumentInput = {
    version: 1,
    previous: new Uint8Array(32),
    issuedAt: NOW - DAY,
    expiresAt: NOW + 30 * DAY,
    network: NETWORK,
    devices: ['signer-a', 'signer-b', 'signer-c'],
    wallets: [{ name: 'hot', descriptor: descriptorText }],
    intentKeys: [intentKey],
    changeWindow: 1000,
    rules,
    lockout: { maxRefusals: 5, windowSeconds: 3600 },
  };
  const policy = compilePolicy(validatePolicyDocument('bench/policy', doc));
  return Object.freeze({
    device,
    keys,
    descriptorText,
    policy,
    intentKeys: Object.freeze([intentKey]),
    intentSecret,
    longestWindowSeconds: longestWindow,
  });
}

/**
 * A verify context over a FRESH wallet object: deriveScript caches per wallet object, so a new
 * parse makes every input's three cosigner derivations cold, as for a transaction spending
 * addresses the device has never seen (the usual case).
 */
export function freshVerifyContext(w: BenchWallet): VerifyContext {
  const wallet: WalletDescriptor = parseDescriptor(w.descriptorText, NETWORK);
  const own = w.keys[0];
  if (own === undefined) throw new Error('bench/wallet: no device key');
  const ownKeyIndex = findOwnKey(wallet, own.fingerprint, own.xpub, ACCOUNT_PATH);
  return {
    wallet,
    network: NETWORK,
    ownKeyIndex,
    changeWindow: { from: 0, size: 1000 },
    limits: DEFAULT_PSBT_LIMITS,
    txRules: { ...DEFAULT_TX_RULES, maxLocktime: 900_000 },
  };
}

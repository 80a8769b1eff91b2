/**
 * A whole Keyline deployment for the flow tests: the key ceremony for three devices (weak KDF,
 * tests only), three holder keys, two officer keys, an intent key, a signed policy over the
 * registered 2-of-3 descriptor, and helpers to drive each device through the REAL RPC stack
 * (connectInProcess) with an injected monotonic clock.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCanonical, isWireError, type RpcClient } from '@keyline/wire-protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { HDKey } from '@scure/bip32';
import { signActivation } from '../../src/device/activation.js';
import { connectInProcess, createSigner, type InProcessLink } from '../../src/device/in-process.js';
import type { Signer } from '../../src/device/signer.js';
import type { SignerConfigInput } from '../../src/device/signer-config.js';
import { type KeygenResult, keygen } from '../../src/keystore/ceremony.js';
import { generateHolderKey, type HolderKey } from '../../src/keystore/holder-key.js';
import {
  hashPolicyDocument,
  type PolicyDocumentInput,
  validatePolicyDocument,
} from '../../src/policy/document.js';
import { intentSigningMessage } from '../../src/policy/intent.js';
import type { PolicyRuleInput } from '../../src/policy/rules.js';
import { policyApprovalMessage } from '../../src/policy/signed-policy.js';
import { pass, seededRandom, WEAK } from '../keystore/helpers.js';
import { type Cosigner, descriptorText } from '../psbt/fixtures.js';

export const T0 = 1_800_000_000;
export const DAY = 86_400;
export const NETWORK = 'regtest' as const;
export const DEVICE_IDS = ['signer-a', 'signer-b', 'signer-c'] as const;
const TEST_VERSIONS = { private: 0x04358394, public: 0x043587cf };

/** A script on the deny list, and two ordinary destinations. */
export const DENIED = Uint8Array.from([0x00, 0x14, ...new Uint8Array(20).fill(0x66)]);

export interface DeviceKit {
  readonly id: string;
  readonly ceremony: KeygenResult;
  readonly cosigner: Cosigner;
  readonly passphrase: string;
}

export interface Deployment {
  readonly dir: string;
  readonly devices: readonly DeviceKit[];
  readonly holders: readonly HolderKey[];
  readonly officers: readonly HolderKey[];
  readonly intentSecret: Uint8Array;
  readonly intentPublic: Uint8Array<ArrayBuffer>;
  readonly descriptor: string;
  readonly cosigners: readonly Cosigner[];
  cleanup(): Promise<void>;
}

function cosignerOf(k: KeygenResult): Cosigner {
  const fingerprint = Uint8Array.from(Buffer.from(k.fingerprint, 'hex'));
  const fpNumber = Buffer.from(fingerprint).readUInt32BE(0);
  return {
    account: HDKey.fromExtendedKey(k.xpub, TEST_VERSIONS),
    fingerprint,
    fpNumber,
    xpub: k.xpub,
    coin: 1,
  };
}

/** The ceremony for three devices, three holders, two officers and one intent key. */
export async function setupDeployment(label: string): Promise<Deployment> {
  const dir = await mkdtemp(join(tmpdir(), `keyline-flow-${label}-`));
  const random = seededRandom(`flow/${label}`);
  const devices = DEVICE_IDS.map((id, i) => {
    const passphrase = `device ${id} passphrase ${i}`;
    const ceremony = keygen({
      network: NETWORK,
      passphrase: pass(passphrase),
      backupPassphrase: pass(`backup of ${id} is different`),
      random,
      ...WEAK,
    });
    return { id, ceremony, passphrase, cosigner: cosignerOf(ceremony) };
  });
  const holders = [0, 1, 2].map(() => generateHolderKey('holder-key', random));
  const officers = [0, 1].map(() => generateHolderKey('officer-key', random));
  const intentSecret = random(32);
  const cosigners = devices.map((d) => d.cosigner);
  for (const id of DEVICE_IDS) await mkdir(join(dir, id));
  return {
    dir,
    devices,
    holders,
    officers,
    intentSecret,
    intentPublic: Uint8Array.from(ed25519.getPublicKey(intentSecret)),
    descriptor: descriptorText(cosigners),
    cosigners,
    cleanup: async () => {
      for (const k of [...holders, ...officers]) k.wipe();
      intentSecret.fill(0);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function signerConfig(d: Deployment, i: number, over: Partial<SignerConfigInput> = {}) {
  const pin = (k: HolderKey) => ({ keyId: k.keyId, publicKey: k.publicKey });
  return {
    deviceId: DEVICE_IDS[i] ?? 'signer-x',
    network: NETWORK,
    holders: d.holders.map(pin),
    officers: d.officers.map(pin),
    officerThreshold: 2,
    ownHolderKeyId: d.holders[i]?.keyId ?? null,
    activationTtlSeconds: 900,
    changeWindow: 100,
    refusalLockout: { max: 20, windowSeconds: 3600 },
    ...over,
  } satisfies SignerConfigInput;
}

export const VELOCITY_CAP = 2_500_000n;

/** The default rule list: deny list first, then intents, caps, fee, velocity. */
export function defaultRules(): PolicyRuleInput[] {
  return [
    { type: 'denyDestinations', scripts: [DENIED] },
    { type: 'requireIntents' },
    { type: 'maxPerTransaction', maxAmount: 2_000_000n },
    { type: 'maxFee', absolute: 100_000n, feerateMsatPerVb: 200_000n },
    { type: 'velocity', windowSeconds: DAY, maxAmount: VELOCITY_CAP, maxCount: 10 },
  ];
}

export function policyDoc(d: Deployment, over: Partial<PolicyDocumentInput> = {}) {
  return {
    version: 1,
    previous: new Uint8Array(32),
    issuedAt: T0,
    expiresAt: T0 + 30 * DAY,
    network: NETWORK,
    devices: [...DEVICE_IDS],
    wallets: [{ name: 'hot', descriptor: d.descriptor }],
    intentKeys: [d.intentPublic],
    changeWindow: 50,
    rules: defaultRules(),
    lockout: { maxRefusals: 1000, windowSeconds: 3600 },
    ...over,
  } satisfies PolicyDocumentInput;
}

/** An approval with its own ArrayBuffer (the wire types ask for one). */
export function approvalOf(a: { keyId: string; signature: Uint8Array }) {
  return { keyId: a.keyId, signature: Uint8Array.from(a.signature) };
}

/** Canonical document bytes and two officer approvals over them. */
export function signedPolicy(d: Deployment, doc: PolicyDocumentInput) {
  const document = Uint8Array.from(encodeCanonical(validatePolicyDocument('test', doc)));
  const message = policyApprovalMessage(hashPolicyDocument(document));
  const approvals = d.officers.map((o) =>
    approvalOf({ keyId: o.keyId, signature: o.sign(message) }),
  );
  return { document, approvals, hash: Uint8Array.from(hashPolicyDocument(document)) };
}

export function intent(d: Deployment, withdrawalId: string, script: Uint8Array, amount: bigint) {
  const content = {
    withdrawalId,
    scriptPubKey: Uint8Array.from(script),
    amount,
    expiresAt: T0 + DAY,
  };
  const signature = ed25519.sign(intentSigningMessage(content), d.intentSecret);
  return { ...content, signature: Uint8Array.from(signature) };
}

/** One running device: its signer, its RPC link, and its monotonic clock. */
export interface Running {
  readonly signer: Signer;
  readonly link: InProcessLink;
  readonly client: RpcClient;
  /** Advance the device's monotonic clock. */
  tick(seconds: number): void;
  close(): Promise<void>;
}

export async function startDevice(
  d: Deployment,
  i: number,
  opts: { provision?: boolean; config?: Partial<SignerConfigInput> } = {},
): Promise<Running> {
  const kit = d.devices[i];
  if (kit === undefined) throw new Error('no such device');
  let mono = 0;
  const signer = await createSigner({
    keyFile: kit.ceremony.keyFile,
    passphrase: pass(kit.passphrase),
    stateDir: join(d.dir, kit.id),
    config: signerConfig(d, i, opts.config),
    clock: () => mono,
    provision: opts.provision ?? true,
    kdf: { allowWeakKdfForTests: true },
  });
  const link = connectInProcess(signer);
  return {
    signer,
    link,
    client: link.client,
    tick: (s) => {
      mono += s * 1000;
    },
    close: async () => {
      await link.close();
      await signer.close();
    },
  };
}

/** Activation by the next holder (not the device's own), through unlock_status and activate. */
export async function activate(d: Deployment, i: number, r: Running): Promise<void> {
  const status = await r.client.call('unlock_status', {});
  if (status.activation === null) throw new Error('no challenge');
  const holder = d.holders[(i + 1) % 3];
  if (holder === undefined) throw new Error('no holder');
  const signed = signActivation(
    { deviceId: DEVICE_IDS[i] ?? '', ...status.activation },
    { keyId: holder.keyId, sign: (m) => holder.sign(m) },
  );
  await r.client.call('activate', { activation: signed });
}

/** The error a call rejects with (fails the test when it resolves). */
export async function callError(p: Promise<unknown>): Promise<{ code: string; data: unknown }> {
  const e = await p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: unknown) => err,
  );
  if (!isWireError(e)) throw e;
  return { code: e.code, data: e.data };
}

/** Start device i, activate it, install the signed policy: ready to sign. */
export async function armedDevice(
  d: Deployment,
  i: number,
  policy: ReturnType<typeof signedPolicy>,
  opts: { provision?: boolean; config?: Partial<SignerConfigInput> } = {},
): Promise<Running> {
  const r = await startDevice(d, i, opts);
  await activate(d, i, r);
  await r.client.call('update_policy', { document: policy.document, approvals: policy.approvals });
  return r;
}

/** A sign_psbt request at device time T0 + `at`. */
export function signRequest(
  psbt: Uint8Array,
  intents: ReturnType<typeof intent>[],
  at: number,
  height = 900,
) {
  return {
    wallet: 'hot',
    psbt: Uint8Array.from(psbt),
    time: { unixSeconds: T0 + at, height },
    intents,
  };
}

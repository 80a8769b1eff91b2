/** Shared builders for the policy tests: keys from fixed seeds, documents, summaries, memory. */
import { ed25519 } from '@noble/curves/ed25519.js';
import { type DeviceMemory, emptyMemory } from '../../src/device-memory.js';
import { type CompiledPolicy, compilePolicy } from '../../src/policy/compile.js';
import { type PolicyDocumentInput, validatePolicyDocument } from '../../src/policy/document.js';
import {
  type IntentContent,
  intentSigningMessage,
  type VerifiedIntent,
  verifyIntent,
} from '../../src/policy/intent.js';
import type { PolicyRuleInput } from '../../src/policy/rules.js';
import type { TxSummary, VerifiedOutput } from '../../src/tx-summary.js';

export const NOW = 1_800_000_000;
export const DAY = 86_400;
export const DEVICE_ID = 'signer-a';

export function seedKey(n: number): { secret: Uint8Array; publicKey: Uint8Array<ArrayBuffer> } {
  const secret = new Uint8Array(32).fill(n);
  return { secret, publicKey: new Uint8Array(ed25519.getPublicKey(secret)) };
}

export const OFFICERS = [1, 2, 3].map((n) => ({ keyId: `officer-${n}`, ...seedKey(n) }));
export const INTENT_KEY = seedKey(50);
export const OTHER_KEY = seedKey(51);

/** A P2WPKH-shaped script whose 20-byte program encodes `n`. */
export function script(n: number): Uint8Array<ArrayBuffer> {
  const s = new Uint8Array(22);
  s[0] = 0x00;
  s[1] = 0x14;
  new DataView(s.buffer).setUint32(18, n >>> 0);
  s[2] = 0xab;
  return s;
}

export function baseDoc(
  rules: PolicyRuleInput[],
  over: Partial<PolicyDocumentInput> = {},
): PolicyDocumentInput {
  return {
    version: 1,
    previous: new Uint8Array(32),
    issuedAt: NOW - DAY,
    expiresAt: NOW + 30 * DAY,
    network: 'regtest',
    devices: [DEVICE_ID, 'signer-b'],
    wallets: [{ name: 'hot', descriptor: 'wsh(sortedmulti(2,...))' }],
    intentKeys: [INTENT_KEY.publicKey],
    changeWindow: 1000,
    rules,
    lockout: { maxRefusals: 3, windowSeconds: 3600 },
    ...over,
  };
}

export function compiled(
  rules: PolicyRuleInput[],
  over: Partial<PolicyDocumentInput> = {},
): CompiledPolicy {
  return compilePolicy(validatePolicyDocument('test', baseDoc(rules, over)));
}

export interface TxSpec {
  external?: { script: Uint8Array; amount: bigint }[];
  change?: { amount: bigint; index: number }[];
  fee?: bigint;
  /** Outpoints as [txid byte, vout]. */
  inputs?: [number, number][];
  txidByte?: number;
}

export function summary(spec: TxSpec = {}): TxSummary {
  const external = spec.external ?? [{ script: script(1), amount: 100_000n }];
  const change = spec.change ?? [];
  const fee = spec.fee ?? 1_000n;
  const inputsSpec = spec.inputs ?? [[1, 0]];
  const outputs: VerifiedOutput[] = [];
  for (const e of external) {
    outputs.push({
      index: outputs.length,
      kind: 'external',
      scriptPubKey: e.script,
      amount: e.amount,
    });
  }
  for (const c of change) {
    outputs.push({
      index: outputs.length,
      kind: 'change',
      scriptPubKey: script(900_000 + c.index),
      amount: c.amount,
      addressIndex: c.index,
    });
  }
  const totalExternal = external.reduce((a, e) => a + e.amount, 0n);
  const totalOut = outputs.reduce((a, o) => a + o.amount, 0n);
  const inputs = inputsSpec.map(([b, vout], index) => ({
    index,
    outpoint: { txid: new Uint8Array(32).fill(b), vout },
    amount: 0n,
    branch: 0 as const,
    addressIndex: index,
    sequence: 0xfffffffd,
  }));
  const totalIn = totalOut + fee;
  if (inputs[0]) inputs[0] = { ...inputs[0], amount: totalIn };
  const vsize = 200;
  return {
    walletId: new Uint8Array(32).fill(7),
    txid: new Uint8Array(32).fill(spec.txidByte ?? 0xee),
    version: 2,
    locktime: 0,
    inputs,
    outputs,
    totalIn,
    totalOut,
    totalExternal,
    fee,
    vsize,
    feerateMsatPerVb: (fee * 1000n + BigInt(vsize) - 1n) / BigInt(vsize),
  };
}

export function signIntentRaw(content: IntentContent, secret = INTENT_KEY.secret) {
  return { ...content, signature: ed25519.sign(intentSigningMessage(content), secret) };
}

export function intent(
  withdrawalId: string,
  scriptPubKey: Uint8Array<ArrayBuffer>,
  amount: bigint,
  expiresAt = NOW + 3600,
): VerifiedIntent {
  return verifyIntent(
    signIntentRaw({ withdrawalId, scriptPubKey, amount, expiresAt }),
    [INTENT_KEY.publicKey],
    NOW - 10,
  );
}

export function memory(over: Partial<DeviceMemory> = {}): DeviceMemory {
  return { ...emptyMemory('regtest'), ...over };
}

/** What the durable state does with a sign decision's record (test stand-in). */
export function applyRecord(
  mem: DeviceMemory,
  record: {
    spend: DeviceMemory['spends'][number];
    withdrawals: readonly DeviceMemory['withdrawals'][string][];
    changeIndex?: { walletId: string; index: number };
  },
): DeviceMemory {
  const withdrawals = { ...mem.withdrawals };
  for (const w of record.withdrawals) withdrawals[w.withdrawalId] = w;
  const changeIndex = { ...mem.changeIndex };
  if (record.changeIndex) changeIndex[record.changeIndex.walletId] = record.changeIndex.index;
  return { ...mem, spends: [...mem.spends, record.spend], withdrawals, changeIndex };
}

/**
 * End to end with real signer devices: the device package's flow fixtures run the key ceremony
 * for three in-process devices, arm two of them with a signed policy over the registered
 * descriptor, and talk to them over the real RPC stack. The vault builds the wallet from the
 * enrolled keys, selects coins, builds the PSBT; the devices verify and sign it; finalize checks
 * every signature, combines and extracts; the result's signatures are checked again against
 * sighashes computed independently by btc-signer. Then a fee bump (RBF) of the same payments is
 * signed by the same devices and finalized. (The devices count a replacement's outflow again in
 * their velocity window, so the amounts here stay below half the fixture policy's cap.)
 */
import { verifyInputSignature } from '@keyline/signer-device/wallet';
import { SigHash, Transaction } from '@scure/btc-signer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPsbt } from '../../src/vault/build-psbt.js';
import { selectCoins } from '../../src/vault/coin-selection.js';
import { finalizeTransaction, verifyDeviceReply } from '../../src/vault/finalize.js';
import type { TxPlan } from '../../src/vault/plan.js';
import { replaceByFee } from '../../src/vault/rbf.js';
import { buildWallet, deriveAddress, type VaultWallet } from '../../src/vault/wallet.js';
import { DEST, fund, payment } from './fixtures.js';

/** The device package's flow fixtures, loaded from its test folder (kept out of this tsc program). */
const FLOW = '../../../signer-device/test/flow/fixtures.js';
interface Signature {
  input: number;
  pubkey: Uint8Array;
  signature: Uint8Array;
}
interface Running {
  client: { call(method: string, params: unknown): Promise<unknown> };
  tick(seconds: number): void;
  close(): Promise<void>;
}
interface Deployment {
  descriptor: string;
  cosigners: readonly { fingerprint: Uint8Array; xpub: string; coin: number }[];
  cleanup(): Promise<void>;
}
interface Flow {
  setupDeployment(label: string): Promise<Deployment>;
  defaultRules(): unknown[];
  policyDoc(d: Deployment, over?: object): object;
  signedPolicy(d: Deployment, doc: object): { document: Uint8Array; approvals: unknown[] };
  armedDevice(d: Deployment, i: number, policy: unknown): Promise<Running>;
  intent(d: Deployment, id: string, script: Uint8Array, amount: bigint): unknown;
  signRequest(psbt: Uint8Array, intents: unknown[], at: number, height?: number): unknown;
}
const flow = (await import(/* @vite-ignore */ FLOW)) as Flow;

describe('vault ⇄ real signer devices', () => {
  let d: Deployment;
  let wallet: VaultWallet;
  const devices: { id: string; r: Running }[] = [];

  beforeAll(async () => {
    d = await flow.setupDeployment('vault-e2e');
    const rules = [
      ...flow.defaultRules(),
      { type: 'maxReplacementFeeBump', maxBump: 50_000n, maxReplacements: 3 },
    ];
    const policy = flow.signedPolicy(d, flow.policyDoc(d, { rules }));
    for (const [i, id] of [
      [0, 'signer-a'],
      [2, 'signer-c'],
    ] as const) {
      const r = await flow.armedDevice(d, i, policy);
      devices.push({ id, r });
      await r.client.call('register_wallet', {
        name: 'hot',
        descriptor: d.descriptor,
        approvals: policy.approvals,
      });
    }
  });
  afterAll(async () => {
    for (const { r } of devices) await r.close();
    await d?.cleanup();
  });

  async function signAndFinalize(plan: TxPlan, prev: Map<string, Uint8Array>, at: number) {
    const built = buildPsbt({ wallet, plan, changeIndex: 0, prevTxs: prev });
    const intents = plan.payments.map((p) =>
      flow.intent(d, p.withdrawalId, p.scriptPubKey, p.amount),
    );
    const replies = [];
    for (const { id, r } of devices) {
      r.tick(at);
      const reply = (await r.client.call(
        'sign_psbt',
        flow.signRequest(built.psbt, intents, at),
      )) as { signatures: Signature[] };
      expect(reply.signatures).toHaveLength(plan.inputs.length);
      verifyDeviceReply(wallet, built.psbt, { deviceId: id, signatures: reply.signatures });
      replies.push({ deviceId: id, signatures: reply.signatures });
    }
    return { built, final: finalizeTransaction(wallet, built.psbt, replies) };
  }

  it('builds the registered wallet from the enrolled keys, and two devices sign what the vault built', async () => {
    wallet = buildWallet(
      d.cosigners.map((c) => ({
        fingerprint: c.fingerprint,
        path: `m/48'/${c.coin}'/0'/2'`,
        xpub: c.xpub,
      })),
      'regtest',
    );
    expect(wallet.descriptor).toBe(d.descriptor);

    const funded = fund(
      [
        { branch: 0, index: 0, amount: 600_000n },
        { branch: 0, index: 1, amount: 700_000n },
        { branch: 0, index: 2, amount: 450_000n },
        { branch: 0, index: 3, amount: 9_000n, height: null },
      ],
      'e2e deposits',
      wallet,
    );
    const prev = new Map([[funded.txid, funded.raw]]);
    const plan = selectCoins({
      utxos: funded.utxos,
      withdrawals: [payment('e2e-1', 700_000n, DEST.p2wpkh), payment('e2e-2', 300_000n, DEST.p2tr)],
      feerateSatPerKvB: 5_000n,
      tipHeight: 200,
    });
    expect(plan.inputs).toHaveLength(2);
    const { built, final } = await signAndFinalize(plan, prev, 5);
    expect(final.txid).toBe(built.summary.txid);
    expect(final.fee).toBe(plan.fee);

    // Independent check: btc-signer's BIP143 preimage, the strict verifier, each witness.
    const tx = Transaction.fromPSBT(built.psbt);
    const signed = Transaction.fromRaw(final.raw);
    plan.inputs.forEach((u, i) => {
      const addr = deriveAddress(wallet, u.branch, u.index);
      const witness = signed.getInput(i).finalScriptWitness ?? [];
      expect(witness).toHaveLength(4);
      const digest = tx.preimageWitnessV0(i, addr.witnessScript, SigHash.ALL, u.value);
      const verifying = [1, 2].map((w) =>
        addr.pubkeys.findIndex((pk) => verifyInputSignature(pk, digest, witness[w] as Uint8Array)),
      );
      expect(verifying.every((k) => k >= 0)).toBe(true);
      expect((verifying[0] ?? 0) < (verifying[1] ?? 0)).toBe(true); // script key order
    });

    // A stuck transaction: the devices sign its replacement (same inputs and payments, more fee).
    const bump = replaceByFee({
      original: plan,
      originalVsize: final.vsize,
      feerateSatPerKvB: 20_000n,
    });
    const second = await signAndFinalize(bump, prev, 10);
    expect(second.final.txid).not.toBe(final.txid);
    expect(second.final.fee).toBe(bump.fee);
    expect(second.final.fee > final.fee).toBe(true);
  });
});

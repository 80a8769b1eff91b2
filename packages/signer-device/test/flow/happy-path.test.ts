/**
 * The whole ceremony and one withdrawal, through the real RPC stack: three devices, a policy
 * signed by two officers, unlock, activation by a second holder, update_policy, register_wallet,
 * then a PSBT signed by two devices, combined, finalized with @scure/btc-signer, and every input's
 * signatures checked against a sighash computed independently by btc-signer.
 */
import { SigHash, Transaction } from '@scure/btc-signer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyInputSignature } from '../../src/psbt/signature.js';
import { buildPsbt, EXTERNAL_P2TR, EXTERNAL_P2WPKH } from '../psbt/fixtures.js';
import {
  activate,
  type Deployment,
  intent,
  policyDoc,
  type Running,
  setupDeployment,
  signedPolicy,
  signRequest,
  startDevice,
} from './fixtures.js';

describe('signing flow: ceremony to a finalized 2-of-3 transaction', () => {
  let d: Deployment;
  const running: Running[] = [];
  beforeAll(async () => {
    d = await setupDeployment('happy');
  });
  afterAll(async () => {
    for (const r of running) await r.close();
    await d.cleanup();
  });

  it('signs with two devices and the combined transaction verifies for every input', async () => {
    const policy = signedPolicy(d, policyDoc(d));
    for (const i of [0, 1]) {
      const r = await startDevice(d, i);
      running.push(r);
      expect((await r.client.call('get_info', {})).state).toBe('unlocked');
      await activate(d, i, r);
      expect((await r.client.call('unlock_status', {})).state).toBe('armed');
      const installed = await r.client.call('update_policy', {
        document: policy.document,
        approvals: policy.approvals,
      });
      expect(installed).toEqual({ version: 1, hash: policy.hash });
      const reg = await r.client.call('register_wallet', {
        name: 'hot',
        descriptor: d.descriptor,
        approvals: policy.approvals,
      });
      expect(reg.name).toBe('hot');
      const info = await r.client.call('get_info', {});
      expect(info).toMatchObject({ state: 'armed', policyVersion: 1, wallets: 1 });
    }
    const built = buildPsbt({ keys: d.cosigners });
    const intents = [
      intent(d, 'w-1', EXTERNAL_P2WPKH, 1_200_000n),
      intent(d, 'w-2', EXTERNAL_P2TR, 300_000n),
    ];
    const replies = [];
    for (const r of running) {
      r.tick(5);
      replies.push(await r.client.call('sign_psbt', signRequest(built.psbt, intents, 5)));
    }
    const tx = Transaction.fromPSBT(built.psbt);
    for (const reply of replies) {
      expect(reply.signatures).toHaveLength(3);
      for (const s of reply.signatures) {
        tx.updateInput(s.input, { partialSig: [[s.pubkey, s.signature]] });
      }
    }
    tx.finalize();
    expect(tx.isFinal).toBe(true);
    // Independent check: btc-signer's BIP143 preimage, our strict verifier, each witness.
    for (let i = 0; i < tx.inputsLength; i++) {
      const input = built.inputs[i];
      if (input === undefined) throw new Error('input');
      const witness = tx.getInput(i).finalScriptWitness;
      if (witness === undefined) throw new Error('not finalized');
      expect(witness).toHaveLength(4); // OP_0 dummy, sig, sig, witnessScript
      const script = witness[3] as Uint8Array;
      expect(script).toEqual(input.witnessScript);
      const digest = tx.preimageWitnessV0(i, script, SigHash.ALL, input.amount);
      const pubkeys = [1, 2].map((j) => witness[j] as Uint8Array);
      for (const sig of pubkeys) {
        const signer = replies
          .flatMap((rep) => rep.signatures)
          .find((s) => s.input === i && s.signature.every((b, k) => b === sig[k]));
        expect(signer).toBeDefined();
        expect(verifyInputSignature(signer?.pubkey ?? new Uint8Array(33), digest, sig)).toBe(true);
      }
    }
    // A signature for another digest does not verify (the check above can fail).
    const sig0 = replies[0]?.signatures[0];
    if (sig0 === undefined) throw new Error('no signature');
    const other = tx.preimageWitnessV0(
      1,
      built.inputs[1]?.witnessScript ?? new Uint8Array(),
      SigHash.ALL,
      1n,
    );
    expect(verifyInputSignature(sig0.pubkey, other, sig0.signature)).toBe(false);
    // The audit log tells the coordinator what was signed, and it chains.
    const log = await running[0]?.client.call('get_audit_log', { fromSeq: 0, limit: 1000 });
    const kinds = log?.entries.map((e) => e.kind) ?? [];
    expect(kinds).toContain('signature');
    expect(kinds).toContain('policy');
    expect(replies[0]?.auditSeq).toBe(log?.entries.findLast((e) => e.kind === 'signature')?.seq);
  });
});

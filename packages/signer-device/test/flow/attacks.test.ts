/**
 * Attacks through the RPC surface of a running device (real stack, compromised coordinator):
 * each request below must be answered with the named code and no signature.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signActivation } from '../../src/device/activation.js';
import { signPause, signResume } from '../../src/device/approvals.js';
import {
  buildPsbt,
  EXTERNAL_P2TR,
  EXTERNAL_P2WPKH,
  mutate,
  STRANGER,
  walletScript,
} from '../psbt/fixtures.js';
import {
  activate,
  approvalOf,
  armedDevice,
  callError,
  DENIED,
  DEVICE_IDS,
  type Deployment,
  intent,
  policyDoc,
  type Running,
  setupDeployment,
  signedPolicy,
  signRequest,
  startDevice,
} from './fixtures.js';

const standardIntents = (d: Deployment, a = 'w-1', b = 'w-2') => [
  intent(d, a, EXTERNAL_P2WPKH, 1_200_000n),
  intent(d, b, EXTERNAL_P2TR, 300_000n),
];

describe('sign_psbt attacks through the RPC surface', () => {
  let d: Deployment;
  let r: Running;
  let policy: ReturnType<typeof signedPolicy>;
  beforeAll(async () => {
    d = await setupDeployment('attacks');
    policy = signedPolicy(d, policyDoc(d));
    r = await armedDevice(d, 0, policy);
    r.tick(10);
  });
  afterAll(async () => {
    await r.close();
    await d.cleanup();
  });

  it('refuses a deny-listed destination and forwards the refusal report', async () => {
    const built = buildPsbt({
      keys: d.cosigners,
      external: [{ amount: 1_200_000n, script: DENIED }],
      change: { index: 5, amount: 1_790_000n },
    });
    const e = await callError(
      r.client.call(
        'sign_psbt',
        signRequest(built.psbt, [intent(d, 'w-deny', DENIED, 1_200_000n)], 1),
      ),
    );
    expect(e.code).toBe('POLICY_REFUSED');
    expect(e.data).toEqual({
      rule: 'rules[0].denyDestinations',
      output: 0,
      input: null,
      detail: expect.stringContaining('DESTINATION_DENIED'),
    });
  });

  it('signs a valid withdrawal, then refuses one over the velocity cap', async () => {
    const first = buildPsbt({ keys: d.cosigners });
    const ok = await r.client.call('sign_psbt', signRequest(first.psbt, standardIntents(d), 2));
    expect(ok.signatures).toHaveLength(3);
    // 1.51 M already spent; another 1.51 M exceeds the 2.5 M daily cap.
    const second = buildPsbt({ keys: d.cosigners, inputIndices: [3, 4, 5] });
    const e = await callError(
      r.client.call('sign_psbt', signRequest(second.psbt, standardIntents(d, 'w-3', 'w-4'), 3)),
    );
    expect(e.code).toBe('POLICY_REFUSED');
    expect(e.data).toMatchObject({
      rule: 'rules[4].velocity',
      detail: expect.stringContaining('VELOCITY_AMOUNT'),
    });
  });

  it('refuses a withdrawal id already paid, by a transaction with disjoint inputs', async () => {
    const rebuilt = buildPsbt({ keys: d.cosigners, inputIndices: [6, 7, 8] });
    const e = await callError(
      r.client.call('sign_psbt', signRequest(rebuilt.psbt, standardIntents(d), 4)),
    );
    expect(e.code).toBe('POLICY_REFUSED');
    expect(e.data).toMatchObject({
      rule: 'rules[1].requireIntents',
      detail: expect.stringContaining('DOUBLE_PAYMENT'),
    });
  });

  it('treats a change output with a swapped cosigner as external: it needs an intent', async () => {
    const small = buildPsbt({
      keys: d.cosigners,
      inputIndices: [9],
      external: [{ amount: 100_000n, script: EXTERNAL_P2WPKH }],
      change: { index: 6, amount: 890_000n },
    });
    const swapped = [d.cosigners[0], d.cosigners[1], STRANGER].filter((k) => k !== undefined);
    const foreign = walletScript(swapped, 1, 6).script;
    const psbt = mutate(small.psbt, (p) => {
      const out = p.tx.outputs[1];
      if (out !== undefined) out.script = foreign;
    });
    const e = await callError(
      r.client.call(
        'sign_psbt',
        signRequest(psbt, [intent(d, 'w-5', EXTERNAL_P2WPKH, 100_000n)], 5),
      ),
    );
    expect(e.code).toBe('POLICY_REFUSED');
    expect(e.data).toMatchObject({
      output: 1,
      detail: expect.stringContaining('INTENT_MISSING'),
    });
  });

  it('refuses a time that goes backwards', async () => {
    const small = buildPsbt({
      keys: d.cosigners,
      inputIndices: [10],
      external: [{ amount: 100_000n, script: EXTERNAL_P2WPKH }],
      change: { index: 7, amount: 890_000n },
    });
    const e = await callError(
      r.client.call(
        'sign_psbt',
        signRequest(small.psbt, [intent(d, 'w-6', EXTERNAL_P2WPKH, 100_000n)], 0),
      ),
    );
    expect(e.code).toBe('CLOCK_REFUSED');
    expect(e.data).toMatchObject({ reason: 'TIME_BACKWARDS' });
    // The same request at a forward time is signed: the refusal was the time alone.
    const ok = await r.client.call(
      'sign_psbt',
      signRequest(small.psbt, [intent(d, 'w-6', EXTERNAL_P2WPKH, 100_000n)], 6),
    );
    expect(ok.signatures).toHaveLength(1);
  });

  it('refuses a policy rollback to an older signed version', async () => {
    const v2 = signedPolicy(d, policyDoc(d, { version: 2, previous: policy.hash }));
    expect(
      await r.client.call('update_policy', { document: v2.document, approvals: v2.approvals }),
    ).toEqual({ version: 2, hash: v2.hash });
    const e = await callError(
      r.client.call('update_policy', { document: policy.document, approvals: policy.approvals }),
    );
    expect(e.code).toBe('STALE_POLICY');
    expect(e.data).toMatchObject({ reason: 'ROLLBACK' });
    expect((await r.client.call('get_info', {})).policyVersion).toBe(2);
  });

  it('refuses a policy signed by one officer only', async () => {
    const v3 = signedPolicy(
      d,
      policyDoc(d, {
        version: 3,
        previous: signedPolicy(d, policyDoc(d, { version: 2, previous: policy.hash })).hash,
      }),
    );
    const e = await callError(
      r.client.call('update_policy', {
        document: v3.document,
        approvals: v3.approvals.slice(0, 1),
      }),
    );
    expect(e.code).toBe('UNAUTHORIZED');
    expect(e.data).toMatchObject({ reason: 'THRESHOLD_NOT_MET' });
    // With both officers the same document is accepted: the refusal was the missing approval.
    expect(
      await r.client.call('update_policy', { document: v3.document, approvals: v3.approvals }),
    ).toEqual({ version: 3, hash: v3.hash });
  });

  it('answers register_wallet only for the descriptor of the signed policy', async () => {
    const e = await callError(
      r.client.call('register_wallet', {
        name: 'cold',
        descriptor: d.descriptor,
        approvals: policy.approvals,
      }),
    );
    expect(e.code).toBe('WALLET_NOT_REGISTERED');
    const e2 = await callError(
      r.client.call('sign_psbt', { ...signRequest(new Uint8Array([1]), [], 7), wallet: 'cold' }),
    );
    expect(e2.code).toBe('WALLET_NOT_REGISTERED');
  });
});

describe('state guards and the refusal lockout', () => {
  let d: Deployment;
  beforeAll(async () => {
    d = await setupDeployment('guards');
  });
  afterAll(async () => {
    await d.cleanup();
  });

  it("refuses an activation signed by the device's own holder (unlock and activation take two people)", async () => {
    const r = await startDevice(d, 2);
    try {
      const status = await r.client.call('unlock_status', {});
      if (status.activation === null) throw new Error('no challenge');
      const own = d.holders[2]; // the fixtures pin holder i as device i's own holder
      if (own === undefined) throw new Error('holder');
      const signed = signActivation(
        { deviceId: DEVICE_IDS[2], ...status.activation },
        { keyId: own.keyId, sign: (m) => own.sign(m) },
      );
      const e = await callError(r.client.call('activate', { activation: signed }));
      expect(e.code).toBe('UNAUTHORIZED');
      expect(r.signer.state).toBe('unlocked');
      await activate(d, 2, r); // another pinned holder still can
      expect(r.signer.state).toBe('armed');
    } finally {
      await r.close();
    }
  });

  it('refuses to sign while unlocked-not-armed, paused and locked; resumes with two holders', async () => {
    const policy = signedPolicy(d, policyDoc(d));
    const r = await startDevice(d, 1);
    try {
      await r.client.call('update_policy', {
        document: policy.document,
        approvals: policy.approvals,
      });
      const built = buildPsbt({ keys: d.cosigners });
      const req = signRequest(built.psbt, standardIntents(d), 1);
      expect((await callError(r.client.call('sign_psbt', req))).code).toBe('NOT_ARMED');
      await activate(d, 1, r);
      const officer = d.officers[0];
      if (officer === undefined) throw new Error('officer');
      const approval = approvalOf(
        signPause(
          { deviceId: 'signer-b', bootNonce: r.signer.bootNonce, reason: 'incident' },
          officer,
        ),
      );
      expect(await r.client.call('pause', { reason: 'incident', approval })).toEqual({
        state: 'paused',
      });
      expect((await callError(r.client.call('sign_psbt', req))).code).toBe('PAUSED');
      const record = r.signer.pauseRecord;
      if (record === null) throw new Error('no pause record');
      const [h0, h1, h2] = d.holders;
      if (h0 === undefined || h1 === undefined || h2 === undefined) throw new Error('holders');
      // One holder, even twice, is not enough; an officer never resumes.
      const one = approvalOf(signResume(record, h0));
      expect((await callError(r.client.call('resume', { approvals: [one, one] }))).code).toBe(
        'UNAUTHORIZED',
      );
      expect(
        (
          await callError(
            r.client.call('resume', { approvals: [one, approvalOf(signResume(record, officer))] }),
          )
        ).code,
      ).toBe('UNAUTHORIZED');
      expect(
        await r.client.call('resume', { approvals: [one, approvalOf(signResume(record, h2))] }),
      ).toEqual({
        state: 'armed',
      });
      expect((await r.client.call('sign_psbt', req)).signatures).toHaveLength(3);
      expect(await r.client.call('lock', {})).toEqual({ state: 'locked' });
      expect((await callError(r.client.call('sign_psbt', req))).code).toBe('LOCKED');
    } finally {
      await r.close();
    }
  });

  it('pauses after repeated refusals; two holders resume it', async () => {
    const policy = signedPolicy(d, policyDoc(d));
    const r = await armedDevice(d, 2, policy, {
      config: { refusalLockout: { max: 2, windowSeconds: 3600 } },
    });
    try {
      const denied = buildPsbt({
        keys: d.cosigners,
        external: [{ amount: 1_200_000n, script: DENIED }],
        change: { index: 5, amount: 1_790_000n },
      });
      const req = signRequest(denied.psbt, [intent(d, 'w-d', DENIED, 1_200_000n)], 1);
      for (let i = 0; i < 3; i++) {
        expect((await callError(r.client.call('sign_psbt', req))).code).toBe('POLICY_REFUSED');
      }
      expect((await r.client.call('get_info', {})).state).toBe('paused');
      const good = buildPsbt({ keys: d.cosigners, inputIndices: [20, 21, 22] });
      const goodReq = signRequest(good.psbt, standardIntents(d), 2);
      expect((await callError(r.client.call('sign_psbt', goodReq))).code).toBe('PAUSED');
      const record = r.signer.pauseRecord;
      const [h0, h1] = d.holders;
      if (record === null || h0 === undefined || h1 === undefined) throw new Error('setup');
      await r.client.call('resume', {
        approvals: [approvalOf(signResume(record, h0)), approvalOf(signResume(record, h1))],
      });
      expect((await r.client.call('sign_psbt', goodReq)).signatures).toHaveLength(3);
    } finally {
      await r.close();
    }
  });
});

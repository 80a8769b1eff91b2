/**
 * sign_psbt steps that the end-to-end tests cannot reach directly: no signature leaves when the
 * state commit fails (step 9), a signature that does not verify is never released (step 8), the
 * change window, and a tampered stored policy that must not be used after a restart.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePolicyFile } from '../../src/device/accepted-policy.js';
import { connectInProcess, createSigner } from '../../src/device/in-process.js';
import {
  changeWindowFor,
  checkSignatures,
  type InputSignature,
} from '../../src/device/sign-flow.js';
import { emptyMemory } from '../../src/device-memory.js';
import { isSignerError } from '../../src/errors.js';
import { signDigestWithKey } from '../../src/keystore/ecdsa.js';
import type { SigningJob } from '../../src/psbt/verify-psbt.js';
import { verifyPsbt } from '../../src/psbt/verify-psbt.js';
import { type Fs, nodeFs } from '../../src/state/fs.js';
import { pass } from '../keystore/helpers.js';
import { buildPsbt, EXTERNAL_P2TR, EXTERNAL_P2WPKH, KEYS, makeContext } from '../psbt/fixtures.js';
import {
  activate,
  armedDevice,
  callError,
  type Deployment,
  intent,
  policyDoc,
  setupDeployment,
  signedPolicy,
  signerConfig,
  signRequest,
  startDevice,
} from './fixtures.js';

describe('step 9: the state commit gates every signature', () => {
  let d: Deployment;
  beforeAll(async () => {
    d = await setupDeployment('commit');
  });
  afterAll(async () => {
    await d.cleanup();
  });

  it('returns no signature when the commit fails, and signs once the disk works again', async () => {
    let failTmp = false;
    const fs: Fs = {
      ...nodeFs,
      writeFile: async (path, data) => {
        if (failTmp && path.endsWith('state.tmp')) {
          throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
        }
        return nodeFs.writeFile(path, data);
      },
    };
    let mono = 0;
    const kit = d.devices[0];
    if (kit === undefined) throw new Error('kit');
    const signer = await createSigner({
      keyFile: kit.ceremony.keyFile,
      passphrase: pass(kit.passphrase),
      stateDir: join(d.dir, kit.id),
      config: signerConfig(d, 0),
      clock: () => mono,
      provision: true,
      kdf: { allowWeakKdfForTests: true },
      fs,
    });
    const link = connectInProcess(signer);
    const r = {
      signer,
      link,
      client: link.client,
      tick: (s: number) => {
        mono += s * 1000;
      },
      close: async () => {
        await link.close();
        await signer.close();
      },
    };
    try {
      await activate(d, 0, r);
      const policy = signedPolicy(d, policyDoc(d));
      await r.client.call('update_policy', {
        document: policy.document,
        approvals: policy.approvals,
      });
      const built = buildPsbt({ keys: d.cosigners });
      const intents = [
        intent(d, 'w-1', EXTERNAL_P2WPKH, 1_200_000n),
        intent(d, 'w-2', EXTERNAL_P2TR, 300_000n),
      ];
      const before = signer.memory;
      failTmp = true;
      const e = await callError(r.client.call('sign_psbt', signRequest(built.psbt, intents, 1)));
      expect(e.code).toBe('INTERNAL');
      expect(signer.memory).toBe(before);
      expect(signer.memory?.spends).toHaveLength(0);
      failTmp = false;
      const ok = await r.client.call('sign_psbt', signRequest(built.psbt, intents, 2));
      expect(ok.signatures).toHaveLength(3);
      expect(signer.memory?.spends).toHaveLength(1);
    } finally {
      await r.close();
    }
  });

  it('does not use a stored policy file that was tampered with, after a restart', async () => {
    const policy = signedPolicy(d, policyDoc(d));
    const r = await armedDevice(d, 1, policy);
    await r.close();
    const dir = join(d.dir, 'signer-b');
    expect(await readdir(dir)).toContain('policy.cbor');
    // Another document under the same officers' approvals: the signatures no longer verify.
    const other = signedPolicy(d, policyDoc(d, { changeWindow: 99 }));
    await writeFile(
      join(dir, 'policy.cbor'),
      encodePolicyFile({ documentBytes: other.document, approvals: policy.approvals }),
    );
    const again = await startDevice(d, 1, { provision: false });
    try {
      expect((await again.client.call('get_info', {})).policyVersion).toBeNull();
      await activate(d, 1, again);
      const built = buildPsbt({ keys: d.cosigners });
      const e = await callError(again.client.call('sign_psbt', signRequest(built.psbt, [], 1)));
      expect(e.code).toBe('STALE_POLICY');
      expect(e.data).toMatchObject({ reason: 'NO_POLICY' });
      // The correctly signed other document is a different policy: not accepted as version 1 again.
      const replay = await callError(
        again.client.call('update_policy', {
          document: other.document,
          approvals: other.approvals,
        }),
      );
      expect(replay.code).toBe('STALE_POLICY');
    } finally {
      await again.close();
    }
  });
});

describe('step 1: a fail-closed memory', () => {
  let d: Deployment;
  beforeAll(async () => {
    d = await setupDeployment('failclosed');
  });
  afterAll(async () => {
    await d.cleanup();
  });

  it('refuses to sign after the state files were corrupted (STATE_CORRUPT, fail closed)', async () => {
    const policy = signedPolicy(d, policyDoc(d));
    const r = await armedDevice(d, 2, policy);
    await r.close();
    const dir = join(d.dir, 'signer-c');
    const present = (await readdir(dir)).filter(
      (n) => n.startsWith('state.') && n !== 'state.marker',
    );
    expect(present).toContain('state.cbor');
    for (const name of present) {
      const bytes = await readFile(join(dir, name));
      bytes[20] = (bytes[20] ?? 0) ^ 1;
      await writeFile(join(dir, name), bytes);
    }
    const again = await startDevice(d, 2, { provision: false });
    try {
      expect(again.signer.memory?.failClosed).toBe(true);
      await activate(d, 2, again);
      const built = buildPsbt({ keys: d.cosigners });
      const e = await callError(again.client.call('sign_psbt', signRequest(built.psbt, [], 1)));
      expect(e.code).toBe('VERIFICATION_FAILED');
      expect(e.data).toMatchObject({ code: 'STATE_CORRUPT', reason: 'MEMORY_FAIL_CLOSED' });
      const log = await again.client.call('get_audit_log', { fromSeq: 0, limit: 1000 });
      expect(log.entries.some((x) => x.kind === 'lifecycle')).toBe(true);
    } finally {
      await again.close();
    }
  });
});

describe('step 8 and the change window', () => {
  it('refuses to release a signature that does not verify for its job', () => {
    const ctx = makeContext();
    const { jobs } = verifyPsbt(buildPsbt().psbt, ctx);
    const job = jobs[0] as SigningJob;
    const priv = KEYS[0]?.account.deriveChild(job.branch).deriveChild(job.addressIndex).privateKey;
    if (priv === null || priv === undefined) throw new Error('key');
    const good = signDigestWithKey(priv, job.digest);
    const sig: InputSignature = {
      input: job.inputIndex,
      pubkey: good.pubkey,
      signature: good.signature,
    };
    expect(() => checkSignatures([job], [sig])).not.toThrow();
    const bad = Uint8Array.from(good.signature);
    bad[10] = (bad[10] ?? 0) ^ 1;
    for (const s of [
      { ...sig, signature: bad },
      { ...sig, input: job.inputIndex + 1 },
      { ...sig, pubkey: (jobs[1] as SigningJob).pubkey },
    ]) {
      let err: unknown;
      try {
        checkSignatures([job], [s]);
      } catch (e) {
        err = e;
      }
      expect(isSignerError(err, 'VERIFICATION_FAILED')).toBe(true);
    }
    expect(() => checkSignatures([job], [])).toThrow();
  });

  it('opens the change window from the highest change index seen, capped by config and policy', () => {
    const wallet = { name: 'hot', wallet: makeContext().wallet, ownKeyIndex: 0, idHex: 'ab' };
    const fresh = emptyMemory('regtest');
    expect(changeWindowFor(fresh, wallet, 50, 100)).toEqual({ from: 0, size: 51 });
    expect(changeWindowFor({ ...fresh, changeIndex: { ab: 10 } }, wallet, 50, 20)).toEqual({
      from: 0,
      size: 31,
    });
  });
});

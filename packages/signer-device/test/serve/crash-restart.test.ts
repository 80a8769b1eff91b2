/**
 * SIGKILL in the middle of sign_psbt, then a restart on the same state directory:
 *
 *  - killed BEFORE its commit (the daemon is frozen with SIGSTOP right after the request's audit
 *    entry hit the disk, and the state file is seen unchanged): the coordinator gets no
 *    signature, and after the restart nothing of it counts — the very same request signs;
 *  - killed right AFTER its commit (the state file changed; reply or not): after the restart
 *    the spend still counts against velocity — a request that fits without it is refused.
 */
import { type FSWatcher, readFileSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { isWireError, type MethodParamsInput } from '@keyline/wire-protocol';
import { SigHash, Transaction } from '@scure/btc-signer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyInputSignature } from '../../src/psbt/signature.js';
import { intent, policyDoc, signedPolicy, signRequest } from '../flow/fixtures.js';
import { type Built, buildPsbt, EXTERNAL_P2WPKH } from '../psbt/fixtures.js';
import {
  activateOver,
  type Daemon,
  type DaemonSetup,
  setupDaemons,
  startDaemon,
  WAIT_MS,
} from './harness.js';

const DEVICE = 1;

interface Request {
  readonly built: Built;
  readonly params: MethodParamsInput<'sign_psbt'>;
}

/** 1.0 BTC-sat million out to one external script (velocity cap 2.5M: two fit, three do not). */
function request(s: DaemonSetup, id: string, inputs: number[], at: number): Request {
  const built = buildPsbt({
    keys: s.d.cosigners,
    inputIndices: inputs,
    external: [{ amount: 1_000_000n, script: EXTERNAL_P2WPKH }],
    change: { index: 5, amount: 1_990_000n },
  });
  return {
    built,
    params: signRequest(built.psbt, [intent(s.d, id, EXTERNAL_P2WPKH, 1_000_000n)], at),
  };
}

function expectValidSignatures(
  r: Request,
  sigs: { input: number; pubkey: Uint8Array; signature: Uint8Array }[],
) {
  expect(sigs).toHaveLength(3);
  const tx = Transaction.fromPSBT(r.built.psbt);
  for (const s of sigs) {
    const input = r.built.inputs[s.input];
    if (input === undefined) throw new Error('input');
    const digest = tx.preimageWitnessV0(s.input, input.witnessScript, SigHash.ALL, input.amount);
    expect(verifyInputSignature(s.pubkey, digest, s.signature)).toBe(true);
  }
}

const readOrNull = (path: string): Buffer | null => {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
};

async function until(what: string, check: () => boolean): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > WAIT_MS) throw new Error(`test: waited too long for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('serve: SIGKILL during sign_psbt, restart', () => {
  let s: DaemonSetup;
  const daemons: Daemon[] = [];
  const watchers: FSWatcher[] = [];
  beforeAll(async () => {
    s = await setupDaemons('crash');
  });
  afterAll(async () => {
    for (const w of watchers) w.close();
    for (const d of daemons) await d.dispose();
    await s.d.cleanup();
  });

  async function up(args: string[] = []) {
    const daemon = await startDaemon(s, DEVICE, { args });
    daemons.push(daemon);
    await daemon.waitForLog('serving');
    const e = await daemon.connect();
    expect(await activateOver(s, DEVICE, e)).toEqual({ state: 'armed' });
    return { daemon, e, client: e.client };
  }

  it('a request killed before its commit releases nothing and counts nothing; a committed one counts', async () => {
    const dir = s.stateDir(DEVICE);
    const stateFile = join(dir, 'state.cbor');
    const auditFile = join(dir, 'audit.log');
    const policy = signedPolicy(s.d, policyDoc(s.d));

    // 1. First start: arm, install the policy, register the wallet.
    let run = await up(['--provision']);
    await run.client.call('update_policy', {
      document: policy.document,
      approvals: policy.approvals,
    });
    await run.client.call('register_wallet', {
      name: 'hot',
      descriptor: s.d.descriptor,
      approvals: policy.approvals,
    });

    // 2. Kill before the commit: freeze the daemon as soon as the request's audit entry is
    //    written (the flow's first step), check the state file is untouched, then SIGKILL.
    const rB = request(s, 'w-before', [0, 1, 2], 10);
    const stateBefore = readFileSync(stateFile);
    const auditSize = statSync(auditFile).size;
    const pid = run.daemon.child.pid ?? 0;
    let frozen = false;
    const w1 = watch(auditFile, () => {
      if (!frozen && statSync(auditFile).size > auditSize) {
        process.kill(pid, 'SIGSTOP');
        frozen = true;
      }
    });
    watchers.push(w1);
    const pending = run.client.call('sign_psbt', rB.params).then(
      () => 'signed',
      (e: unknown) => (isWireError(e) ? e.code : 'other'),
    );
    await until('the request entry', () => frozen);
    w1.close();
    const stateAtStop = readOrNull(stateFile);
    const tmpAtStop = readOrNull(join(dir, 'state.tmp'));
    run.daemon.child.kill('SIGKILL');
    expect((await run.daemon.exited).signal).toBe('SIGKILL');
    // Frozen before the commit step: nothing of this request reached the state.
    expect(stateAtStop?.equals(stateBefore)).toBe(true);
    expect(tmpAtStop).toBeNull();
    await run.e.close();
    expect(await pending).not.toBe('signed');

    // 3. Restart (no provisioning): the request is in the audit log, no signature is.
    run = await up();
    expect(await run.client.call('get_info', {})).toMatchObject({ policyVersion: 1, wallets: 1 });
    const log1 = await run.client.call('get_audit_log', { fromSeq: 0, limit: 1000 });
    expect(log1.entries.filter((x) => x.kind === 'signature')).toHaveLength(0);

    // 4. Kill right after the commit: the state file changes → SIGKILL at once.
    const rA = request(s, 'w-after', [3, 4, 5], 20);
    const stateBeforeA = readFileSync(stateFile);
    const pidA = run.daemon.child.pid ?? 0;
    let killed = false;
    const w2 = watch(dir, () => {
      const now = readOrNull(stateFile);
      if (!killed && now !== null && !now.equals(stateBeforeA)) {
        process.kill(pidA, 'SIGKILL');
        killed = true;
      }
    });
    watchers.push(w2);
    const pendingA = run.client.call('sign_psbt', rA.params).catch(() => null);
    await until('the commit', () => killed);
    w2.close();
    expect((await run.daemon.exited).signal).toBe('SIGKILL');
    await run.e.close();
    await pendingA; // signatures or none: the device counts the spend either way

    // 5. Restart: the request killed before its commit signs now (its withdrawal id was never
    //    consumed, its amount never counted)...
    run = await up();
    const later = { unixSeconds: rB.params.time.unixSeconds + 20, height: 900 };
    const again = await run.client.call('sign_psbt', { ...rB.params, time: later });
    expectValidSignatures(rB, again.signatures);
    // ...and the committed one still counts: 1.0M (rA) + 1.0M (rB) + 1.0M > 2.5M velocity.
    const rC = request(s, 'w-third', [6, 7, 8], 40);
    const refused = await run.client.call('sign_psbt', rC.params).catch((e: unknown) => e);
    expect(isWireError(refused, 'POLICY_REFUSED')).toBe(true);
    expect(isWireError(refused) ? refused.data : null).toMatchObject({ rule: 'rules[4].velocity' });
    // Without rA's spend the window would hold rB + rC = 2.0M ≤ 2.5M: the velocity refusal is rA.
    run.daemon.child.kill('SIGTERM');
    expect((await run.daemon.exited).code).toBe(0);
  });
});

/**
 * `keyline-signer serve` as a real process on a real pty: a provisioned device unlocked from its
 * passphrase file, the activation challenge on its console, then the coordinator side over
 * SerialTransport + Noise KK: get_info, unlock_status, activate (second holder), update_policy,
 * register_wallet, sign_psbt → signatures that verify against btc-signer's BIP143 digest. Then
 * SIGTERM: exit 0 after the shutdown hooks, and neither log nor console holds key material.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SigHash, Transaction } from '@scure/btc-signer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatActivationDisplay } from '../../src/device/activation-display.js';
import { verifyInputSignature } from '../../src/psbt/signature.js';
import { intent, policyDoc, signedPolicy, signRequest } from '../flow/fixtures.js';
import { buildPsbt, EXTERNAL_P2TR, EXTERNAL_P2WPKH } from '../psbt/fixtures.js';
import {
  activateOver,
  type Daemon,
  type DaemonSetup,
  leaks,
  secretsOf,
  setupDaemons,
  startDaemon,
} from './harness.js';

const LOCK_EVENT = Buffer.from([0x64, ...Buffer.from('lock')]);

describe('keyline-signer serve over a real pty', () => {
  let s: DaemonSetup;
  const daemons: Daemon[] = [];
  beforeAll(async () => {
    s = await setupDaemons('serve');
  });
  afterAll(async () => {
    for (const d of daemons) await d.dispose();
    await s.d.cleanup();
  });

  it('serves the whole ceremony and signs; SIGTERM exits 0 after the hooks; no key in the logs', async () => {
    const daemon = await startDaemon(s, 0, { args: ['--provision'] });
    daemons.push(daemon);
    await daemon.waitForLog('serving');
    const e = await daemon.connect();
    const { client } = e;

    const info = await client.call('get_info', {});
    expect(info).toMatchObject({ deviceId: 'signer-a', network: 'regtest', state: 'unlocked' });

    // The challenge the coordinator reads is the one printed on the device's console.
    const status = await client.call('unlock_status', {});
    if (status.activation === null) throw new Error('no challenge');
    const shown = formatActivationDisplay({ deviceId: 'signer-a', ...status.activation });
    expect(daemon.stdout()).toContain(shown);

    expect(await activateOver(s, 0, e)).toEqual({ state: 'armed' });
    const policy = signedPolicy(s.d, policyDoc(s.d));
    expect(
      await client.call('update_policy', {
        document: policy.document,
        approvals: policy.approvals,
      }),
    ).toEqual({ version: 1, hash: policy.hash });
    const reg = await client.call('register_wallet', {
      name: 'hot',
      descriptor: s.d.descriptor,
      approvals: policy.approvals,
    });
    expect(reg.name).toBe('hot');

    const built = buildPsbt({ keys: s.d.cosigners });
    const intents = [
      intent(s.d, 'w-1', EXTERNAL_P2WPKH, 1_200_000n),
      intent(s.d, 'w-2', EXTERNAL_P2TR, 300_000n),
    ];
    const reply = await client.call('sign_psbt', signRequest(built.psbt, intents, 5));
    expect(reply.signatures).toHaveLength(3);
    const tx = Transaction.fromPSBT(built.psbt);
    for (const sig of reply.signatures) {
      const input = built.inputs[sig.input];
      if (input === undefined) throw new Error('input');
      const digest = tx.preimageWitnessV0(
        sig.input,
        input.witnessScript,
        SigHash.ALL,
        input.amount,
      );
      expect(verifyInputSignature(sig.pubkey, digest, sig.signature)).toBe(true);
      // The same signature does not verify another input's digest (the check can fail).
      const other = tx.preimageWitnessV0((sig.input + 1) % 3, input.witnessScript, SigHash.ALL, 1n);
      expect(verifyInputSignature(sig.pubkey, other, sig.signature)).toBe(false);
    }

    const auditBeforeTerm = Buffer.from(await readFile(join(s.stateDir(0), 'audit.log')));
    // SIGTERM: graceful, every hook ran in order, exit 0.
    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const msgs = daemon.logs().map((l) => l.msg);
    expect(msgs).toContain('shutdown requested');
    expect(msgs).toContain('shutdown complete');
    expect(
      msgs.filter((m) => m === 'shutdown hook failed' || m === 'shutdown hook timed out'),
    ).toEqual([]);
    const rpcs = daemon
      .logs()
      .filter((l) => l.msg === 'rpc')
      .map((l) => [l.method, l.outcome]);
    expect(rpcs).toContainEqual(['sign_psbt', 'ok']);
    // The Signer closed: its lock was audited. CBOR text "lock" (0x64 'lock'), which "unlock"
    // (0x66 'unlock') does not contain; absent before the SIGTERM.
    const auditBytes = Buffer.from(await readFile(join(s.stateDir(0), 'audit.log')));
    expect(auditBytes.includes(LOCK_EVENT)).toBe(true);
    expect(auditBeforeTerm.includes(LOCK_EVENT)).toBe(false);

    // No key material in what the daemon printed or logged.
    const kit = s.d.devices[0];
    if (kit === undefined) throw new Error('kit');
    const forms = secretsOf(kit.ceremony.words);
    const secrets = { ...forms, text: [...forms.text, kit.passphrase] };
    const probe = new TextEncoder().encode(`x ${secrets.text[1]} y`);
    expect(leaks(probe, secrets)).toBeGreaterThan(0);
    const printed = new TextEncoder().encode(daemon.stderr() + daemon.stdout());
    expect(daemon.logs().length).toBeGreaterThan(10);
    expect(leaks(printed, secrets)).toBe(0);
  });
});

/**
 * After a full session: a restart on the same state directory keeps the spent velocity and the
 * accepted policy; no file in the state directory, the audit log or the captured logs holds key
 * material; after lock() no registered secret is live; a deleted audit log fails the start.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isWireError } from '@keyline/wire-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/daemon/logger.js';
import { isSignerError } from '../../src/errors.js';
import { liveSecretCount } from '../../src/keystore/secrets.js';
import { leaks, secretsOf } from '../helpers/key-leaks.js';
import { buildPsbt, EXTERNAL_P2TR, EXTERNAL_P2WPKH } from '../psbt/fixtures.js';
import {
  activate,
  armedDevice,
  type Deployment,
  intent,
  policyDoc,
  type Running,
  setupDeployment,
  signedPolicy,
  signRequest,
  startDevice,
} from './fixtures.js';

describe('restart, secrets and the state directory after a full session', () => {
  let d: Deployment;
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (l) => lines.push(l) } });
  const logged = async <T>(method: string, p: Promise<T>): Promise<T> => {
    try {
      const result = await p;
      logger.info({ method, result }, 'rpc ok');
      return result;
    } catch (e) {
      logger.warn({ method, err: e, data: isWireError(e) ? e.data : null }, 'rpc failed');
      throw e;
    }
  };
  beforeAll(async () => {
    d = await setupDeployment('restart');
  });
  afterAll(async () => {
    await d.cleanup();
  });

  it('keeps spent velocity and the policy across a restart, and leaks no key material', async () => {
    const policy = signedPolicy(d, policyDoc(d));
    const intents = (a: string, b: string) => [
      intent(d, a, EXTERNAL_P2WPKH, 1_200_000n),
      intent(d, b, EXTERNAL_P2TR, 300_000n),
    ];
    let r: Running = await armedDevice(d, 0, policy);
    logger.debug({ signer: r.signer, link: r.link.deviceLinkPublicKey }, 'device up');
    const first = buildPsbt({ keys: d.cosigners });
    await logged(
      'sign_psbt',
      r.client.call('sign_psbt', signRequest(first.psbt, intents('w-1', 'w-2'), 2)),
    );
    await r.close();
    expect(r.signer.state).toBe('locked');

    // Restart: a new process on the same state directory, no provisioning.
    r = await startDevice(d, 0, { provision: false });
    expect(await logged('get_info', r.client.call('get_info', {}))).toMatchObject({
      state: 'unlocked',
      policyVersion: 1,
    });
    await activate(d, 0, r);
    const second = buildPsbt({ keys: d.cosigners, inputIndices: [3, 4, 5] });
    const req = signRequest(second.psbt, intents('w-3', 'w-4'), 3);
    const refused = await logged('sign_psbt', r.client.call('sign_psbt', req)).catch((e) => e);
    expect(isWireError(refused, 'POLICY_REFUSED')).toBe(true);
    expect(isWireError(refused) ? refused.data : null).toMatchObject({ rule: 'rules[4].velocity' });
    // A device with no earlier spend signs the very same request: the refusal is the memory.
    const other = await armedDevice(d, 1, policy);
    const signed = await logged('sign_psbt', other.client.call('sign_psbt', req));
    expect(signed.signatures).toHaveLength(3);
    const audit = await logged(
      'get_audit_log',
      r.client.call('get_audit_log', { fromSeq: 0, limit: 1000 }),
    );
    expect(audit.entries.filter((e) => e.kind === 'signature')).toHaveLength(1);

    // Key material: nowhere in the state directories (state, policy, audit log) or the logs.
    const files: Uint8Array[] = [];
    for (const id of ['signer-a', 'signer-b']) {
      for (const name of await readdir(join(d.dir, id))) {
        files.push(await readFile(join(d.dir, id, name)));
      }
    }
    expect(files.length).toBeGreaterThanOrEqual(8);
    const logText = new TextEncoder().encode(lines.join('\n'));
    expect(lines.length).toBeGreaterThan(3);
    for (const kit of d.devices.slice(0, 2)) {
      const secrets = secretsOf(kit.ceremony.words);
      // The scanner finds what it looks for (so a clean result means something).
      expect(leaks(new TextEncoder().encode(`x ${secrets.text[2]} y`), secrets)).toBeGreaterThan(0);
      const probe = new Uint8Array(40);
      probe.set(secrets.bytes[1] ?? new Uint8Array(16), 7);
      expect(leaks(probe, secrets)).toBeGreaterThan(0);
      for (const f of files) expect(leaks(f, secrets)).toBe(0);
      expect(leaks(logText, secrets)).toBe(0);
    }

    // Lock: every registered secret is wiped once the holder keys are wiped too.
    expect(liveSecretCount()).toBeGreaterThan(0);
    await r.client.call('lock', {});
    await other.client.call('lock', {});
    await r.close();
    await other.close();
    for (const k of [...d.holders, ...d.officers]) k.wipe();
    expect(liveSecretCount()).toBe(0);
  });

  it('refuses to start when the audit log was deleted (no silent new log)', async () => {
    await rm(join(d.dir, 'signer-b', 'audit.log'));
    const e = await startDevice(d, 1, { provision: false }).catch((err: unknown) => err);
    expect(isSignerError(e, 'BAD_AUDIT_LOG')).toBe(true);
    expect(liveSecretCount()).toBe(0);
  });
});

describe('the crash-path wipe', () => {
  let d: Deployment;
  beforeAll(async () => {
    d = await setupDeployment('wipe-now');
  });
  afterAll(async () => {
    await d.cleanup();
  });

  it('wipeNow (the crash path) wipes the key synchronously and leaves the device locked', async () => {
    const r = await armedDevice(d, 0, signedPolicy(d, policyDoc(d)));
    expect(r.signer.state).toBe('armed');
    const before = liveSecretCount();
    r.signer.wipeNow(); // synchronous: no await between the call and the checks
    expect(liveSecretCount()).toBeLessThan(before);
    expect(r.signer.state).toBe('locked');
    const e = await r.client.call('get_xpub', {}).catch((err: unknown) => err);
    expect(e).toBeDefined();
    await r.close();
    for (const k of [...d.holders, ...d.officers]) k.wipe();
    expect(liveSecretCount()).toBe(0);
  });
});

/**
 * The amd64 signer image booted in qemu (`pnpm test:image`, hardware/test-image.sh), through the
 * first boot exactly as a holder lives it: the test makes the holders', an officer's and the
 * coordinator's keys on the host (with the image's own signer CLI), bakes that configuration
 * into a test image (--assemble-only --config), boots it, and on the VM's console (ttyS0) runs
 * the key ceremony (passphrases typed twice, the 24 words, the enrollment facts), then unlocks the
 * daemon (a wrong passphrase first, refused). The coordinator side of the wire protocol
 * (SerialTransport + Noise KK, pinned to the link key the console showed) then talks to the daemon
 * inside the VM over its second serial port (ttyS1, a host pty): get_info, ping. The boot
 * self-check's lines show, from inside, that no interface but lo exists and nothing listens.
 *
 * Skipped unless KEYLINE_VM_TEST=1 and KEYLINE_IMAGE_DIR names an amd64 build (root is needed to
 * re-assemble the image). Takes minutes under software emulation (no KVM).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CoordinatorEndpoint,
  StaticKeyPair,
} from '../../packages/wire-protocol/dist/index.js';
import { bootVm, type Vm } from './vm.js';

const OUT = process.env.KEYLINE_IMAGE_DIR ?? '';
const ENABLED = process.env.KEYLINE_VM_TEST === '1' && OUT !== '';
const SKIP = ENABLED
  ? ''
  : 'skipped: set KEYLINE_VM_TEST=1 and KEYLINE_IMAGE_DIR=<amd64 --out dir> (hardware/test-image.sh does)';
const ROOT = join(import.meta.dirname, '..', '..');
const IMAGE = 'keyline-signer-amd64-vmtest';
const DEVICE_ID = 'signer-vm';
/** Test passphrases (regtest only), typed on the VM console; the first also seals the test
 * holders' and officer's key files on the host. */
const PASSPHRASE = 'vm test passphrase, regtest only';
const BACKUP_PASSPHRASE = 'vm test backup passphrase, regtest only';
/**
 * Hang guards under software emulation, not timing assertions: a wait on the console gives up
 * after WAIT_MS (and shows the console's tail), inside a test limit of TEST_MS.
 */
const WAIT_MS = 4 * 60_000;
const TEST_MS = WAIT_MS + 60_000;
/** The console as the VM printed it, kept after the run for inspection. */
const CONSOLE_LOG = join(OUT, 'work', 'vm-console.log');

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

interface Provisioned {
  readonly coordinator: StaticKeyPair;
}

// Loaded only when the test runs: a checkout without a wire-protocol build still collects this file.
const wire = () => import('../../packages/wire-protocol/dist/index.js');
const serial = () => import('../../packages/wire-protocol/dist/serial-transport.js');

/** Holders and an officer made with the image's own CLI, the coordinator's link key; config. */
async function provision(dir: string): Promise<Provisioned> {
  const cli = join(OUT, 'work', 'signer', 'bin', 'keyline-signer.js');
  const run = (args: string[]): string =>
    execFileSync(process.execPath, [cli, ...args, '--network', 'regtest'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const pass = join(dir, 'pass');
  writeFileSync(pass, `${PASSPHRASE}\n`, { mode: 0o600 });
  const pin = (role: string, id: string) => {
    const rec = JSON.parse(
      run([
        `${role}-keygen`,
        '--out',
        join(dir, `${id}.json`),
        '--id',
        id,
        '--passphrase-file',
        pass,
      ]),
    ) as { keyId: string; publicKey: string };
    return { keyId: rec.keyId, publicKey: rec.publicKey };
  };
  const holders = ['alice', 'bob', 'carol'].map((id) => pin('holder', id));
  const officers = [pin('officer', 'olga')];
  const coordinator = (await wire()).generateStaticKeyPair();
  const config = {
    port: '/dev/ttyS1',
    baud: 115200,
    keyFile: '/var/lib/keyline/keys/device-key.json',
    stateDir: '/var/lib/keyline/state',
    network: 'regtest',
    deviceId: DEVICE_ID,
    coordinatorLinkKey: hex(coordinator.publicKey),
    holders,
    officers,
    officerThreshold: 1,
    activationTtlSeconds: 900,
    changeWindow: 100,
    refusalLockout: { max: 20, windowSeconds: 3600 },
    logLevel: 'info',
  };
  writeFileSync(join(dir, 'signer.json'), `${JSON.stringify(config, null, 2)}\n`);
  const args = ['--arch', 'amd64', '--out', OUT, '--assemble-only', '--skip-build'];
  args.push('--name', IMAGE, '--config', join(dir, 'signer.json'));
  execFileSync(join(ROOT, 'hardware', 'build-image.sh'), args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return { coordinator };
}

describe.skipIf(!ENABLED)(`signer image booted in qemu ${SKIP}`, () => {
  let dir = '';
  let vm: Vm | null = null;
  let endpoint: CoordinatorEndpoint | null = null;
  let prov: Provisioned;
  let enrolled: { fingerprint: string; linkKey: string } | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyline-vm-'));
    prov = await provision(dir);
    vm = await bootVm(OUT, `${IMAGE}.img`, WAIT_MS, CONSOLE_LOG);
  }, TEST_MS);

  afterAll(async () => {
    await endpoint?.close().catch(() => undefined);
    await vm?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it(
    'boots, passes its self-check: no interface but lo, no socket, swap, core dump or writable root',
    async () => {
      const text = await (vm as Vm).waitFor(/KEYLINE SELFCHECK (PASSED|FAILED)/, WAIT_MS);
      expect(text).toContain('KEYLINE SELFCHECK ok network: interfaces lo');
      expect(text).toContain('KEYLINE SELFCHECK ok sockets: no inet socket');
      expect(text).toContain('KEYLINE SELFCHECK ok swap: none');
      expect(text).toContain('KEYLINE SELFCHECK ok root: overlay in RAM');
      expect(text).toContain('KEYLINE SELFCHECK ok modules: loading disabled');
      expect(text).not.toContain('KEYLINE SELFCHECK FAIL');
      expect(text).toContain('KEYLINE SELFCHECK PASSED');
      expect(text).not.toMatch(/login:/);
    },
    TEST_MS,
  );

  it(
    'runs the key ceremony on the console at first boot: passphrases, words, enrollment facts',
    async () => {
      const v = vm as Vm;
      await v.expect(/KEYLINE KEY CEREMONY - network regtest/, WAIT_MS);
      for (const [what, pass] of [
        ['the device key file', PASSPHRASE],
        ['the vault backup file', BACKUP_PASSPHRASE],
      ] as const) {
        await v.expect(new RegExp(`New passphrase for ${what}`), WAIT_MS);
        v.type(`${pass}\r`);
        await v.expect(new RegExp(`Repeat the passphrase for ${what}`), WAIT_MS);
        v.type(`${pass}\r`);
      }
      await v.expect(/RECOVERY WORDS/, WAIT_MS);
      await v.expect(/Press Enter when done/, WAIT_MS);
      v.type('\r');
      await v.expect(/KEYLINE DEVICE ENROLLMENT/, WAIT_MS);
      const origin = await v.expect(
        /key origin\s+(\[[0-9a-f]{8}\/48'\/1'\/0'\/2'\]tpub\w+)/,
        WAIT_MS,
      );
      const link = await v.expect(/link public key ([0-9a-f]{64})/, WAIT_MS);
      enrolled = { fingerprint: (origin[1] as string).slice(1, 9), linkKey: link[1] as string };
      await v.expect(/Press Enter to start the signer\./, WAIT_MS);
      v.type('\r');
      expect(v.console()).not.toContain(PASSPHRASE);
    },
    TEST_MS,
  );

  it(
    'starts locked, asks for the passphrase on the console, refuses a wrong one, unlocks with the right one',
    async () => {
      const v = vm as Vm;
      const prompt = new RegExp(`Passphrase of the device key ${DEVICE_ID}: `);
      await v.expect(prompt, WAIT_MS);
      v.type('not the passphrase\r');
      await v.expect(/Wrong passphrase, try again\./, WAIT_MS);
      await v.expect(prompt, WAIT_MS);
      expect(v.console()).not.toMatch(/KEYLINE ACTIVATION v1/);
      v.type(`${PASSPHRASE}\r`);
      await v.expect(/KEYLINE ACTIVATION v1/, WAIT_MS);
      await v.expect(new RegExp(`device\\s+${DEVICE_ID}`), WAIT_MS);
      // nothing typed is echoed back
      expect(v.console()).not.toContain(PASSPHRASE);
      expect(v.console()).not.toContain('not the passphrase');
    },
    TEST_MS,
  );

  it(
    'answers get_info and ping over the VM serial port, to the coordinator pinned at enrollment',
    async () => {
      const v = vm as Vm;
      if (enrolled === null)
        throw new Error('vm-boot: expected the enrollment facts from the ceremony, got none');
      const { SerialTransport } = await serial();
      const transport = await SerialTransport.open({ path: v.linkPty, baudRate: 115200 });
      endpoint = (await wire()).connectToDevice(
        transport,
        {
          staticPrivateKey: prov.coordinator.privateKey,
          remoteStaticPublicKey: Buffer.from(enrolled.linkKey, 'hex'),
        },
        { rpc: { defaultTimeoutMs: WAIT_MS } },
      );
      const info = await endpoint.client.call('get_info', {});
      expect(info).toMatchObject({ deviceId: DEVICE_ID, network: 'regtest', state: 'unlocked' });
      expect(Buffer.from(info.fingerprint ?? []).toString('hex')).toBe(enrolled.fingerprint);
      const nonce = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
      const pong = await endpoint.client.call('ping', { nonce });
      expect(Buffer.from(pong.nonce).equals(Buffer.from(nonce))).toBe(true);
      expect(pong.uptimeMs).toBeGreaterThan(0);
    },
    TEST_MS,
  );
});

/**
 * The key ceremony, run with `keyline-signer` exactly as docs/cli.md §1 lists it: three key
 * holders and three risk officers make their keys, then each of the three devices makes its
 * BIP32 key (with an encrypted backup). Every key file is sealed with a passphrase generated
 * here and handed over in a 0600 file (`--passphrase-file`): AUTOMATION ONLY — a passphrase at
 * rest next to its key defeats the encryption; on a real device the holder types it on the
 * device's own console. The scrypt cost is the test-only one (`--insecure-test-kdf`, N = 2^10,
 * refused on mainnet) so that the demo does not spend minutes in the KDF.
 *
 * keygen prints the 24 recovery words once on stdout: the demo reads only the public lines from
 * that output and never prints or stores the rest.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex, randomBytes, z } from './deps.js';
import type { Supervisor, Tool } from './processes.js';
import { DemoError } from './wait.js';

export const NETWORK = 'regtest';
export const DEVICE_IDS = ['signer-a', 'signer-b', 'signer-c'] as const;
export const HOLDER_NAMES = ['alice', 'bob', 'carol'] as const;
export const OFFICER_NAMES = ['olga', 'oscar', 'otto'] as const;
/** Officers whose approvals the policy carries (2 of the 3 pinned). */
export const SIGNING_OFFICERS = 2;
const CLI_TIMEOUT_MS = 60_000;

const pinningRecord = z.object({
  role: z.enum(['holder', 'officer']),
  name: z.string(),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  publicKey: z.string().regex(/^[0-9a-f]{64}$/),
});

export interface PersonKey {
  readonly name: string;
  readonly keyFile: string;
  readonly passphraseFile: string;
  readonly keyId: string;
  readonly publicKey: string;
}

export interface DeviceKey {
  readonly id: string;
  readonly keyFile: string;
  readonly passphraseFile: string;
  readonly fingerprint: string;
  readonly keyOrigin: string;
  readonly linkPublicKey: string;
}

export interface Ceremony {
  readonly holders: readonly PersonKey[];
  readonly officers: readonly PersonKey[];
  readonly devices: readonly DeviceKey[];
}

/** A fresh random passphrase in a new 0600 file. */
function passphraseFile(path: string): string {
  writeFileSync(path, `demo-${bytesToHex(randomBytes(16))}\n`, { mode: 0o600, flag: 'wx' });
  return path;
}

function publicLine(stdout: string, label: string, pattern: string, place: string): string {
  const m = new RegExp(`^${label}\\s+(${pattern})\\s*$`, 'm').exec(stdout);
  if (m?.[1] === undefined) {
    throw new DemoError(`demo/ceremony: expected a '${label}' line from ${place}, got none`);
  }
  return m[1];
}

async function personKey(
  sup: Supervisor,
  signer: Tool,
  role: 'holder' | 'officer',
  name: string,
  dir: string,
): Promise<PersonKey> {
  const keyFile = join(dir, `${name}.json`);
  const pass = passphraseFile(join(dir, `${name}.pass`));
  const { stdout } = await sup.run(
    `${role}-keygen-${name}`,
    signer,
    [
      `${role}-keygen`,
      '--network',
      NETWORK,
      '--out',
      keyFile,
      '--id',
      name,
      '--passphrase-file',
      pass,
      '--insecure-test-kdf',
    ],
    { timeoutMs: CLI_TIMEOUT_MS },
  );
  const parsed = pinningRecord.safeParse(JSON.parse(stdout));
  if (!parsed.success || parsed.data.role !== role) {
    throw new DemoError(
      `demo/ceremony: expected a ${role} pinning record from ${role}-keygen, got ${stdout.slice(0, 200)}`,
    );
  }
  return {
    name,
    keyFile,
    passphraseFile: pass,
    keyId: parsed.data.keyId,
    publicKey: parsed.data.publicKey,
  };
}

async function deviceKey(
  sup: Supervisor,
  signer: Tool,
  id: string,
  dir: string,
): Promise<DeviceKey> {
  const keyDir = join(dir, 'keys');
  mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  const pass = passphraseFile(join(dir, 'device.pass'));
  const backupPass = passphraseFile(join(dir, 'backup.pass'));
  const result = await sup.run(
    `keygen-${id}`,
    signer,
    [
      'keygen',
      '--network',
      NETWORK,
      '--out',
      keyDir,
      '--passphrase-file',
      pass,
      '--backup-passphrase-file',
      backupPass,
      '--insecure-test-kdf',
    ],
    { timeoutMs: CLI_TIMEOUT_MS },
  );
  // Only the public lines are read; the words in the same output are neither shown nor kept.
  const place = `keygen of ${id}`;
  const key: DeviceKey = {
    id,
    keyFile: join(keyDir, 'device-key.json'),
    passphraseFile: pass,
    fingerprint: publicLine(result.stdout, 'fingerprint', '[0-9a-f]{8}', place),
    keyOrigin: publicLine(
      result.stdout,
      'key origin',
      "\\[[0-9a-f]{8}(?:/[0-9]+'){4}\\][1-9A-HJ-NP-Za-km-z]+",
      place,
    ),
    linkPublicKey: publicLine(result.stdout, 'link public key', '[0-9a-f]{64}', place),
  };
  return key;
}

/** Holders, officers, then the three device keys, each in its own folder under `dir`. */
export async function runCeremony(
  sup: Supervisor,
  signer: Tool,
  dir: string,
  say: (text: string) => void,
): Promise<Ceremony> {
  const holdersDir = join(dir, 'holders');
  const officersDir = join(dir, 'officers');
  mkdirSync(holdersDir, { recursive: true, mode: 0o700 });
  mkdirSync(officersDir, { recursive: true, mode: 0o700 });
  const holders: PersonKey[] = [];
  for (const name of HOLDER_NAMES) {
    const h = await personKey(sup, signer, 'holder', name, holdersDir);
    holders.push(h);
    say(`holder ${name}: Ed25519 holder key, key id ${h.keyId}`);
  }
  const officers: PersonKey[] = [];
  for (const name of OFFICER_NAMES) {
    const o = await personKey(sup, signer, 'officer', name, officersDir);
    officers.push(o);
    say(`risk officer ${name}: Ed25519 officer key, key id ${o.keyId}`);
  }
  const devices: DeviceKey[] = [];
  for (const id of DEVICE_IDS) {
    const devDir = join(dir, 'devices', id);
    mkdirSync(devDir, { recursive: true, mode: 0o700 });
    const d = await deviceKey(sup, signer, id, devDir);
    devices.push(d);
    say(
      `device ${id}: BIP48 key ${d.keyOrigin.slice(0, 40)}…, link key ${d.linkPublicKey.slice(0, 16)}…, encrypted backup written (24 words printed once by keygen, not shown here)`,
    );
  }
  return { holders, officers, devices };
}

/**
 * The devices' offline policy (signer-device docs/policy.md): written as the JSON form officers
 * review, signed by two of the three risk officers (`policy sign`), bundled (`policy bundle`) and
 * checked as a device would (`policy verify`) before the coordinator delivers it.
 *
 * The rule that makes the devices the last line of defence in this demo: `denyDestinations` holds
 * one P2WPKH script that the coordinator's online deny list does NOT hold. A withdrawal to it
 * passes the online risk engine, is batched and sent for signing, and the devices refuse it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Ceremony, DEVICE_IDS, NETWORK, SIGNING_OFFICERS } from './ceremony.js';
import { bech32, bytesToHex, sha256, utf8ToBytes } from './deps.js';
import type { Supervisor, Tool } from './processes.js';
import { DemoError } from './wait.js';

export const WALLET_NAME = 'hot';
const DAY = 86_400;

/** The device-deny-listed destination: P2WPKH of a fixed 20-byte hash nobody holds a key for. */
export function deviceDeniedDestination(): { script: string; address: string } {
  const hash = sha256(utf8ToBytes('keyline-demo/device-deny-listed')).subarray(0, 20);
  return {
    script: `0014${bytesToHex(hash)}`,
    address: bech32.encode('bcrt', [0, ...bech32.toWords(hash)]),
  };
}

export interface PolicyLimits {
  /** Largest single output (sat). */
  readonly maxPerOutput: bigint;
  /** Largest transaction: external outputs + fee (sat). */
  readonly maxPerTransaction: bigint;
}

/** The policy document in its JSON form (amounts as decimal strings, bytes as hex). */
export function policyDocument(options: {
  readonly descriptor: string;
  readonly riskPublicKey: string;
  readonly deniedScript: string;
  readonly limits: PolicyLimits;
  readonly nowSeconds: number;
}): Record<string, unknown> {
  return {
    version: 1,
    previous: '00'.repeat(32),
    // A minute back: the officers' issue time also sets a fresh device's clock (it has no RTC).
    issuedAt: options.nowSeconds - 60,
    expiresAt: options.nowSeconds + 7 * DAY,
    network: NETWORK,
    devices: [...DEVICE_IDS],
    wallets: [{ name: WALLET_NAME, descriptor: options.descriptor }],
    intentKeys: [options.riskPublicKey],
    changeWindow: 100,
    rules: [
      { type: 'denyDestinations', scripts: [options.deniedScript] },
      { type: 'requireIntents' },
      { type: 'maxPerOutput', maxAmount: options.limits.maxPerOutput.toString() },
      { type: 'maxPerTransaction', maxAmount: options.limits.maxPerTransaction.toString() },
      { type: 'maxFee', absolute: '1000000', feerateMsatPerVb: '100000' },
      { type: 'velocity', windowSeconds: DAY, maxAmount: '10000000000', maxCount: 500 },
    ],
    lockout: { maxRefusals: 10, windowSeconds: 3600 },
  };
}

/** Sign with the first two officers, bundle, verify as signer-a would; returns the bundle path. */
export async function signPolicy(
  sup: Supervisor,
  signer: Tool,
  ceremony: Ceremony,
  document: Record<string, unknown>,
  dir: string,
  cwd: string,
): Promise<{ bundle: string; hash: string; officers: string[] }> {
  const documentFile = join(dir, 'policy.json');
  writeFileSync(documentFile, `${JSON.stringify(document, null, 2)}\n`, { flag: 'wx' });
  const approvals: string[] = [];
  let hash = '';
  const signing = ceremony.officers.slice(0, SIGNING_OFFICERS);
  for (const officer of signing) {
    const out = join(dir, `approval-${officer.name}.json`);
    const { stderr } = await sup.run(
      `policy-sign-${officer.name}`,
      signer,
      [
        'policy',
        'sign',
        '--network',
        NETWORK,
        '--key',
        officer.keyFile,
        '--document',
        documentFile,
        '--out',
        out,
        '--passphrase-file',
        officer.passphraseFile,
        '--insecure-test-kdf',
      ],
      { timeoutMs: 60_000, cwd },
    );
    hash = /sha256\s*:?\s*([0-9a-f]{64})/.exec(stderr)?.[1] ?? hash;
    approvals.push(out);
  }
  const bundle = join(dir, 'policy-bundle.json');
  await sup.run(
    'policy-bundle',
    signer,
    [
      'policy',
      'bundle',
      '--network',
      NETWORK,
      '--document',
      documentFile,
      '--approval',
      ...approvals,
      '--out',
      bundle,
    ],
    { timeoutMs: 60_000, cwd },
  );
  const pinned = join(dir, 'officers.json');
  writeFileSync(
    pinned,
    JSON.stringify(ceremony.officers.map((o) => ({ keyId: o.keyId, publicKey: o.publicKey }))),
  );
  const verified = await sup.run(
    'policy-verify',
    signer,
    [
      'policy',
      'verify',
      '--network',
      NETWORK,
      '--bundle',
      bundle,
      '--officers',
      pinned,
      '--threshold',
      String(SIGNING_OFFICERS),
      '--device',
      DEVICE_IDS[0],
    ],
    { timeoutMs: 60_000, cwd },
  );
  if (hash === '') hash = /([0-9a-f]{64})/.exec(verified.stdout)?.[1] ?? '';
  if (hash === '') {
    throw new DemoError('demo/policy: expected the document sha256 from policy sign, got none');
  }
  return { bundle, hash, officers: signing.map((o) => o.name) };
}

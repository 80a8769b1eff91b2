import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBundleFile } from '../../src/cli/policy-files.js';
import { encodePolicyJson } from '../../src/cli/policy-json.js';
import { parsePolicyDocument } from '../../src/policy/document.js';
import { ALL_OUTPUT, NOW, PASS, runCli, tempDir, WEAK } from './helpers.js';

const dirs: (() => void)[] = [];
const fresh = () => {
  const t = tempDir();
  dirs.push(t.cleanup);
  return t.dir;
};
afterEach(() => {
  while (dirs.length > 0) dirs.pop()?.();
});

const DAY = 86_400;
function policyJson(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 1,
    previous: '00'.repeat(32),
    issuedAt: NOW - DAY,
    expiresAt: NOW + 30 * DAY,
    network: 'regtest',
    devices: ['signer-a', 'signer-b'],
    wallets: [{ name: 'hot', descriptor: 'wsh(sortedmulti(2,...))' }],
    intentKeys: ['11'.repeat(32)],
    changeWindow: 1000,
    rules: [
      { type: 'maxPerTransaction', maxAmount: '150000000' },
      { type: 'velocity', windowSeconds: DAY, maxAmount: '2100000000000000', maxCount: 100 },
      { type: 'denyDestinations', scripts: [`0014${'ab'.repeat(20)}`] },
      {
        type: 'allowDestinations',
        entries: [{ script: `0014${'cd'.repeat(20)}`, addedAt: NOW - 2 * DAY }],
        coolingOffSeconds: DAY,
      },
      { type: 'maxFee', absolute: '100000', feerateMsatPerVb: '500000' },
      { type: 'requireIntents' },
      { type: 'maxReplacementFeeBump', maxBump: '5000', maxReplacements: 3 },
    ],
    lockout: { maxRefusals: 3, windowSeconds: 3600 },
    ...over,
  };
}

async function officer(dir: string, id: string) {
  const out = join(dir, `${id}.key`);
  const r = await runCli(
    ['officer-keygen', '--network', 'regtest', '--out', out, '--id', id, WEAK],
    {
      passphrases: [PASS, PASS],
    },
  );
  expect(r.code).toBe(0);
  const rec = JSON.parse(r.out) as { keyId: string; publicKey: string };
  return { path: out, keyId: rec.keyId, publicKey: rec.publicKey };
}

async function setup(doc = policyJson()) {
  const dir = fresh();
  const officers = [await officer(dir, 'o1'), await officer(dir, 'o2'), await officer(dir, 'o3')];
  const docPath = join(dir, 'policy.json');
  writeFileSync(docPath, JSON.stringify(doc, null, 2));
  const pinned = join(dir, 'officers.json');
  writeFileSync(
    pinned,
    JSON.stringify(officers.map(({ keyId, publicKey }) => ({ keyId, publicKey }))),
  );
  return { dir, officers, docPath, pinned };
}

async function sign(dir: string, docPath: string, key: string, name: string) {
  const out = join(dir, name);
  const r = await runCli(
    [
      'policy',
      'sign',
      '--network',
      'regtest',
      '--key',
      key,
      '--document',
      docPath,
      '--out',
      out,
      WEAK,
    ],
    { passphrases: [PASS] },
  );
  expect(r.err).toContain('document sha256');
  expect(r.code).toBe(0);
  return out;
}

const verifyArgs = (bundle: string, pinned: string, m: string) => [
  'policy',
  'verify',
  '--network',
  'regtest',
  '--bundle',
  bundle,
  '--officers',
  pinned,
  '--threshold',
  m,
  '--device',
  'signer-a',
];

describe('policy JSON form', () => {
  it('converts hex and decimal-string amounts to the canonical document', () => {
    const p = encodePolicyJson('t', JSON.stringify(policyJson()));
    const doc = parsePolicyDocument(p.bytes);
    expect(doc.rules[0]).toEqual({ type: 'maxPerTransaction', maxAmount: 150_000_000n });
    expect(doc.intentKeys[0]).toEqual(new Uint8Array(32).fill(0x11));
  });

  it('refuses amounts as JSON numbers, upper-case hex and unknown fields (BAD_POLICY)', () => {
    const rules = [{ type: 'maxPerTransaction', maxAmount: 150000000 }];
    expect(() => encodePolicyJson('t', JSON.stringify(policyJson({ rules })))).toThrow(
      /rules.0.maxAmount: .*expected string/,
    );
    expect(() =>
      encodePolicyJson('t', JSON.stringify(policyJson({ previous: 'AA'.repeat(32) }))),
    ).toThrow(/lower-case hex/);
    expect(() => encodePolicyJson('t', JSON.stringify(policyJson({ extra: 1 })))).toThrow(
      /expected the JSON form/,
    );
    // the device schema has the last word: version 1 must have a zero `previous`
    expect(() =>
      encodePolicyJson('t', JSON.stringify(policyJson({ previous: '01'.repeat(32) }))),
    ).toThrow(/previous/);
  });
});

describe('keyline-signer policy sign / bundle / verify', () => {
  it('round trip: 2 of 3 approvals verify as a device would', async () => {
    const { dir, officers, docPath, pinned } = await setup();
    const a1 = await sign(dir, docPath, officers[0]?.path ?? '', 'a1.json');
    const a2 = await sign(dir, docPath, officers[1]?.path ?? '', 'a2.json');
    const bundle = join(dir, 'bundle.json');
    const b = await runCli([
      'policy',
      'bundle',
      '--network',
      'regtest',
      '--document',
      docPath,
      '--approval',
      a1,
      a2,
      '--out',
      bundle,
    ]);
    expect(b.err).toBe('');
    expect(b.code).toBe(0);
    const parsed = parseBundleFile('t', readFileSync(bundle, 'utf8'));
    expect(parsed.approvals).toHaveLength(2);
    const v = await runCli(verifyArgs(bundle, pinned, '2'));
    expect(v.err).toBe('');
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^OK: device signer-a would accept/);
    expect(v.out).toContain('(2 of threshold 2)');
  });

  it('M-1 approvals are refused (exit 1, UNAUTHORIZED THRESHOLD_NOT_MET)', async () => {
    const { dir, officers, docPath, pinned } = await setup();
    const a1 = await sign(dir, docPath, officers[0]?.path ?? '', 'a1.json');
    const bundle = join(dir, 'bundle.json');
    expect(
      (
        await runCli([
          'policy',
          'bundle',
          '--network',
          'regtest',
          '--document',
          docPath,
          '--approval',
          a1,
          '--out',
          bundle,
        ])
      ).code,
    ).toBe(0);
    const v = await runCli(verifyArgs(bundle, pinned, '2'));
    expect(v.code).toBe(1);
    expect(v.err).toMatch(/^UNAUTHORIZED: policy\/update: .*\[reason THRESHOLD_NOT_MET\]/);
  });

  it('a document swapped under valid approvals is refused', async () => {
    const { dir, officers, docPath, pinned } = await setup();
    const a1 = await sign(dir, docPath, officers[0]?.path ?? '', 'a1.json');
    const a2 = await sign(dir, docPath, officers[1]?.path ?? '', 'a2.json');
    const bundle = join(dir, 'bundle.json');
    await runCli([
      'policy',
      'bundle',
      '--network',
      'regtest',
      '--document',
      docPath,
      '--approval',
      a1,
      a2,
      '--out',
      bundle,
    ]);
    const evil = encodePolicyJson(
      't',
      JSON.stringify(
        policyJson({ rules: [{ type: 'maxPerTransaction', maxAmount: '2100000000000000' }] }),
      ),
    );
    const file = JSON.parse(readFileSync(bundle, 'utf8')) as Record<string, unknown>;
    const swapped = join(dir, 'swapped.json');
    // stated hash left alone: caught by the hash recomputation
    writeFileSync(
      swapped,
      JSON.stringify({ ...file, document: Buffer.from(evil.bytes).toString('hex') }),
    );
    const v1 = await runCli(verifyArgs(swapped, pinned, '2'));
    expect(v1.code).toBe(1);
    expect(v1.err).toMatch(/^BAD_SIGNED_DOCUMENT: cli\/policy-verify: expected documentHash/);
    // stated hash updated too: the signatures no longer verify
    const swapped2 = join(dir, 'swapped2.json');
    writeFileSync(
      swapped2,
      JSON.stringify({
        ...file,
        document: Buffer.from(evil.bytes).toString('hex'),
        documentHash: Buffer.from(evil.hash).toString('hex'),
      }),
    );
    const v2 = await runCli(verifyArgs(swapped2, pinned, '2'));
    expect(v2.code).toBe(1);
    expect(v2.err).toMatch(/THRESHOLD_NOT_MET/);
  });

  it('bundle refuses an approval of another document and a duplicate officer', async () => {
    const { dir, officers, docPath } = await setup();
    const a1 = await sign(dir, docPath, officers[0]?.path ?? '', 'a1.json');
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify(policyJson({ changeWindow: 5 })));
    const dup = await runCli([
      'policy',
      'bundle',
      '--network',
      'regtest',
      '--document',
      docPath,
      '--approval',
      a1,
      a1,
      '--out',
      join(dir, 'b1'),
    ]);
    expect(dup.code).toBe(1);
    expect(dup.err).toMatch(/one approval per officer/);
    const wrong = await runCli([
      'policy',
      'bundle',
      '--network',
      'regtest',
      '--document',
      other,
      '--approval',
      a1,
      '--out',
      join(dir, 'b2'),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/^BAD_SIGNED_DOCUMENT: .*expected an approval of document/);
  });

  it('refuses to sign a policy for another network, and a holder key', async () => {
    const { dir, officers, docPath } = await setup();
    const net = await runCli(
      [
        'policy',
        'sign',
        '--network',
        'testnet',
        '--key',
        officers[0]?.path ?? '',
        '--document',
        docPath,
        WEAK,
      ],
      { passphrases: [PASS] },
    );
    expect(net.code).toBe(1);
    expect(net.err).toMatch(/^WRONG_NETWORK: cli\/policy-sign/);
    const holder = join(dir, 'h.key');
    await runCli(['holder-keygen', '--network', 'regtest', '--out', holder, '--id', 'h', WEAK], {
      passphrases: [PASS, PASS],
    });
    const h = await runCli(
      ['policy', 'sign', '--network', 'regtest', '--key', holder, '--document', docPath, WEAK],
      { passphrases: [PASS] },
    );
    expect(h.code).toBe(1);
    expect(h.err).toMatch(/^BAD_KEY_FILE: cli\/policy-sign: expected a officer-key file/m);
  });

  it('verify: expired, not targeted, rollback and bad usage', async () => {
    const { dir, officers, docPath, pinned } = await setup();
    const a1 = await sign(dir, docPath, officers[0]?.path ?? '', 'a1.json');
    const bundle = join(dir, 'bundle.json');
    await runCli([
      'policy',
      'bundle',
      '--network',
      'regtest',
      '--document',
      docPath,
      '--approval',
      a1,
      '--out',
      bundle,
    ]);
    const expired = await runCli([
      ...verifyArgs(bundle, pinned, '1'),
      '--now',
      String(NOW + 31 * DAY),
    ]);
    expect(expired.code).toBe(1);
    expect(expired.err).toMatch(/^STALE_POLICY: .*\[reason EXPIRED\]/);
    const other = await runCli([...verifyArgs(bundle, pinned, '1').slice(0, -1), 'signer-z']);
    expect(other.err).toMatch(/NOT_TARGETED/);
    const rollback = await runCli([
      ...verifyArgs(bundle, pinned, '1'),
      '--current-version',
      '1',
      '--current-hash',
      'ab'.repeat(32),
    ]);
    expect(rollback.err).toMatch(/ROLLBACK/);
    const half = await runCli([...verifyArgs(bundle, pinned, '1'), '--current-version', '1']);
    expect(half.code).toBe(2);
    const badM = await runCli(verifyArgs(bundle, pinned, 'two'));
    expect(badM.code).toBe(2);
    expect(badM.err).toMatch(
      /^BAD_CONFIG: cli\/policy-verify: expected valid options, got --threshold/,
    );
  });

  it('never prints the passphrase', () => {
    expect(ALL_OUTPUT.join('')).not.toContain(PASS);
  });
});

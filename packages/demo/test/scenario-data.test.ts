/**
 * The demo's pure parts: amounts written for the devnet, the withdrawal plan, the deposit
 * amounts, the device-denied destination, the policy document (checked by the device's own JSON
 * form encoder) and the command line.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodePolicyJson } from '../../signer-device/src/cli/policy-json.js';
import { parseDemoArgs } from '../src/args.js';
import { bech32, bytesToHex } from '../src/deps.js';
import { btcString } from '../src/devnet.js';
import { deviceDeniedDestination, policyDocument } from '../src/policy.js';
import { depositAmount, FLAGGED_USER } from '../src/scenario-deposits.js';
import { withdrawalPlan } from '../src/scenario-withdrawals.js';
import { DemoError } from '../src/wait.js';

const MAX_SATS = 2_100_000_000_000_000n;

describe('btcString', () => {
  it('writes any amount as exact BTC with 8 decimals, read back to the same satoshis', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_SATS }), (sats) => {
        const text = btcString(sats);
        expect(text).toMatch(/^(0|[1-9][0-9]*)\.[0-9]{8}$/);
        const [whole, frac] = text.split('.');
        expect(BigInt(whole ?? '') * 100_000_000n + BigInt(frac ?? '')).toBe(sats);
      }),
    );
  });

  it('examples', () => {
    expect(btcString(0n)).toBe('0.00000000');
    expect(btcString(1n)).toBe('0.00000001');
    expect(btcString(250_000_000n)).toBe('2.50000000');
  });
});

describe('withdrawalPlan', () => {
  it('gives disjoint rounds, the flagged user in round 1, and a refused user in neither', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 200 }), (users) => {
        const p = withdrawalPlan(users);
        const all = [...p.round1, ...p.round2, p.refused];
        expect(new Set(all).size).toBe(all.length);
        for (const i of all) expect(i >= 0 && i < users).toBe(true);
        expect(p.round1).toContain(FLAGGED_USER);
        expect(p.round1.length).toBeGreaterThanOrEqual(4);
        expect(p.round2.length).toBeGreaterThanOrEqual(4);
      }),
    );
  });

  it('30 users: 12 in round 1, 10 in round 2, user 30 refused', () => {
    const p = withdrawalPlan(30);
    expect([p.round1.length, p.round2.length, p.refused]).toEqual([12, 10, 29]);
  });
});

describe('depositAmount', () => {
  it('stays below the large-deposit limit for everyone but the flagged user', () => {
    const limit = 200_000_000n;
    for (let i = 0; i < 200; i++) {
      const a = depositAmount(i, limit);
      if (i === FLAGGED_USER) expect(a).toBeGreaterThanOrEqual(limit);
      else {
        expect(a).toBeLessThan(limit);
        // A quarter of it, the withdrawal, is well above dust and the policy's per-output cap.
        expect(a / 4n).toBeGreaterThan(1_000_000n);
      }
    }
  });
});

describe('deviceDeniedDestination', () => {
  it('is a P2WPKH script whose regtest address decodes back to the same hash', () => {
    const d = deviceDeniedDestination();
    expect(d.script).toMatch(/^0014[0-9a-f]{40}$/);
    const decoded = bech32.decode(d.address as `${string}1${string}`);
    expect(decoded.prefix).toBe('bcrt');
    expect(decoded.words[0]).toBe(0);
    expect(bytesToHex(bech32.fromWords(decoded.words.slice(1)))).toBe(d.script.slice(4));
  });
});

describe('policyDocument', () => {
  it("is accepted by the device's own JSON-form encoder and carries the deny-listed script", () => {
    const denied = deviceDeniedDestination();
    const doc = policyDocument({
      descriptor: 'wsh(sortedmulti(2,…))',
      riskPublicKey: '11'.repeat(32),
      deniedScript: denied.script,
      limits: { maxPerOutput: 100_000_000n, maxPerTransaction: 2_000_000_000n },
      nowSeconds: 1_800_000_000,
    });
    const encoded = encodePolicyJson('test', JSON.stringify(doc));
    expect(encoded.bytes.length).toBeGreaterThan(0);
    expect(JSON.stringify(doc.rules)).toContain(denied.script);
    expect(doc.intentKeys).toEqual(['11'.repeat(32)]);
  });
});

describe('parseDemoArgs', () => {
  it('defaults, and `--` from pnpm is ignored', () => {
    const s = parseDemoArgs(['--', '--once']);
    expect(s).toMatchObject({
      once: true,
      keep: false,
      users: 30,
      baud: 115_200,
      fromSource: false,
      stepTimeoutMs: 120_000,
    });
  });

  it('refuses unknown options and out-of-range values with the usage', () => {
    expect(() => parseDemoArgs(['--bogus'])).toThrow(DemoError);
    expect(() => parseDemoArgs(['--users', '5'])).toThrow(/--users/);
    expect(() => parseDemoArgs(['--baud', 'fast'])).toThrow(/--baud/);
    expect(() => parseDemoArgs(['--timeout', '1'])).toThrow(/usage/);
  });
});

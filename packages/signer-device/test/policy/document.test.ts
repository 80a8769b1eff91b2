import { encodeCanonical } from '@keyline/wire-protocol';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  encodePolicyDocument,
  hashPolicyDocument,
  parsePolicyDocument,
} from '../../src/policy/document.js';
import type { PolicyRuleInput } from '../../src/policy/rules.js';
import { baseDoc, script } from './fixtures.js';

const rules: PolicyRuleInput[] = [
  { type: 'maxPerTransaction', maxAmount: 5_000_000n },
  { type: 'denyDestinations', scripts: [script(9)] },
  {
    type: 'allowDestinations',
    entries: [{ script: script(1), addedAt: 5 }],
    coolingOffSeconds: 60,
  },
];

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('policy document', () => {
  it('round-trips through canonical CBOR and hashes with sha256', () => {
    const bytes = encodePolicyDocument(baseDoc(rules));
    const doc = parsePolicyDocument(bytes);
    expect(doc.rules[0]).toEqual({ type: 'maxPerTransaction', maxAmount: 5_000_000n });
    expect(encodePolicyDocument(doc)).toEqual(bytes);
    expect(hashPolicyDocument(bytes)).toEqual(sha256(bytes));
  });

  it('refuses non-canonical CBOR (a map head in the long form)', () => {
    const bytes = encodePolicyDocument(baseDoc(rules));
    // 0xab = map of 11 entries; 0xb8 0x0b is the same count in a non-shortest head.
    expect(bytes[0]).toBe(0xab);
    const loose = new Uint8Array(bytes.length + 1);
    loose.set([0xb8, 0x0b]);
    loose.set(bytes.subarray(1), 2);
    expect(code(() => parsePolicyDocument(loose))).toBe('BAD_POLICY');
  });

  it('refuses trailing bytes, empty input and garbage', () => {
    const bytes = encodePolicyDocument(baseDoc(rules));
    const trailing = new Uint8Array([...bytes, 0]);
    expect(code(() => parsePolicyDocument(trailing))).toBe('BAD_POLICY');
    expect(code(() => parsePolicyDocument(new Uint8Array()))).toBe('BAD_POLICY');
    expect(code(() => parsePolicyDocument(new Uint8Array([0xff, 0x00])))).toBe('BAD_POLICY');
  });

  it('refuses unknown fields, unknown rule types and out-of-range values', () => {
    const withExtra = encodeCanonical({ ...baseDoc(rules), extra: 1 });
    expect(code(() => parsePolicyDocument(withExtra))).toBe('BAD_POLICY');
    const badRule = encodeCanonical(baseDoc([{ type: 'allowEverything' } as never]));
    expect(code(() => parsePolicyDocument(badRule))).toBe('BAD_POLICY');
    const tooMuch = baseDoc([{ type: 'maxPerOutput', maxAmount: 2_100_000_000_000_001n }]);
    expect(code(() => encodePolicyDocument(tooMuch))).toBe('BAD_POLICY');
  });

  it('requires zero previous for version 1 and a real one after', () => {
    expect(
      code(() => encodePolicyDocument(baseDoc(rules, { previous: new Uint8Array(32).fill(1) }))),
    ).toBe('BAD_POLICY');
    expect(code(() => encodePolicyDocument(baseDoc(rules, { version: 2 })))).toBe('BAD_POLICY');
    expect(
      code(() =>
        encodePolicyDocument(baseDoc(rules, { version: 2, previous: new Uint8Array(32).fill(1) })),
      ),
    ).toBeUndefined();
  });

  it('refuses duplicate devices, wallets, intent keys and an expiry before issue', () => {
    const d = baseDoc(rules);
    expect(code(() => encodePolicyDocument({ ...d, devices: ['a', 'a'] }))).toBe('BAD_POLICY');
    expect(
      code(() => encodePolicyDocument({ ...d, wallets: [d.wallets[0]!, d.wallets[0]!] })),
    ).toBe('BAD_POLICY');
    expect(
      code(() => encodePolicyDocument({ ...d, intentKeys: [d.intentKeys[0]!, d.intentKeys[0]!] })),
    ).toBe('BAD_POLICY');
    expect(code(() => encodePolicyDocument({ ...d, expiresAt: d.issuedAt }))).toBe('BAD_POLICY');
    expect(code(() => encodePolicyDocument({ ...d, rules: [] }))).toBe('BAD_POLICY');
  });
});

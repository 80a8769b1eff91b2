import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEPOSIT_REASONS, WITHDRAWAL_REASONS } from '../../src/risk/index.js';

const doc = readFileSync(new URL('../../docs/risk.md', import.meta.url), 'utf8');
const documented = new Set([...doc.matchAll(/^\| `([A-Z_]+)` +\|/gm)].map((m) => m[1]));

describe('docs/risk.md lists exactly the reason codes', () => {
  it('every code is documented', () => {
    for (const c of [...Object.keys(WITHDRAWAL_REASONS), ...Object.keys(DEPOSIT_REASONS)]) {
      expect(documented.has(c), c).toBe(true);
    }
  });
  it('every documented code exists', () => {
    const known = new Set([...Object.keys(WITHDRAWAL_REASONS), ...Object.keys(DEPOSIT_REASONS)]);
    for (const c of documented) expect(known.has(c as string), c).toBe(true);
  });
  it('the tables are frozen', () => {
    expect(Object.isFrozen(WITHDRAWAL_REASONS)).toBe(true);
    expect(Object.isFrozen(WITHDRAWAL_REASONS.DESTINATION_DENIED)).toBe(true);
    expect(Object.isFrozen(DEPOSIT_REASONS)).toBe(true);
  });
});

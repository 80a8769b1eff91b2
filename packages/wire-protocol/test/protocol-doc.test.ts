import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorKind, errorNameOf } from '../src/errors.js';

const DOC = readFileSync(join(import.meta.dirname, '..', 'PROTOCOL.md'), 'utf8');

/** Rows of the error table in PROTOCOL.md: `| 1001 | \`BAD_FRAME\` | malformed | ... |`. */
function documentedCodes(): Map<string, { code: number; kind: string }> {
  const rows = new Map<string, { code: number; kind: string }>();
  for (const m of DOC.matchAll(/^\|\s*(\d{4})\s*\|\s*`([A-Z_]+)`\s*\|\s*([a-z]+)\s*\|/gm)) {
    const [, code, name, kind] = m;
    if (code === undefined || name === undefined || kind === undefined) continue;
    expect(rows.has(name), `PROTOCOL.md lists ${name} twice`).toBe(false);
    rows.set(name, { code: Number(code), kind });
  }
  return rows;
}

const RANGES: Record<ErrorKind, [number, number]> = {
  malformed: [1000, 1999],
  refused: [2000, 2999],
  state: [3000, 3999],
  link: [4000, 4999],
  internal: [5000, 5999],
};

describe('error code table', () => {
  it('every code in the source is in PROTOCOL.md with the same number and kind', () => {
    const doc = documentedCodes();
    for (const [name, e] of Object.entries(ERROR_CODES)) {
      expect(doc.get(name), `${name} missing from PROTOCOL.md`).toEqual({
        code: e.code,
        kind: e.kind,
      });
    }
  });

  it('every code in PROTOCOL.md exists in the source', () => {
    for (const [name, row] of documentedCodes()) {
      expect(
        errorNameOf(row.code),
        `PROTOCOL.md lists ${name}=${row.code} unknown to errors.ts`,
      ).toBe(name);
    }
  });

  it('numbers are unique and lie in the range of their kind', () => {
    const seen = new Set<number>();
    for (const [name, e] of Object.entries(ERROR_CODES)) {
      expect(seen.has(e.code), `${name} reuses ${e.code}`).toBe(false);
      seen.add(e.code);
      const [lo, hi] = RANGES[e.kind];
      expect(e.code >= lo && e.code <= hi, `${name}=${e.code} outside ${e.kind}`).toBe(true);
    }
  });
});

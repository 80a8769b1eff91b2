import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/api/routes.js';

const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
const section = doc.split('\n## Routes')[1]?.split('\n## ')[0] ?? '';
// | POST   | `/v1/withdrawals`   | exchange, admin   | 201/200 | ... |
const rows = [
  ...section.matchAll(/^\| (GET|POST) +\| `(\/v1\/[^`]+)` +\| ([a-z, ]+?) +\| ([0-9/]+) +\|/gm),
].map((m) => ({
  method: m[1]!,
  url: m[2]!,
  roles: m[3]!.split(', ').sort(),
  statuses: m[4]!.split('/').map(Number).sort(),
}));

describe('docs/api.md routes table matches ROUTES', () => {
  it('every route is documented with its roles and success statuses', () => {
    for (const r of ROUTES) {
      const row = rows.find((x) => x.method === r.method && x.url === r.url);
      expect(row, `${r.method} ${r.url}`).toBeDefined();
      expect(row?.roles).toEqual(r.access.kind === 'roles' ? [...r.access.roles].sort() : []);
      expect(row?.statuses).toEqual(Object.keys(r.responses).map(Number).sort());
    }
  });
  it('every documented route exists', () => {
    expect(rows.length).toBe(ROUTES.length);
    for (const row of rows) {
      expect(
        ROUTES.some((r) => r.method === row.method && r.url === row.url),
        `${row.method} ${row.url}`,
      ).toBe(true);
    }
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CORE_RPC_ERRORS, coordinatorCodeFor } from '../../src/chain/rpc-errors.js';

const doc = readFileSync(new URL('../../docs/chain.md', import.meta.url), 'utf8');
/** Rows `| -26 | `RPC_VERIFY_REJECTED` | `CHAIN_REJECTED` ... |`: code, name, first code named. */
const rows = new Map(
  [...doc.matchAll(/^\| (-\d+) +\| `([A-Z_0-9]+)` *\| ([^|]*)\|/gm)].map((m) => [
    Number(m[1]),
    { name: m[2], code: /`([A-Z_]+)`/.exec(m[3] ?? '')?.[1] },
  ]),
);

describe('docs/chain.md lists exactly the Core error codes and their mapping', () => {
  it('every code in CORE_RPC_ERRORS is documented with its name and CoordinatorError', () => {
    for (const [code, entry] of Object.entries(CORE_RPC_ERRORS)) {
      const row = rows.get(Number(code));
      expect(row, code).toBeDefined();
      expect(row?.name, code).toBe(entry.name);
      expect(row?.code, code).toBe(coordinatorCodeFor(entry.class));
    }
  });
  it('every documented code exists', () => {
    for (const code of rows.keys()) expect(CORE_RPC_ERRORS[code], String(code)).toBeDefined();
  });
  it('the table is frozen', () => {
    expect(Object.isFrozen(CORE_RPC_ERRORS)).toBe(true);
    expect(Object.isFrozen(CORE_RPC_ERRORS[-26])).toBe(true);
  });
});

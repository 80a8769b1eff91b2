import { bytesToHex } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import {
  MAX_WATCHED_SCRIPT_BYTES,
  OutpointIndex,
  type OwnedOutput,
  outpointKey,
  ScriptIndex,
} from '../../src/gateway/index.js';
import { wsh } from './fake-chain.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isCoordinatorError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe('ScriptIndex', () => {
  it('adds, looks up, removes and counts scripts', () => {
    const idx = new ScriptIndex();
    idx.add(wsh('a'), 'addr-1');
    idx.add(wsh('b'), 'addr-2');
    expect(idx.size).toBe(2);
    expect(idx.lookup(wsh('a'))).toBe('addr-1');
    expect(idx.has(wsh('b'))).toBe(true);
    expect(idx.lookup(wsh('c'))).toBeUndefined();
    // A copy of the bytes finds the same entry (keyed by content, not identity).
    expect(idx.lookup(Uint8Array.from(wsh('a')))).toBe('addr-1');
    expect(idx.remove(wsh('a'))).toBe(true);
    expect(idx.remove(wsh('a'))).toBe(false);
    expect(idx.size).toBe(1);
    expect(idx.has(wsh('a'))).toBe(false);
  });

  it('re-adding with the same owner is a no-op; another owner is refused (DUPLICATE)', () => {
    const idx = new ScriptIndex();
    idx.add(wsh('a'), 'addr-1');
    idx.add(wsh('a'), 'addr-1');
    expect(idx.size).toBe(1);
    expect(code(() => idx.add(wsh('a'), 'addr-2'))).toBe('DUPLICATE');
    expect(idx.lookup(wsh('a'))).toBe('addr-1');
  });

  it('refuses empty or oversized scripts and bad owners (BAD_REQUEST)', () => {
    const idx = new ScriptIndex();
    expect(code(() => idx.add(new Uint8Array(0), 'x'))).toBe('BAD_REQUEST');
    expect(code(() => idx.add(new Uint8Array(MAX_WATCHED_SCRIPT_BYTES + 1), 'x'))).toBe(
      'BAD_REQUEST',
    );
    expect(code(() => idx.add('0020' as unknown as Uint8Array, 'x'))).toBe('BAD_REQUEST');
    expect(code(() => idx.add(wsh('a'), ''))).toBe('BAD_REQUEST');
    expect(code(() => idx.add(wsh('a'), 'has space'))).toBe('BAD_REQUEST');
    // Lookups of any length answer without throwing (they run for every output of a block).
    expect(idx.lookup(new Uint8Array(0))).toBeUndefined();
    expect(idx.lookup(new Uint8Array(MAX_WATCHED_SCRIPT_BYTES + 5))).toBeUndefined();
    expect(idx.size).toBe(0);
  });

  it('holds the largest script and tells apart scripts that differ in one high byte', () => {
    const idx = new ScriptIndex();
    const big = new Uint8Array(MAX_WATCHED_SCRIPT_BYTES).fill(0xff);
    idx.add(big, 'big');
    const other = big.slice();
    other[5000] = 0xfe;
    expect(idx.lookup(big)).toBe('big');
    expect(idx.lookup(other)).toBeUndefined();
  });

  it('property: after any adds and removes, lookups match a reference map of hex keys', () => {
    const script = fc.uint8Array({ minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), script), { maxLength: 60 }),
        fc.array(script, { maxLength: 20 }),
        (ops, probes) => {
          const idx = new ScriptIndex();
          const ref = new Map<string, string>();
          ops.forEach(([add, s], i) => {
            const k = bytesToHex(s);
            if (add) {
              if (!ref.has(k)) {
                idx.add(s, `o${i}`);
                ref.set(k, `o${i}`);
              }
            } else {
              expect(idx.remove(s)).toBe(ref.delete(k));
            }
          });
          expect(idx.size).toBe(ref.size);
          for (const s of [...ops.map(([, s]) => s), ...probes]) {
            expect(idx.lookup(s)).toBe(ref.get(bytesToHex(s)));
          }
        },
      ),
      { seed: 5_001 },
    );
  });
});

const out = (over: Partial<OwnedOutput> = {}): OwnedOutput => ({
  txid: 'ab'.repeat(32),
  vout: 1,
  value: 1_000n,
  scriptPubKey: wsh('a'),
  owner: 'addr-1',
  coinbase: false,
  ...over,
});

describe('OutpointIndex', () => {
  it('adds, gets and removes by txid:vout', () => {
    const idx = new OutpointIndex();
    idx.add(out());
    idx.add(out({ vout: 2, value: 5n }));
    expect(idx.size).toBe(2);
    expect(idx.get('ab'.repeat(32), 2)?.value).toBe(5n);
    expect(idx.has('ab'.repeat(32), 3)).toBe(false);
    expect(idx.remove('ab'.repeat(32), 1)).toBe(true);
    expect(idx.remove('ab'.repeat(32), 1)).toBe(false);
    expect([...idx.values()].map((o) => outpointKey(o.txid, o.vout))).toEqual([
      `${'ab'.repeat(32)}:2`,
    ]);
  });

  it('stores a frozen copy and refuses malformed outputs', () => {
    const idx = new OutpointIndex();
    idx.add(out());
    expect(Object.isFrozen(idx.get('ab'.repeat(32), 1))).toBe(true);
    expect(code(() => idx.add(out({ txid: 'AB'.repeat(32) })))).toBe('BAD_REQUEST');
    expect(code(() => idx.add(out({ vout: -1 })))).toBe('BAD_REQUEST');
    expect(code(() => idx.add(out({ vout: 2 ** 32 })))).toBe('BAD_REQUEST');
    expect(code(() => idx.add(out({ value: -1n })))).toBe('BAD_AMOUNT');
    expect(code(() => idx.add(out({ value: 1 as unknown as bigint })))).toBe('BAD_AMOUNT');
    expect(code(() => idx.add(out({ value: 2_100_000_000_000_001n })))).toBe('BAD_AMOUNT');
    expect(code(() => idx.add(out({ owner: '' })))).toBe('BAD_REQUEST');
    expect(code(() => idx.add(out({ coinbase: 'no' as unknown as boolean })))).toBe('BAD_REQUEST');
    expect(idx.size).toBe(1);
  });
});

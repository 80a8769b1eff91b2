import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import type { AuditEntryData } from '../../src/audit/audit-entry.js';
import { type AuditHead, verifyAuditChain } from '../../src/audit/audit-verify.js';
import { isSignerError } from '../../src/errors.js';
import { logWith, SEED } from './fixtures.js';

const PUB = ed25519.getPublicKey(SEED);

function brokenAt(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    if (isSignerError(e, 'AUDIT_CHAIN_BROKEN')) return e.detail.seq as number;
    throw e;
  }
  throw new Error('expected AUDIT_CHAIN_BROKEN');
}

type Field = 'body' | 'prevHash' | 'hash';

describe('verifyAuditChain', () => {
  it('a chain of 1000 entries verifies, in one export and in pages chained by `previous`', async () => {
    const { log } = await logWith(1_000);
    const all = log.exportRange(0, 1_000);
    expect(all.entries).toHaveLength(1_000);
    expect(verifyAuditChain(all.entries, all.head, PUB)).toMatchObject({
      firstSeq: 0,
      headSeq: 999,
      count: 1_000,
    });
    let previous: { seq: number; hash: Uint8Array } | undefined;
    for (let from = 0; from < 1_000; from += 300) {
      const page = log.exportRange(from, 300);
      const r = verifyAuditChain(
        page.entries,
        page.head,
        PUB,
        previous === undefined ? {} : { previous },
      );
      previous = { seq: r.headSeq, hash: r.headHash };
    }
    expect(previous?.seq).toBe(999);
  });

  it("flipping any byte of any field of any entry is detected at that entry's seq", async () => {
    const { log } = await logWith(24);
    const { entries, head } = log.exportRange(0, 1_000);
    let checked = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as AuditEntryData;
      for (const field of ['body', 'prevHash', 'hash'] as Field[]) {
        for (let b = 0; b < e[field].length; b++) {
          const bytes = Uint8Array.from(e[field]);
          bytes[b] = (bytes[b] as number) ^ 0x01;
          const copy = entries.map((x, j) => (j === i ? { ...x, [field]: bytes } : x));
          // A flipped hash of the last entry no longer matches the head: still seq i.
          expect(
            brokenAt(() => verifyAuditChain(copy, head, PUB, { fromSeq: 0 })),
            `seq ${i} ${field}[${b}]`,
          ).toBe(i);
          checked++;
        }
      }
      for (const delta of [
        { time: e.time + 1 },
        { seq: e.seq + 1 },
        { kind: e.kind === 'state' ? 'policy' : 'state' },
      ]) {
        const copy = entries.map((x, j) => (j === i ? { ...x, ...delta } : x));
        expect(brokenAt(() => verifyAuditChain(copy, head, PUB, { fromSeq: 0 }))).toBe(i);
      }
    }
    expect(checked).toBeGreaterThan(24 * 64);
    for (let b = 0; b < 64; b++) {
      const sig = Uint8Array.from(head.signature);
      sig[b] = (sig[b] as number) ^ 0x01;
      expect(brokenAt(() => verifyAuditChain(entries, { ...head, signature: sig }, PUB))).toBe(
        head.seq,
      );
    }
  });

  it('reordering or removing an entry is detected at the right seq', async () => {
    const { log } = await logWith(50);
    const { entries, head } = log.exportRange(0, 1_000);
    for (const i of [0, 1, 17, 48]) {
      const swapped = [...entries];
      [swapped[i], swapped[i + 1]] = [
        swapped[i + 1] as AuditEntryData,
        swapped[i] as AuditEntryData,
      ];
      expect(brokenAt(() => verifyAuditChain(swapped, head, PUB, { fromSeq: 0 }))).toBe(i);
    }
    for (const i of [0, 1, 25, 49]) {
      const removed = entries.filter((_, j) => j !== i);
      expect(brokenAt(() => verifyAuditChain(removed, head, PUB, { fromSeq: 0 }))).toBe(i);
    }
    // A middle entry removed and the rest renumbered and relinked cannot be re-signed.
    const { log: other } = await logWith(49);
    expect(() => verifyAuditChain(entries.slice(0, 49), other.head, PUB)).toThrow();
  });

  it('the wrong public key fails, at the head', async () => {
    const { log } = await logWith(10);
    const { entries, head } = log.exportRange(0, 10);
    const wrong = ed25519.getPublicKey(new Uint8Array(32).fill(9));
    expect(brokenAt(() => verifyAuditChain(entries, head, wrong))).toBe(9);
  });

  it('a range chained to the wrong previous entry fails at its first seq', async () => {
    const { log } = await logWith(20);
    const page = log.exportRange(10, 5);
    const prev = log.exportRange(8, 1).entries[0] as AuditEntryData;
    expect(
      brokenAt(() =>
        verifyAuditChain(page.entries, page.head, PUB, { previous: { seq: 9, hash: prev.hash } }),
      ),
    ).toBe(10);
  });

  it('malformed input is BAD_AUDIT_LOG, not a broken chain', async () => {
    const { log } = await logWith(3);
    const { entries, head } = log.exportRange(0, 3);
    const malformed = (f: () => unknown) =>
      expect(f).toThrow(expect.objectContaining({ code: 'BAD_AUDIT_LOG' }));
    malformed(() => verifyAuditChain([{ ...entries[0], hash: new Uint8Array(31) }], head, PUB));
    malformed(() => verifyAuditChain([{ ...entries[0], extra: 1 }], head, PUB));
    malformed(() =>
      verifyAuditChain(entries, { ...head, signature: new Uint8Array(63) } as AuditHead, PUB),
    );
    malformed(() => verifyAuditChain('nope' as unknown as unknown[], head, PUB));
    malformed(() => verifyAuditChain(entries, head, new Uint8Array(31)));
  });
});

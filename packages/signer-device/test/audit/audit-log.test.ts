import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METHODS } from '@keyline/wire-protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.js';
import { verifyAuditChain } from '../../src/audit/audit-verify.js';
import { isSignerError } from '../../src/errors.js';
import { StateStore } from '../../src/state/state-store.js';
import { MAC_KEY, sampleMemory } from '../state/fixtures.js';
import { MemFs } from '../state/mem-fs.js';
import { eventFor, logWith, PATH, SEED } from './fixtures.js';

const PUB = ed25519.getPublicKey(SEED);
const reopen = (fs: MemFs, mode: 'all' | 'head' = 'all') =>
  AuditLog.open({ path: PATH, seed: SEED, create: false, time: 5_000, fs, verifySignatures: mode });

function codeOf(e: unknown): string {
  return isSignerError(e) ? e.code : `not a SignerError: ${String(e)}`;
}

describe('AuditLog', () => {
  it('1000 appended entries reopen and verify; the state mark survives', async () => {
    const { log, fs } = await logWith(1_000);
    expect(log.length).toBe(1_000);
    const again = await reopen(fs);
    expect(again.length).toBe(1_000);
    expect(again.head.hash).toEqual(log.head.hash);
    // The last 'state' event in fixtures is at i = 994 (i % 6 === 4).
    expect(again.lastStateGeneration()?.generation).toBe(994);
  });

  it('a missing log without `create` is BAD_AUDIT_LOG, never a silent new log', async () => {
    await expect(reopen(new MemFs())).rejects.toSatisfy((e) => codeOf(e) === 'BAD_AUDIT_LOG');
  });

  it('flipping any byte of the file (outside older signatures) makes open fail, coded', async () => {
    const { fs } = await logWith(12);
    const good = fs.peek(PATH) as Uint8Array;
    const codes = new Set<string>();
    for (let i = 0; i < good.length; i++) {
      const bad = Uint8Array.from(good);
      bad[i] = (bad[i] as number) ^ 0x01;
      fs.poke(PATH, bad);
      const err = await reopen(fs, 'head').then(
        () => null,
        (e: unknown) => e,
      );
      if (err === null) {
        // Only bytes of an older entry's signature escape 'head' mode: check them with 'all'.
        const e2 = await reopen(fs, 'all').catch((e: unknown) => e);
        expect(codeOf(e2), `byte ${i}`).toBe('AUDIT_CHAIN_BROKEN');
        codes.add('sig');
        continue;
      }
      expect(['AUDIT_CHAIN_BROKEN', 'BAD_AUDIT_LOG'], `byte ${i}`).toContain(codeOf(err));
      codes.add(codeOf(err));
    }
    expect(codes).toEqual(new Set(['AUDIT_CHAIN_BROKEN', 'BAD_AUDIT_LOG', 'sig']));
    fs.poke(PATH, good);
    await expect(reopen(fs)).resolves.toBeInstanceOf(AuditLog);
  });

  it('a removed or reordered record fails with the seq where the chain breaks', async () => {
    const { log, fs } = await logWith(6);
    const good = fs.peek(PATH) as Uint8Array;
    // Record boundaries from the lengths.
    const starts: number[] = [];
    let off = 8;
    while (off < good.length) {
      starts.push(off);
      off += 4 + new DataView(good.buffer).getUint32(off, false);
    }
    const rec = (i: number) => good.subarray(starts[i], starts[i + 1] ?? good.length);
    const join = (parts: Uint8Array[]) => {
      const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    };
    const header = good.subarray(0, 8);
    fs.poke(PATH, join([header, rec(0), rec(1), rec(3), rec(4), rec(5)]));
    expect(
      await reopen(fs).catch((e: unknown) => (e as { detail: { seq: number } }).detail.seq),
    ).toBe(2);
    fs.poke(PATH, join([header, rec(0), rec(2), rec(1), rec(3), rec(4), rec(5)]));
    expect(
      await reopen(fs).catch((e: unknown) => (e as { detail: { seq: number } }).detail.seq),
    ).toBe(1);
    expect(log.length).toBe(6);
  });

  it('a torn last record (power cut mid-append) is cut off and the recovery logged', async () => {
    const { fs } = await logWith(5);
    const good = fs.peek(PATH) as Uint8Array;
    const { log: longer, fs: fs2 } = await logWith(6);
    const full = fs2.peek(PATH) as Uint8Array;
    expect(longer.length).toBe(6);
    for (const cut of [1, 3, 4, 10, full.length - good.length - 1]) {
      fs.poke(PATH, full.subarray(0, good.length + cut));
      const log = await reopen(fs);
      expect(log.length).toBe(6);
      expect(log.head.kind).toBe('lifecycle');
      const { entries, head } = log.exportRange(0, 1_000);
      verifyAuditChain(entries, head, PUB, { fromSeq: 0 });
      fs.poke(PATH, good);
    }
  });

  it('a length prefix stretched over a whole last record is tampering, not a torn write', async () => {
    const { fs } = await logWith(3);
    const good = fs.peek(PATH) as Uint8Array;
    const { fs: fs2 } = await logWith(2);
    const lastStart = (fs2.peek(PATH) as Uint8Array).length;
    const bad = Uint8Array.from(good);
    const view = new DataView(bad.buffer);
    view.setUint32(lastStart, view.getUint32(lastStart, false) + 1, false);
    fs.poke(PATH, bad);
    await expect(reopen(fs)).rejects.toSatisfy((e) => codeOf(e) === 'BAD_AUDIT_LOG');
  });

  it('a failed append rejects with IO, leaves the head, and blocks appends until reopened', async () => {
    const { log, fs } = await logWith(3);
    const head = log.head;
    fs.fail = (op) =>
      op === 'appendFileDurable' ? Object.assign(new Error('EIO'), { code: 'EIO' }) : undefined;
    await expect(log.append(eventFor(1), 2_000)).rejects.toSatisfy((e) => codeOf(e) === 'IO');
    expect(log.head).toBe(head);
    fs.fail = null;
    await expect(log.append(eventFor(1), 2_000)).rejects.toSatisfy((e) => codeOf(e) === 'IO');
    const again = await reopen(fs);
    await again.append(eventFor(1), 2_001);
    expect(again.length).toBe(4);
  });

  it('refuses events whose fields are not codes, hex ids or bounded numbers', async () => {
    const { log } = await logWith(1);
    const bad = (ev: unknown) =>
      expect(log.append(ev as Parameters<AuditLog['append']>[0], 1)).rejects.toSatisfy(
        (e) => codeOf(e) === 'BAD_AUDIT_LOG',
      );
    await bad({
      kind: 'decision',
      method: 'has space',
      outcome: 'sign',
      code: null,
      reason: null,
      rule: null,
      output: null,
      txid: null,
    });
    await bad({ kind: 'signature', txid: 'zz', walletId: 'ab', inputs: [], amount: 1n, fee: 1n });
    await bad({
      kind: 'signature',
      txid: 'ab'.repeat(32),
      walletId: 'ab',
      inputs: [],
      amount: -1n,
      fee: 1n,
    });
    await bad({ kind: 'lifecycle', event: 'not-an-event', detail: null });
    await bad({ kind: 'secret', seed: SEED });
    expect(log.length).toBe(1);
  });

  it('exportRange has the get_audit_log result shape, anchors each range with a signed head', async () => {
    const { log } = await logWith(30);
    const r = log.exportRange(10, 5);
    expect(METHODS.get_audit_log.result.safeParse(r).success).toBe(true);
    expect(r.entries.map((e) => e.seq)).toEqual([10, 11, 12, 13, 14]);
    expect(r.head.seq).toBe(14);
    expect(verifyAuditChain(r.entries, r.head, PUB, { fromSeq: 10 }).count).toBe(5);
    const tail = log.exportRange(25, 1_000);
    expect(tail.entries).toHaveLength(5);
    expect(tail.head.seq).toBe(29);
    const past = log.exportRange(30, 10);
    expect(past.entries).toEqual([]);
    expect(past.head.seq).toBe(29);
    verifyAuditChain(past.entries, past.head, PUB);
    for (const [from, limit] of [
      [-1, 1],
      [0, 0],
      [0, 1_001],
      [1.5, 1],
    ]) {
      expect(() => log.exportRange(from as number, limit as number)).toThrow(
        expect.objectContaining({ code: 'BAD_AUDIT_LOG' }),
      );
    }
  });

  it('no secret bytes in the files: neither the audit seed nor the state MAC key, raw, hex or base64', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyline-audit-'));
    try {
      const log = await AuditLog.open({
        path: join(dir, 'audit.log'),
        seed: SEED,
        create: true,
        time: 1,
      });
      for (let i = 1; i < 50; i++) await log.append(eventFor(i), i);
      const store = await StateStore.open({
        dir,
        macKey: MAC_KEY,
        network: 'regtest',
        witness: log,
      });
      await store.commit(sampleMemory());
      const last = await store.commit(sampleMemory());
      store.close();
      log.close();
      const files = await readdir(dir);
      expect(files.sort()).toEqual(['audit.log', 'state.cbor', 'state.marker', 'state.prev']);
      for (const secret of [SEED, MAC_KEY]) {
        const b = Buffer.from(secret);
        const needles = [
          b,
          Buffer.from(b.toString('hex')),
          Buffer.from(b.toString('hex').toUpperCase()),
          Buffer.from(b.toString('base64')),
          Buffer.from(b.toString('base64url')),
          b.subarray(0, 16),
          b.subarray(16),
        ];
        for (const f of files) {
          const data = await readFile(join(dir, f));
          for (const n of needles) expect(data.includes(n), `${f} holds a secret form`).toBe(false);
        }
      }
      // The same files reopen on the real file system.
      const log2 = await AuditLog.open({
        path: join(dir, 'audit.log'),
        seed: SEED,
        create: false,
        time: 2,
      });
      const store2 = await StateStore.open({
        dir,
        macKey: MAC_KEY,
        network: 'regtest',
        witness: log2,
      });
      expect(store2.loaded).toMatchObject({ failClosed: false, reason: null, problems: [] });
      expect(store2.generation).toBe(last.generation);
      log2.close();
      store2.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

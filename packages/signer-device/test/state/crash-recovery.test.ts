/**
 * Power cuts at every step of a commit (state files and the audit log on one simulated disk),
 * and every ordered subset of the directory operations that could have reached the journal:
 * the device always comes back on a consistent generation, never fail-closed, never empty.
 */
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.js';
import type { DeviceMemory } from '../../src/device-memory.js';
import { applySpend } from '../../src/state/memory-ops.js';
import { StateStore } from '../../src/state/state-store.js';
import { DIR, MAC_KEY, sampleMemory, spend } from './fixtures.js';
import { MemFs } from './mem-fs.js';

const SEED = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
const LOG = `${DIR}/audit.log`;

async function boot(fs: MemFs, create: boolean) {
  const log = await AuditLog.open({
    path: LOG,
    seed: SEED,
    create,
    time: 0,
    fs,
    verifySignatures: 'all',
  });
  const store = await StateStore.open({
    dir: DIR,
    macKey: MAC_KEY,
    network: 'regtest',
    witness: log,
    fs,
  });
  return { log, store };
}

const powerCut = () => Object.assign(new Error('power cut'), { code: 'EIO' });

describe('state-store: crash recovery', () => {
  it('a cut at every step of a commit, with any journal prefix, recovers to old or new', async () => {
    const m1 = sampleMemory();
    const m2: DeviceMemory = {
      ...m1,
      spends: [...m1.spends, spend(1_200, 9, 77n)],
      lastTime: 1_200,
    };
    // How many fs calls a full commit takes.
    const probe = new MemFs();
    const p = await boot(probe, true);
    await p.store.commit(m1);
    const before = probe.calls.length;
    await p.store.commit(m2);
    const steps = probe.calls.length - before;
    expect(steps).toBeGreaterThanOrEqual(6);

    let cases = 0;
    for (let k = 0; k <= steps; k++) {
      const fs = new MemFs();
      const { store } = await boot(fs, true);
      await store.commit(m1);
      const start = fs.calls.length;
      fs.fail = (_op, _path, idx) => (idx >= start + k ? powerCut() : undefined);
      const resolved = await store.commit(m2).then(
        () => true,
        () => false,
      );
      expect(resolved).toBe(k === steps);
      for (let j = 0; j <= fs.pendingDirOps; j++) {
        const after = fs.crash({ journal: j });
        const { store: s2 } = await boot(after, false);
        expect(s2.loaded.failClosed, `cut at step ${k}, journal ${j}`).toBe(false);
        const got = s2.memory;
        expect([m1, m2]).toContainEqual(got);
        if (resolved) expect(got).toEqual(m2);
        // The recovered device can commit again and reopen cleanly.
        await s2.commit({ ...got, lastTime: 5_000 });
        const { store: s3 } = await boot(after, false);
        expect(s3.loaded.failClosed).toBe(false);
        expect(s3.memory.lastTime).toBe(5_000);
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(steps);
  });

  it('temp written and fsynced but not renamed: the old generation loads', async () => {
    const fs = new MemFs();
    const { store } = await boot(fs, true);
    await store.commit(sampleMemory());
    fs.fail = (op) => (op === 'rename' ? powerCut() : undefined);
    await expect(store.commit({ ...sampleMemory(), lastTime: 4_000 })).rejects.toThrow();
    const { store: s2 } = await boot(fs.crash({ journal: 99 }), false);
    // state.tmp holds generation 2 (complete, authenticated): finishing the rename is safe too.
    expect(s2.loaded.failClosed).toBe(false);
    expect([1_100, 4_000]).toContain(s2.memory.lastTime);
    const { store: s3 } = await boot(fs.crash({ journal: 0 }), false);
    expect(s3.loaded.failClosed).toBe(false);
  });

  it('rename done but the directory not fsynced: the durable tmp is found and the commit finished', async () => {
    const fs = new MemFs();
    const { store } = await boot(fs, true);
    await store.commit(sampleMemory());
    let dirSyncs = 0;
    fs.fail = (op) => (op === 'fsyncDir' && dirSyncs++ === 1 ? powerCut() : undefined);
    await expect(store.commit({ ...sampleMemory(), lastTime: 4_000 })).rejects.toThrow();
    const after = fs.crash();
    // The renames were lost; state.tmp (generation 2, fsynced with its directory entry) remains.
    expect(after.paths()).toContain(`${DIR}/state.tmp`);
    const { store: s2 } = await boot(after, false);
    // A generation ahead of the audit record is one the device wrote itself: it only over-counts.
    expect(s2.loaded).toMatchObject({ failClosed: false, generation: 2, source: 'state.tmp' });
    expect(s2.memory.lastTime).toBe(4_000);
    expect(after.paths()).not.toContain(`${DIR}/state.tmp`);
    const { store: s3 } = await boot(after, false);
    expect(s3.loaded).toMatchObject({ failClosed: false, generation: 2, source: 'state.cbor' });
  });

  it('with the real audit log as witness, an older state file copied back fails closed', async () => {
    const fs = new MemFs();
    const { store } = await boot(fs, true);
    await store.commit(sampleMemory());
    const old = fs.peek(`${DIR}/state.cbor`) as Uint8Array;
    await store.commit({ ...sampleMemory(), lastTime: 3_000 });
    await store.commit({ ...sampleMemory(), lastTime: 4_000 });
    fs.poke(`${DIR}/state.cbor`, old);
    fs.poke(`${DIR}/state.prev`, old);
    const { store: s2 } = await boot(fs, false);
    expect(s2.loaded).toMatchObject({ failClosed: true, reason: 'STATE_ROLLED_BACK' });
    expect(s2.memory.spends).toEqual([]);
  });

  it('reboot during a velocity window: spends survive the re-open and still count', async () => {
    const fs = new MemFs();
    const { store } = await boot(fs, true);
    const window = 3_600;
    let m: DeviceMemory = { ...sampleMemory(), spends: [], withdrawals: {}, lastTime: 10_000 };
    for (let i = 0; i < 3; i++) {
      const now = 10_000 + i * 600;
      m = applySpend(m, { spend: spend(now, 100 + i, 1_000_000n), withdrawals: [] }, now, window);
      await store.commit(m);
    }
    const { store: after } = await boot(fs.crash(), false);
    const now = 11_500;
    const inWindow = after.memory.spends
      .filter((s) => s.at > now - window)
      .reduce((a, s) => a + s.amount, 0n);
    expect(inWindow).toBe(3_000_000n);
    expect(after.memory.spends.map((s) => s.at)).toEqual([10_000, 10_600, 11_200]);
  });
});

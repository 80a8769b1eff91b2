import { describe, expect, it } from 'vitest';
import { emptyMemory } from '../../src/device-memory.js';
import { isSignerError } from '../../src/errors.js';
import { StateStore } from '../../src/state/state-store.js';
import { DIR, MAC_KEY, MemWitness, sampleMemory, spend } from './fixtures.js';
import { MemFs } from './mem-fs.js';

const CUR = `${DIR}/state.cbor`;
const PREV = `${DIR}/state.prev`;

function open(fs: MemFs, witness: MemWitness, network: 'regtest' | 'mainnet' = 'regtest') {
  return StateStore.open({ dir: DIR, macKey: MAC_KEY, network, witness, fs });
}

describe('state-store: load and commit', () => {
  it('a brand-new device (no files, no witness record) starts from emptyMemory', async () => {
    const s = await open(new MemFs(), new MemWitness());
    expect(s.loaded).toMatchObject({
      failClosed: false,
      reason: null,
      source: 'new',
      generation: 0,
    });
    expect(s.memory).toEqual(emptyMemory('regtest'));
  });

  it('round-trips a memory, bigints included, and records each generation in the witness', async () => {
    const fs = new MemFs();
    const w = new MemWitness();
    const s = await open(fs, w);
    const m = sampleMemory();
    const mark = await s.commit(m);
    expect(mark.generation).toBe(1);
    expect(w.mark?.generation).toBe(1);
    expect(s.memory).toEqual(m);
    const again = await open(fs, w);
    expect(again.loaded).toMatchObject({
      failClosed: false,
      reason: null,
      source: 'state.cbor',
      generation: 1,
    });
    expect(again.memory).toEqual(m);
    expect(typeof again.memory.spends[1]?.amount).toBe('bigint');
    await again.commit({ ...m, lastTime: 2_000 });
    const third = await open(fs, w);
    expect(third.generation).toBe(2);
    expect(third.memory.lastTime).toBe(2_000);
    expect(fs.paths()).toEqual([PREV, CUR, `${DIR}/state.marker`].sort());
  });

  it('every single-byte corruption of the state file fails closed', async () => {
    const fs = new MemFs();
    const w = new MemWitness();
    const s = await open(fs, w);
    await s.commit(sampleMemory());
    await s.commit({ ...sampleMemory(), lastTime: 5_000 }); // prev is generation 1, below the witness
    const good = fs.peek(CUR) as Uint8Array;
    for (let i = 0; i < good.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const bad = Uint8Array.from(good);
        bad[i] = (bad[i] as number) ^ mask;
        fs.poke(CUR, bad);
        const r = await open(fs, w);
        expect(r.loaded.failClosed, `byte ${i} mask ${mask}`).toBe(true);
        expect(r.memory.spends).toEqual([]);
        expect(r.memory.failClosed).toBe(true);
      }
    }
    fs.poke(CUR, good.subarray(0, good.length - 1));
    expect((await open(fs, w)).loaded.failClosed).toBe(true);
    fs.poke(CUR, good);
    expect((await open(fs, w)).loaded.failClosed).toBe(false);
  });

  it('a rolled-back state file (an older generation copied back) fails closed', async () => {
    const fs = new MemFs();
    const w = new MemWitness();
    const s = await open(fs, w);
    await s.commit(sampleMemory());
    const old = fs.peek(CUR) as Uint8Array;
    await s.commit({ ...sampleMemory(), spends: [...sampleMemory().spends, spend(1_200, 3, 9n)] });
    fs.poke(CUR, old);
    fs.poke(PREV, old);
    const r = await open(fs, w);
    expect(r.loaded).toMatchObject({ failClosed: true, reason: 'STATE_ROLLED_BACK' });
  });

  it('missing state on a device that has committed fails closed, never starts empty', async () => {
    const fs = new MemFs();
    const w = new MemWitness();
    await (await open(fs, w)).commit(sampleMemory());
    fs.poke(CUR, null);
    expect((await open(fs, w)).loaded).toMatchObject({ failClosed: true, reason: 'STATE_MISSING' });
    // Even with the marker gone too, the witness remembers a generation.
    fs.poke(`${DIR}/state.marker`, null);
    expect((await open(fs, w)).loaded).toMatchObject({ failClosed: true, reason: 'STATE_MISSING' });
    // And with the witness gone, the marker alone is enough.
    const fs2 = new MemFs();
    await (await open(fs2, new MemWitness())).commit(sampleMemory());
    fs2.poke(CUR, null);
    expect((await open(fs2, new MemWitness())).loaded.failClosed).toBe(true);
  });

  it('state files without any witness record fail closed (audit log replaced)', async () => {
    const fs = new MemFs();
    const s = await open(fs, new MemWitness());
    await s.commit(sampleMemory());
    // Generation 1 with no record: a crash inside the first commit, accepted.
    expect((await open(fs, new MemWitness())).loaded.failClosed).toBe(false);
    await s.commit(sampleMemory());
    const r = await open(fs, new MemWitness());
    expect(r.loaded).toMatchObject({ failClosed: true, reason: 'STATE_ROLLED_BACK' });
  });

  it('a file under another MAC key, or of another network, fails closed', async () => {
    const fs = new MemFs();
    const w = new MemWitness();
    await (await open(fs, w)).commit(sampleMemory());
    const other = Uint8Array.from(MAC_KEY);
    other[0] = (other[0] as number) ^ 1;
    const r = await StateStore.open({
      dir: DIR,
      macKey: other,
      network: 'regtest',
      witness: w,
      fs,
    });
    expect(r.loaded).toMatchObject({ failClosed: true, reason: 'STATE_BAD_MAC' });
    expect((await open(fs, w, 'mainnet')).loaded).toMatchObject({
      failClosed: true,
      reason: 'STATE_WRONG_NETWORK',
    });
  });

  it('a different file at the witnessed generation is a fork and fails closed', async () => {
    const fsA = new MemFs();
    const wA = new MemWitness();
    await (await open(fsA, wA)).commit(sampleMemory());
    const fsB = new MemFs();
    await (await open(fsB, new MemWitness())).commit({ ...sampleMemory(), spends: [] });
    fsA.poke(CUR, fsB.peek(CUR) as Uint8Array);
    expect((await open(fsA, wA)).loaded).toMatchObject({
      failClosed: true,
      reason: 'STATE_FORKED',
    });
  });

  it('a witness that throws fails closed', async () => {
    const w = new MemWitness();
    w.lastStateGeneration = () => {
      throw new Error('broken');
    };
    expect((await open(new MemFs(), w)).loaded).toMatchObject({
      failClosed: true,
      reason: 'STATE_IO',
    });
  });

  it('a read error fails closed with STATE_IO', async () => {
    const fs = new MemFs();
    const w = new MemWitness();
    await (await open(fs, w)).commit(sampleMemory());
    fs.fail = (op, path) => (op === 'readFile' && path === CUR ? new Error('EIO') : undefined);
    const r = await open(fs, w);
    expect(r.loaded.failClosed).toBe(true);
    expect(r.loaded.problems.some((p) => p.reason === 'STATE_IO')).toBe(true);
  });

  it('after a fail-closed load, a commit continues above every generation seen', async () => {
    const fs = new MemFs();
    const w = new MemWitness();
    const s = await open(fs, w);
    await s.commit(sampleMemory());
    await s.commit(sampleMemory());
    fs.poke(CUR, new Uint8Array(10));
    const r = await open(fs, w);
    expect(r.loaded.failClosed).toBe(true);
    const mark = await r.commit({ ...emptyMemory('regtest'), failClosed: true });
    expect(mark.generation).toBe(3);
    expect((await open(fs, w)).loaded).toMatchObject({
      failClosed: true,
      reason: null,
      generation: 3,
    });
  });

  it('rejects a bad MAC key at open and an invalid memory at commit', async () => {
    await expect(
      StateStore.open({
        dir: DIR,
        macKey: new Uint8Array(31),
        network: 'regtest',
        witness: new MemWitness(),
        fs: new MemFs(),
      }),
    ).rejects.toSatisfy((e) => isSignerError(e, 'BAD_CONFIG'));
    const s = await open(new MemFs(), new MemWitness());
    await expect(s.commit({ ...sampleMemory(), lastTime: -1 })).rejects.toSatisfy((e) =>
      isSignerError(e, 'STATE_CORRUPT'),
    );
    await expect(s.commit({ ...sampleMemory(), network: 'mainnet' })).rejects.toSatisfy((e) =>
      isSignerError(e, 'STATE_CORRUPT'),
    );
    s.close();
    await expect(s.commit(sampleMemory())).rejects.toSatisfy((e) => isSignerError(e, 'IO'));
  });
});

describe('state-store: commit failures', () => {
  for (const [op, nth] of [
    ['writeFile', 0],
    ['fsyncFile', 0],
    ['fsyncDir', 0],
    ['rename', 1],
    ['fsyncDir', 1],
  ] as const) {
    it(`${op} #${nth} failing rejects with IO and leaves memory and generation unchanged`, async () => {
      const fs = new MemFs();
      const w = new MemWitness();
      const s = await open(fs, w);
      const first = sampleMemory();
      await s.commit(first);
      let seen = 0;
      fs.fail = (o) => {
        if (o !== op) return undefined;
        return seen++ === nth ? Object.assign(new Error('EIO'), { code: 'EIO' }) : undefined;
      };
      const next = { ...first, lastTime: 9_999 };
      const err = await s.commit(next).catch((e: unknown) => e);
      expect(isSignerError(err, 'IO')).toBe(true);
      expect((err as Error).message).toMatch(/^state-store\/commit: /);
      expect(s.memory).toEqual(first);
      expect(s.generation).toBe(1);
      fs.fail = null;
      const mark = await s.commit({ ...first, lastTime: 10_000 });
      expect(mark.generation).toBe(3); // the failed attempt's number is not reused
      const r = await open(fs, w);
      expect(r.loaded.failClosed).toBe(false);
      expect(r.memory.lastTime).toBe(10_000);
    });
  }

  it('a witness that fails to record rejects the commit and leaves memory unchanged', async () => {
    const fs = new MemFs();
    const w = new MemWitness();
    const s = await open(fs, w);
    await s.commit(sampleMemory());
    w.failNext = true;
    await expect(s.commit({ ...sampleMemory(), lastTime: 7_000 })).rejects.toSatisfy((e) =>
      isSignerError(e, 'IO'),
    );
    expect(s.memory.lastTime).toBe(1_100);
    // On disk the newer generation is durable and ahead of the witness: that is accepted.
    const r = await open(fs, w);
    expect(r.loaded).toMatchObject({ failClosed: false, generation: 2 });
  });

  it('concurrent commits are serialised and both land in order', async () => {
    const fs = new MemFs();
    const w = new MemWitness();
    const s = await open(fs, w);
    const [a, b] = await Promise.all([
      s.commit({ ...sampleMemory(), lastTime: 2_000 }),
      s.commit({ ...sampleMemory(), lastTime: 3_000 }),
    ]);
    expect([a.generation, b.generation]).toEqual([1, 2]);
    expect((await open(fs, w)).memory.lastTime).toBe(3_000);
  });
});

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deframer } from '../src/deframer.js';
import { isWireError, type WireError } from '../src/errors.js';
import { decodeFrame, encodeFrame, type Frame } from '../src/frame.js';
import { DEFAULT_LINK_OPTIONS, Link, type LinkOptions } from '../src/link.js';
import { createMemoryTransportPair } from '../src/memory-transport.js';
import type { Transport } from '../src/transport.js';

// All link tests run on fake time: timers, setImmediate (the memory transport's delivery) and
// performance.now() are driven by the test, so retransmission counts are exact, never timed.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

type Action = 'pass' | 'drop' | 'corrupt' | 'dup';

/**
 * A transport wrapper that sees every frame its link writes (the link writes one frame per call)
 * and drops, corrupts or duplicates the ones `rule` picks. `log` keeps every frame written.
 */
class LossyTransport implements Transport {
  readonly log: Frame[] = [];
  rule: (frame: Frame, index: number) => Action = () => 'pass';
  constructor(private readonly inner: Transport) {}

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 1) return this.inner.write(bytes); // the lone 0x00 at start
    const frame = decodeFrame(bytes.subarray(0, bytes.length - 1));
    const index = this.log.length;
    this.log.push(frame);
    switch (this.rule(frame, index)) {
      case 'pass':
        return this.inner.write(bytes);
      case 'drop':
        return;
      case 'corrupt': {
        const bad = bytes.slice();
        const at = bad.length >> 1;
        bad[at] = (bad[at] as number) ^ 0x10;
        if (bad[at] === 0) bad[at] = 0x42;
        return this.inner.write(bad);
      }
      case 'dup':
        await this.inner.write(bytes);
        return this.inner.write(bytes);
    }
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    return this.inner.onData(listener);
  }

  onClose(listener: (error?: Error) => void): () => void {
    return this.inner.onClose(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Side {
  link: Link;
  wire: LossyTransport;
  received: Uint8Array[];
  ups: number;
  downs: WireError[];
}

function side(transport: Transport, options?: Partial<LinkOptions>): Side {
  const wire = new LossyTransport(transport);
  const link = new Link(wire, options);
  const s: Side = { link, wire, received: [], ups: 0, downs: [] };
  link.on('message', (m) => s.received.push(m));
  link.on('up', () => {
    s.ups++;
  });
  link.on('down', (e) => s.downs.push(e));
  return s;
}

function pair(optionsA?: Partial<LinkOptions>, optionsB?: Partial<LinkOptions>): [Side, Side] {
  const [ta, tb] = createMemoryTransportPair();
  return [side(ta, optionsA), side(tb, optionsB ?? optionsA)];
}

/** Advance fake time in small steps until `cond` holds; fail after `limitMs` of fake time. */
async function until(cond: () => boolean, label: string, limitMs = 120_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs)
      throw new Error(`never happened within ${limitMs} fake ms: ${label}`);
    await vi.advanceTimersByTimeAsync(5);
  }
}

/** Drive fake time until the promise settles; return how it settled. */
async function settle<T>(
  p: Promise<T>,
  label: string,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let result: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  p.then(
    (value) => {
      result = { ok: true, value };
    },
    (error: unknown) => {
      result = { ok: false, error };
    },
  );
  await until(() => result !== undefined, label);
  if (result === undefined) throw new Error('unreachable');
  return result;
}

async function bothUp(a: Side, b: Side): Promise<void> {
  a.link.start();
  b.link.start();
  await until(() => a.link.isUp && b.link.isUp, 'both links up');
}

const bytesOf = (n: number, seed: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const dataFrames = (log: Frame[]): Extract<Frame, { type: 'DATA' }>[] =>
  log.filter((f): f is Extract<Frame, { type: 'DATA' }> => f.type === 'DATA');

describe('link: establishment', () => {
  it('comes up on both sides with one RESET exchange each way', async () => {
    const [a, b] = pair();
    await bothUp(a, b);
    expect([a.ups, b.ups]).toEqual([1, 1]);
    expect(a.wire.log.filter((f) => f.type === 'RESET').length).toBeGreaterThanOrEqual(1);
    expect(a.wire.log.some((f) => f.type === 'RESET_ACK')).toBe(true);
    // Nothing flaps afterwards.
    await vi.advanceTimersByTimeAsync(10_000);
    expect([a.ups, b.ups, a.downs.length, b.downs.length]).toEqual([1, 1, 0, 0]);
  });

  it('converges on a simultaneous start', async () => {
    const [a, b] = pair();
    a.link.start();
    b.link.start(); // same tick: both RESETs cross on the line
    await until(() => a.link.isUp && b.link.isUp, 'both up');
    await vi.advanceTimersByTimeAsync(10_000);
    expect([a.ups, b.ups, a.downs.length, b.downs.length]).toEqual([1, 1, 0, 0]);
    expect(await settle(a.link.send(Uint8Array.of(1, 2, 3)), 'send')).toEqual({
      ok: true,
      value: undefined,
    });
    expect(b.received).toEqual([Uint8Array.of(1, 2, 3)]);
  });

  it('converges whatever the start offset and whichever RESET frames are lost (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3000 }),
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        async (offset, dropA, dropB) => {
          const [a, b] = pair();
          // Drop chosen early RESET/RESET_ACK frames on each side.
          a.wire.rule = (f, i) =>
            f.type.startsWith('RESET') && dropA[i] === true ? 'drop' : 'pass';
          b.wire.rule = (f, i) =>
            f.type.startsWith('RESET') && dropB[i] === true ? 'drop' : 'pass';
          a.link.start();
          await vi.advanceTimersByTimeAsync(offset);
          b.link.start();
          await until(() => a.link.isUp && b.link.isUp, 'both up');
          await vi.advanceTimersByTimeAsync(15_000);
          // One 'up' each and no 'down' at all: a start never looks like a peer restart.
          expect([a.ups, b.ups, a.downs.length, b.downs.length]).toEqual([1, 1, 0, 0]);
          expect(a.link.isUp && b.link.isUp).toBe(true);
          expect((await settle(a.link.send(Uint8Array.of(9)), 'send')).ok).toBe(true);
          await a.link.close();
          await b.link.close();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a late starter brings both up at once, without waiting for the next RESET repeat', async () => {
    const [a, b] = pair({ resetIntervalMs: 1000 });
    a.link.start(); // its first RESET reaches nobody
    await vi.advanceTimersByTimeAsync(500);
    b.link.start();
    await vi.advanceTimersByTimeAsync(10); // fake time: a few macrotasks, far below 1000 ms
    expect([a.link.isUp, b.link.isUp]).toEqual([true, true]);
    expect([a.downs.length, b.downs.length]).toEqual([0, 0]);
  });

  it('ignores DATA, ACK and NACK before it is up, and counts them', async () => {
    const [ta, peer] = createMemoryTransportPair();
    const a = side(ta);
    a.link.start();
    await peer.write(
      encodeFrame({ type: 'DATA', seq: 0, ack: 0, end: true, payload: Uint8Array.of(1) }),
    );
    await peer.write(encodeFrame({ type: 'ACK', ack: 1 }));
    await peer.write(encodeFrame({ type: 'NACK', seq: 0, ack: 0 }));
    await vi.advanceTimersByTimeAsync(0);
    expect(a.link.stats.ignoredWhileDown).toBe(3);
    expect(a.received).toEqual([]);
    await a.link.close();
  });

  it('repeats its RESET every resetIntervalMs while the peer is silent', async () => {
    const [ta] = createMemoryTransportPair();
    const a = side(ta, { resetIntervalMs: 1000 });
    a.link.start();
    await vi.advanceTimersByTimeAsync(4500);
    const resets = a.wire.log.filter((f) => f.type === 'RESET');
    expect(resets).toHaveLength(5); // t = 0, 1000, 2000, 3000, 4000
    // The same nonce throughout one exchange.
    expect(
      new Set(resets.map((f) => (f.type === 'RESET' ? Buffer.from(f.nonce).toString('hex') : '')))
        .size,
    ).toBe(1);
    await a.link.close();
  });
});

describe('link: reliable ordered delivery', () => {
  it('delivers many messages of random sizes in order, both ways at once (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 25 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 10 }),
        fc.integer({ min: 1, max: 8 }),
        async (sizesA, sizesB, window) => {
          const [a, b] = pair({ window, maxPayload: 200 });
          await bothUp(a, b);
          const msgsA = sizesA.map((n, i) => bytesOf(n, i));
          const msgsB = sizesB.map((n, i) => bytesOf(n, 100 + i));
          const all = Promise.all([
            ...msgsA.map((m) => a.link.send(m)),
            ...msgsB.map((m) => b.link.send(m)),
          ]);
          expect((await settle(all, 'all sends')).ok).toBe(true);
          expect(b.received).toEqual(msgsA);
          expect(a.received).toEqual(msgsB);
          expect(a.link.stats.retransmits + b.link.stats.retransmits).toBe(0);
          await a.link.close();
          await b.link.close();
        },
      ),
      { numRuns: 30 },
    );
  });

  it('delivers in order through a line that drops and corrupts frames (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.constantFrom<Action>('pass', 'pass', 'pass', 'drop', 'corrupt', 'dup'), {
          minLength: 64,
          maxLength: 64,
        }),
        async (sizes, actions) => {
          const [a, b] = pair({ window: 4, maxPayload: 128, maxRetries: 30 });
          await bothUp(a, b);
          // Damage the first frames after establishment in both directions, then a clean line.
          const start = [a.wire.log.length, b.wire.log.length];
          a.wire.rule = (_f, i) => actions[i - (start[0] ?? 0)] ?? 'pass';
          b.wire.rule = (_f, i) => actions[63 - (i - (start[1] ?? 0))] ?? 'pass';
          const msgs = sizes.map((n, i) => bytesOf(n, i));
          const r = await settle(Promise.all(msgs.map((m) => a.link.send(m))), 'sends');
          expect(r.ok).toBe(true);
          expect(b.received).toEqual(msgs);
          expect([a.downs.length, b.downs.length]).toEqual([0, 0]);
          await a.link.close();
          await b.link.close();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('retransmits a dropped DATA frame after the timeout', async () => {
    const [a, b] = pair();
    await bothUp(a, b);
    let dropped = false;
    a.wire.rule = (f) => {
      if (f.type === 'DATA' && !dropped) {
        dropped = true;
        return 'drop';
      }
      return 'pass';
    };
    const msg = bytesOf(100, 1);
    expect((await settle(a.link.send(msg), 'send')).ok).toBe(true);
    expect(b.received).toEqual([msg]);
    expect(a.link.stats.timeouts).toBe(1);
    expect(a.link.stats.retransmits).toBe(1);
    expect(dataFrames(a.wire.log).map((f) => f.seq)).toEqual([0, 0]);
  });

  it('retransmits after a dropped ACK; the duplicate reaches the app once', async () => {
    const [a, b] = pair();
    await bothUp(a, b);
    let dropped = false;
    b.wire.rule = (f) => {
      if (f.type === 'ACK' && !dropped) {
        dropped = true;
        return 'drop';
      }
      return 'pass';
    };
    const msg = bytesOf(300, 2);
    expect((await settle(a.link.send(msg), 'send')).ok).toBe(true);
    expect(dropped).toBe(true);
    expect(b.received).toEqual([msg]);
    expect(a.link.stats.retransmits).toBe(1);
    expect(b.link.stats.duplicates).toBe(1);
  });

  it('asks for a gap with one NACK and gets it retransmitted before any timeout', async () => {
    const [a, b] = pair({ maxPayload: 16 });
    await bothUp(a, b);
    let dropped = false;
    a.wire.rule = (f) => {
      if (f.type === 'DATA' && f.seq === 0 && !dropped) {
        dropped = true;
        return 'drop';
      }
      return 'pass';
    };
    const msg = bytesOf(16 * 5, 3); // five fragments; the first is lost
    expect((await settle(a.link.send(msg), 'send')).ok).toBe(true);
    expect(b.received).toEqual([msg]);
    expect(b.link.stats.nacksSent).toBe(1); // one NACK for the gap, not one per frame after it
    expect(a.link.stats.nacksReceived).toBe(1);
    expect(a.link.stats.timeouts).toBe(0);
    expect(a.link.stats.retransmits).toBe(1);
    expect(b.wire.log.find((f) => f.type === 'NACK')).toEqual({ type: 'NACK', seq: 0, ack: 0 });
  });

  it('delivers a DATA frame that arrives twice only once', async () => {
    const [a, b] = pair({ maxPayload: 64 });
    await bothUp(a, b);
    a.wire.rule = (f) => (f.type === 'DATA' ? 'dup' : 'pass');
    const msgs = [bytesOf(200, 4), bytesOf(10, 5)];
    expect((await settle(Promise.all(msgs.map((m) => a.link.send(m))), 'send')).ok).toBe(true);
    await vi.advanceTimersByTimeAsync(5000);
    expect(b.received).toEqual(msgs);
    expect(b.link.stats.duplicates).toBe(5); // every one of the 5 DATA frames came twice
  });

  it('recovers from corrupted frames (counted as bad frames)', async () => {
    const [a, b] = pair({ maxPayload: 64 });
    await bothUp(a, b);
    const msg = bytesOf(640, 6);
    let n = 0;
    a.wire.rule = (f) => (f.type === 'DATA' && n++ < 3 ? 'corrupt' : 'pass');
    expect((await settle(a.link.send(msg), 'send')).ok).toBe(true);
    expect(b.received).toEqual([msg]);
    expect(b.link.stats.badFrames).toBe(3);
  });

  it('never has more than `window` unacknowledged DATA frames on the wire', async () => {
    const window = 4;
    const [a, b] = pair({ window, maxPayload: 16 });
    await bothUp(a, b);
    // Watch the line: the newest seq A sends against the latest ack B has put on the wire.
    let lastAckOnWire = 0;
    let worst = 0;
    let sent = -1;
    b.wire.rule = (f) => {
      if (f.type === 'ACK' || f.type === 'NACK' || f.type === 'DATA') lastAckOnWire = f.ack;
      return 'pass';
    };
    let k = 0;
    a.wire.rule = (f) => {
      if (f.type === 'DATA') {
        const outstanding = ((f.seq - lastAckOnWire) & 0xff) + 1;
        worst = Math.max(worst, outstanding);
        expect(outstanding).toBeLessThanOrEqual(window);
        if (((f.seq - sent) & 0xff) < 128 && f.seq !== sent) sent = f.seq;
        return k++ % 7 === 3 ? 'drop' : 'pass'; // some losses, so the window fills and stalls
      }
      return 'pass';
    };
    const msgs = Array.from({ length: 12 }, (_, i) => bytesOf(16 * 25, i)); // 300 frames: seq wraps
    expect((await settle(Promise.all(msgs.map((m) => a.link.send(m))), 'sends')).ok).toBe(true);
    expect(b.received).toEqual(msgs);
    expect(worst).toBe(window);
    expect(a.link.stats.dataSent).toBe(300);
  });

  it('coalesces ACKs: one ACK for a burst that arrives together', async () => {
    const [a, b] = pair({ window: 8, maxPayload: 32 });
    await bothUp(a, b);
    const before = b.link.stats.acksSent;
    expect((await settle(a.link.send(bytesOf(32 * 8, 7)), 'send')).ok).toBe(true);
    expect(b.link.stats.acksSent - before).toBe(1);
  });

  it('piggybacks the ack on DATA going the other way', async () => {
    const [a, b] = pair();
    await bothUp(a, b);
    b.link.on('message', () => {
      void b.link.send(Uint8Array.of(0xee)); // reply at once, before the coalesced ACK would go
    });
    expect((await settle(a.link.send(Uint8Array.of(1)), 'send')).ok).toBe(true);
    const reply = dataFrames(b.wire.log)[0];
    expect(reply?.ack).toBe(1);
    await until(() => a.received.length === 1, 'reply');
  });
});

describe('link: failure and recovery', () => {
  it('gives up after maxRetries timeouts: down with LINK_DOWN, pending and queued sends rejected', async () => {
    const [a, b] = pair({ maxRetries: 10, rtoMs: 500, rtoMaxMs: 4000, window: 2, maxPayload: 16 });
    await bothUp(a, b);
    a.wire.rule = (f) => (f.type === 'DATA' ? 'drop' : 'pass');
    const inFlight = a.link.send(bytesOf(16, 1));
    const queued = a.link.send(bytesOf(64, 2)); // partly beyond the window: queued
    const t0 = Date.now();
    const [r1, r2] = await Promise.all([settle(inFlight, 'in flight'), settle(queued, 'queued')]);
    for (const r of [r1, r2]) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(isWireError(r.error, 'LINK_DOWN')).toBe(true);
    }
    expect(a.downs).toHaveLength(1);
    expect(a.downs[0]?.code).toBe('LINK_DOWN');
    expect(a.downs[0]?.message).toMatch(
      /^link: expected an acknowledgement of seq 0, got none after 10 timeouts$/,
    );
    expect(a.link.stats.timeouts).toBe(10);
    expect(a.link.stats.retransmits).toBe(9);
    // 500 + 1000 + 2000 + 4000 * 7 ms of fake time: the backoff doubles and caps.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(31_500);
    // Right after giving up, A announces a new epoch; the line still carries RESETs, so B sees a
    // peer restart and both come back up.
    const lastData = a.wire.log.findLastIndex((f) => f.type === 'DATA');
    expect(a.wire.log[lastData + 1]?.type).toBe('RESET');
    expect(a.link.stats.resets).toBe(2);
    await until(() => a.link.isUp && b.link.isUp, 'up again');
    expect(b.downs.map((e) => e.code)).toEqual(['LINK_DOWN']);
    expect([a.ups, b.ups]).toEqual([2, 2]);
  });

  it('comes back when the peer comes back', async () => {
    const [ta, tb] = createMemoryTransportPair();
    const a = side(ta, { maxRetries: 3 });
    const b1 = side(tb);
    await bothUp(a, b1);
    await b1.link.close(); // the peer process dies; the line stays
    const lost = await settle(a.link.send(bytesOf(50, 1)), 'send to a dead peer');
    expect(lost.ok).toBe(false);
    expect(a.downs.map((e) => e.code)).toEqual(['LINK_DOWN']);
    await vi.advanceTimersByTimeAsync(5000); // A keeps sending RESET
    const b2 = side(tb);
    b2.link.start();
    await until(() => a.link.isUp && b2.link.isUp, 'up again');
    expect(a.ups).toBe(2);
    expect((await settle(a.link.send(bytesOf(50, 2)), 'send')).ok).toBe(true);
    expect(b2.received).toEqual([bytesOf(50, 2)]);
  });

  it('treats a RESET while up as a peer restart: down, then up with fresh state', async () => {
    const [ta, tb] = createMemoryTransportPair();
    const a = side(ta, { maxPayload: 16 });
    const b1 = side(tb);
    await bothUp(a, b1);
    // Traffic so that sequence numbers are no longer 0.
    expect((await settle(a.link.send(bytesOf(100, 1)), 'send')).ok).toBe(true);
    b1.wire.rule = () => 'drop'; // the old peer goes silent, a pending send hangs
    const pending = a.link.send(bytesOf(40, 2));
    await vi.advanceTimersByTimeAsync(10);
    await b1.link.close();
    const b2 = side(tb, { maxPayload: 16 }); // restarted peer on the same line
    b2.link.start();
    const r = await settle(pending, 'pending send');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(isWireError(r.error, 'LINK_DOWN')).toBe(true);
      expect((r.error as Error).message).toMatch(/peer reset/);
    }
    await until(() => a.link.isUp && b2.link.isUp, 'up again');
    expect(a.downs.map((e) => e.code)).toEqual(['LINK_DOWN']);
    expect(a.ups).toBe(2);
    expect((await settle(a.link.send(bytesOf(40, 3)), 'send')).ok).toBe(true);
    expect(b2.received).toEqual([bytesOf(40, 3)]);
    expect(dataFrames(a.wire.log).at(-1)?.seq).toBe(2); // fresh epoch: seq restarted at 0
  });

  it('drops an oversize message and re-establishes the link on both sides', async () => {
    const [a, b] = pair(
      { maxMessageSize: 4096, maxPayload: 256 },
      { maxMessageSize: 1000, maxPayload: 256 },
    );
    await bothUp(a, b);
    const r = await settle(a.link.send(bytesOf(2000, 1)), 'oversize send');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(isWireError(r.error, 'LINK_DOWN')).toBe(true);
    expect(b.link.stats.oversizeMessages).toBe(1);
    expect(b.downs).toHaveLength(1);
    expect(b.downs[0]?.code).toBe('LINK_DOWN');
    expect(isWireError(b.downs[0]?.cause, 'MESSAGE_TOO_LARGE')).toBe(true);
    expect(b.received).toEqual([]);
    await until(() => a.link.isUp && b.link.isUp, 'up again');
    expect((await settle(a.link.send(bytesOf(900, 2)), 'send')).ok).toBe(true);
    expect(b.received).toEqual([bytesOf(900, 2)]);
  });

  it('close() rejects pending sends with LINK_CLOSED, emits down once and never comes up again', async () => {
    const [a, b] = pair();
    await bothUp(a, b);
    a.wire.rule = (f) => (f.type === 'DATA' ? 'drop' : 'pass');
    const pending = a.link.send(bytesOf(2000, 1));
    await vi.advanceTimersByTimeAsync(100);
    await a.link.close();
    const r = await settle(pending, 'pending');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(isWireError(r.error, 'LINK_CLOSED')).toBe(true);
    expect(a.downs.map((e) => e.code)).toEqual(['LINK_CLOSED']);
    const written = a.wire.log.length;
    await vi.advanceTimersByTimeAsync(20_000); // no timer of A is left running
    expect(a.wire.log.length).toBe(written);
    expect(a.ups).toBe(1);
    const after = await settle(a.link.send(Uint8Array.of(1)), 'send after close');
    expect(!after.ok && isWireError(after.error, 'LINK_CLOSED')).toBe(true);
    a.link.start(); // no effect after close
    await vi.advanceTimersByTimeAsync(5000);
    expect(a.ups).toBe(1);
  });

  it('goes down with LINK_CLOSED when the transport closes', async () => {
    const [ta, tb] = createMemoryTransportPair();
    const a = side(ta);
    const b = side(tb);
    await bothUp(a, b);
    await tb.close();
    await until(() => a.downs.length === 1, 'down');
    expect(a.downs[0]?.code).toBe('LINK_CLOSED');
    expect(b.downs[0]?.code).toBe('LINK_CLOSED');
    const r = await settle(a.link.send(Uint8Array.of(1)), 'send');
    expect(!r.ok && isWireError(r.error, 'LINK_CLOSED')).toBe(true);
  });
});

describe('link: hostile or odd input', () => {
  /** A hand-driven peer: the test reads A's frames and writes frames of its own choosing. */
  async function manualPeer(options?: Partial<LinkOptions>) {
    const [ta, peer] = createMemoryTransportPair();
    const a = side(ta, options);
    const deframer = new Deframer();
    const seen: Frame[] = [];
    peer.onData((chunk) => seen.push(...deframer.push(chunk, 0)));
    // Let the frame cross, and whatever A writes in answer cross back (one macrotask each way).
    const send = async (f: Frame) => {
      await peer.write(encodeFrame(f));
      await vi.advanceTimersByTimeAsync(1);
      await vi.advanceTimersByTimeAsync(1);
    };
    a.link.start();
    await vi.advanceTimersByTimeAsync(0);
    const reset = seen.find((f) => f.type === 'RESET');
    if (reset?.type !== 'RESET') throw new Error('test setup: no RESET from the link');
    const peerNonce = Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9);
    await send({ type: 'RESET', nonce: peerNonce });
    await send({ type: 'RESET_ACK', nonce: reset.nonce });
    expect(a.link.isUp).toBe(true);
    return { a, peer, seen, send, peerNonce };
  }

  it('ignores acknowledgements outside the outstanding window', async () => {
    const { a, send } = await manualPeer();
    const sent = a.link.send(bytesOf(10, 1));
    let done = false;
    sent.then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    await send({ type: 'ACK', ack: 7 }); // only seq 0 is outstanding: valid acks are 1 only
    await send({ type: 'ACK', ack: 200 });
    expect(done).toBe(false);
    expect(a.link.stats.staleAcks).toBe(2);
    await send({ type: 'ACK', ack: 1 });
    expect(done).toBe(true);
    await send({ type: 'ACK', ack: 1 }); // a repeat: no effect, not stale
    expect(a.link.stats.staleAcks).toBe(2);
  });

  it('reassembles out-of-order fragments, buffering each once', async () => {
    const { a, send, seen } = await manualPeer();
    const frag = (seq: number, text: string, end: boolean): Frame => ({
      type: 'DATA',
      seq,
      ack: 0,
      end,
      payload: new TextEncoder().encode(text),
    });
    await send(frag(2, 'C', true));
    await send(frag(1, 'B', false));
    await send(frag(2, 'C', true)); // buffered already
    expect(a.received).toEqual([]);
    expect(seen.filter((f) => f.type === 'NACK')).toEqual([{ type: 'NACK', seq: 0, ack: 0 }]);
    await send(frag(0, 'A', false));
    expect(a.received.map((m) => new TextDecoder().decode(m))).toEqual(['ABC']);
    expect(a.link.stats.duplicates).toBe(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen.at(-1)).toEqual({ type: 'ACK', ack: 3 });
  });

  it('drops DATA far outside the window without buffering it', async () => {
    const { a, send } = await manualPeer();
    await send({ type: 'DATA', seq: 127, ack: 0, end: true, payload: Uint8Array.of(1) });
    await send({ type: 'DATA', seq: 128, ack: 0, end: true, payload: Uint8Array.of(1) });
    expect(a.link.stats.outOfWindow).toBe(2);
    await send({ type: 'DATA', seq: 200, ack: 0, end: true, payload: Uint8Array.of(1) }); // "behind"
    expect(a.link.stats.duplicates).toBe(1);
    expect(a.received).toEqual([]);
  });

  it('re-acknowledges a repeated RESET of the current epoch without going down', async () => {
    const { a, send, seen, peerNonce } = await manualPeer();
    await send({ type: 'RESET', nonce: peerNonce });
    expect(a.downs).toEqual([]);
    expect(seen.filter((f) => f.type === 'RESET_ACK')).toHaveLength(2);
  });

  it('survives garbage on the line and a listener that throws', async () => {
    const { a, peer, send } = await manualPeer();
    a.link.on('message', () => {
      throw new Error('listener bug');
    });
    await peer.write(Uint8Array.from([1, 2, 3, 0, 0xff, 0xfe, 0]));
    await vi.advanceTimersByTimeAsync(0);
    await send({ type: 'DATA', seq: 0, ack: 0, end: true, payload: Uint8Array.of(5) });
    expect(a.received).toEqual([Uint8Array.of(5)]);
    expect(a.link.stats.listenerErrors).toBe(1);
    expect(a.link.stats.badFrames).toBe(2);
    expect(a.link.isUp).toBe(true);
  });
});

describe('link: API', () => {
  it('exports frozen defaults matching the spec', () => {
    expect(Object.isFrozen(DEFAULT_LINK_OPTIONS)).toBe(true);
    const { now, ...rest } = DEFAULT_LINK_OPTIONS;
    expect(rest).toEqual({
      maxPayload: 512,
      window: 8,
      rtoMs: 500,
      rtoMinMs: 50,
      rtoMaxMs: 4000,
      maxRetries: 10,
      maxMessageSize: 8192,
      staleMs: 1000,
      resetIntervalMs: 1000,
    });
    expect(typeof now()).toBe('number');
  });

  it('rejects bad options with messages that name the option', () => {
    const [t] = createMemoryTransportPair();
    const bad: ReadonlyArray<readonly [Partial<LinkOptions>, RegExp]> = [
      [{ window: 128 }, /^link\/options: expected window 1\.\.127, got 128$/],
      [{ window: 0 }, /expected window 1\.\.127, got 0/],
      [{ maxPayload: 1025 }, /expected maxPayload 1\.\.1024, got 1025/],
      [{ rtoMs: 500, rtoMaxMs: 100 }, /expected rtoMaxMs 500\.\./],
      [{ maxRetries: 0 }, /expected maxRetries 1\.\./],
      [{ maxMessageSize: 1.5 }, /expected maxMessageSize 1\.\./],
      [{ now: 5 as unknown as () => number }, /expected now to be a function, got number/],
    ];
    for (const [options, message] of bad) {
      expect(() => new Link(t, options)).toThrowError(message);
    }
    expect(() => new Link({} as Transport)).toThrowError(
      /^link\/constructor: expected a Transport$/,
    );
  });

  it('validates send() input and state', async () => {
    const [a, b] = pair({ maxMessageSize: 100 });
    const early = await settle(a.link.send(Uint8Array.of(1)), 'before start');
    expect(!early.ok && isWireError(early.error, 'LINK_DOWN')).toBe(true);
    await bothUp(a, b);
    const cases: ReadonlyArray<readonly [unknown, string, RegExp]> = [
      [
        new Uint8Array(0),
        'MESSAGE_TOO_LARGE',
        /^link\/send: expected a message of 1\.\.100 bytes, got 0$/,
      ],
      [new Uint8Array(101), 'MESSAGE_TOO_LARGE', /got 101$/],
      ['text', 'BAD_PARAMS', /^link\/send: expected a Uint8Array message$/],
    ];
    for (const [input, code, message] of cases) {
      const r = await settle(a.link.send(input as Uint8Array), 'send');
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(isWireError(r.error) && r.error.code).toBe(code);
        expect((r.error as Error).message).toMatch(message);
      }
    }
  });

  it('copies the message at send(): later changes by the caller do not leak', async () => {
    const [a, b] = pair();
    await bothUp(a, b);
    const m = Uint8Array.of(1, 2, 3);
    const p = a.link.send(m);
    m[0] = 99;
    expect((await settle(p, 'send')).ok).toBe(true);
    expect(b.received).toEqual([Uint8Array.of(1, 2, 3)]);
  });
});

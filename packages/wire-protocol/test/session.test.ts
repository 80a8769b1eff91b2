import { EventEmitter } from 'node:events';
import { bytesToHex } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChannelEvents, MessageChannel } from '../src/channel.js';
import { type ErrorName, isWireError, WireError } from '../src/errors.js';
import { generateStaticKeyPair, publicKeyOf } from '../src/keys.js';
import { SECRET_BUFFERS } from '../src/noise.js';
import {
  DATA_RECORD_OVERHEAD,
  RECORD_TYPE,
  SESSION_DEFAULTS,
  SESSION_MAX_MESSAGE_BYTES,
  SecureSession,
  type SecureSessionOptions,
} from '../src/session.js';
import {
  bodyLengthProblem,
  decodeRecord,
  encodeRecord,
  RECORD_BODY_BYTES,
} from '../src/session-record.js';

/**
 * A fake lower channel: one end of an in-memory pair. What one end sends, the other receives on
 * a later microtask. `tap` sees every outgoing record and returns what to deliver instead
 * (nothing = drop, twice = replay, altered = tamper). `held` sends never settle until released.
 */
class FakeLower extends EventEmitter<ChannelEvents> implements MessageChannel {
  readonly maxMessageSize = 1 + SESSION_MAX_MESSAGE_BYTES + 16;
  isUp = false;
  peer: FakeLower | undefined;
  readonly sent: Uint8Array[] = [];
  tap: ((record: Uint8Array) => Uint8Array[]) | undefined;
  holdSends = false;
  readonly held: (() => void)[] = [];

  send(message: Uint8Array): Promise<void> {
    if (!this.isUp) return Promise.reject(new WireError('LINK_DOWN', 'fake/send: link is down'));
    const copy = message.slice();
    this.sent.push(copy);
    this.deliver(this.tap === undefined ? [copy] : this.tap(copy));
    if (!this.holdSends) return Promise.resolve();
    return new Promise((resolve) => this.held.push(resolve));
  }

  /** Delivers records to the peer as if they came off the line. */
  deliver(records: Uint8Array[]): void {
    const peer = this.peer;
    queueMicrotask(() => {
      for (const r of records) if (peer?.isUp) peer.emit('message', r);
    });
  }

  up(): void {
    this.isUp = true;
    this.emit('up');
  }

  down(): void {
    this.isUp = false;
    this.emit('down', new WireError('LINK_DOWN', 'fake: link lost'));
  }

  async close(): Promise<void> {
    this.isUp = false;
  }
}

/** Lets every queued microtask chain run (deliveries, handlers, answers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

const INITIATOR = generateStaticKeyPair();
const RESPONDER = generateStaticKeyPair();

interface End {
  session: SecureSession;
  lower: FakeLower;
  received: Uint8Array[];
  downs: WireError[];
  ups: number;
}

function watch(session: SecureSession, lower: FakeLower): End {
  const end: End = { session, lower, received: [], downs: [], ups: 0 };
  session.on('message', (m) => end.received.push(m));
  session.on('down', (e) => end.downs.push(e));
  session.on('up', () => {
    end.ups += 1;
  });
  return end;
}

function makePair(
  over: {
    initiator?: Partial<SecureSessionOptions>;
    responder?: Partial<SecureSessionOptions>;
  } = {},
): { ini: End; res: End } {
  const a = new FakeLower();
  const b = new FakeLower();
  a.peer = b;
  b.peer = a;
  const ini = new SecureSession(a, {
    role: 'initiator',
    staticPrivateKey: INITIATOR.privateKey,
    remoteStaticPublicKey: RESPONDER.publicKey,
    ...over.initiator,
  });
  const res = new SecureSession(b, {
    role: 'responder',
    staticPrivateKey: RESPONDER.privateKey,
    remoteStaticPublicKey: INITIATOR.publicKey,
    ...over.responder,
  });
  return { ini: watch(ini, a), res: watch(res, b) };
}

/** Brings both lower channels up (responder first, as a device boots before it is called). */
async function connect(ini: End, res: End): Promise<void> {
  res.lower.up();
  ini.lower.up();
  await settle();
}

function codes(errors: WireError[]): ErrorName[] {
  return errors.map((e) => e.code);
}

function dataRecords(lower: FakeLower): Uint8Array[] {
  return lower.sent.filter((r) => r[0] === RECORD_TYPE.DATA);
}

/** REHANDSHAKE records this end sent, checking each is the one-byte record. */
function hints(lower: FakeLower): number {
  const found = lower.sent.filter((r) => r[0] === RECORD_TYPE.REHANDSHAKE);
  for (const r of found) expect(bytesToHex(r)).toBe('04');
  return found.length;
}

function inits(lower: FakeLower): number {
  return lower.sent.filter((r) => r[0] === RECORD_TYPE.HANDSHAKE_INIT).length;
}

/** A DATA record of plausible size that no session key produced. */
function strayData(seed: number): Uint8Array {
  return Uint8Array.of(RECORD_TYPE.DATA, ...new Uint8Array(24).fill(seed & 0xff));
}

async function rejection(p: Promise<unknown>): Promise<WireError> {
  try {
    await p;
  } catch (e) {
    if (isWireError(e)) return e;
    throw e;
  }
  throw new Error('expected the promise to reject');
}

function copies(buffers: Uint8Array[]): string[] {
  return buffers.map((b) => bytesToHex(b));
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SecureSession handshake', () => {
  it('comes up on both ends with one INIT and one RESP of 49 bytes each', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    expect(ini.session.isUp && res.session.isUp).toBe(true);
    expect([ini.ups, res.ups]).toEqual([1, 1]);
    expect(ini.lower.sent.map((r) => [r[0], r.length])).toEqual([[RECORD_TYPE.HANDSHAKE_INIT, 49]]);
    expect(res.lower.sent.map((r) => [r[0], r.length])).toEqual([[RECORD_TYPE.HANDSHAKE_RESP, 49]]);
    expect(ini.session.stats.handshakes).toBe(1);
    expect(res.session.stats.handshakes).toBe(1);
    expect(ini.session.maxMessageSize).toBe(SESSION_MAX_MESSAGE_BYTES);
  });

  it('starts at construction when the lower channel is already up', async () => {
    const a = new FakeLower();
    const b = new FakeLower();
    a.peer = b;
    b.peer = a;
    a.isUp = true;
    b.isUp = true;
    const res = watch(
      new SecureSession(b, {
        role: 'responder',
        staticPrivateKey: RESPONDER.privateKey,
        remoteStaticPublicKey: INITIATOR.publicKey,
      }),
      b,
    );
    const ini = watch(
      new SecureSession(a, {
        role: 'initiator',
        staticPrivateKey: INITIATOR.privateKey,
        remoteStaticPublicKey: RESPONDER.publicKey,
      }),
      a,
    );
    await settle();
    expect(ini.session.isUp && res.session.isUp).toBe(true);
  });

  it('a responder pinning another initiator key refuses the INIT: HANDSHAKE_FAILED, no up', async () => {
    const stranger = generateStaticKeyPair();
    const { ini, res } = makePair({ responder: { remoteStaticPublicKey: stranger.publicKey } });
    await connect(ini, res);
    expect(ini.ups + res.ups).toBe(0);
    expect(codes(res.downs)).toEqual(['HANDSHAKE_FAILED']);
    expect(res.session.stats.handshakeFailures).toBe(1);
    expect(res.lower.sent).toEqual([]);
  });

  it('an initiator pinning another responder key is refused too (message 1 is sealed to the pinned key)', async () => {
    const stranger = generateStaticKeyPair();
    const { ini, res } = makePair({ initiator: { remoteStaticPublicKey: stranger.publicKey } });
    await connect(ini, res);
    expect(ini.ups + res.ups).toBe(0);
    expect(codes(res.downs)).toEqual(['HANDSHAKE_FAILED']);
    expect(ini.session.isUp).toBe(false);
  });

  it('an initiator refuses a RESP not made by its pinned responder: HANDSHAKE_FAILED, then retries', async () => {
    const { ini, res } = makePair();
    // The real responder never answers; an impostor answers with its own ephemeral and a tag it
    // cannot compute without the pinned responder's private key.
    ini.lower.tap = () => [];
    await connect(ini, res);
    const forged = new Uint8Array(49);
    forged[0] = RECORD_TYPE.HANDSHAKE_RESP;
    forged.set(publicKeyOf(generateStaticKeyPair().privateKey), 1);
    res.lower.deliver([forged]);
    await settle();
    expect(ini.ups).toBe(0);
    expect(codes(ini.downs)).toEqual(['HANDSHAKE_FAILED']);
    expect(ini.session.stats.handshakeFailures).toBe(1);
    expect(ini.lower.sent.length).toBe(1);
    await vi.advanceTimersByTimeAsync(SESSION_DEFAULTS.retryBackoffMs);
    expect(ini.lower.sent.length, 'a new INIT after the backoff').toBe(2);
  });

  it('a mis-pinned peer is retried with doubling backoff up to the cap, not hammered', async () => {
    const stranger = generateStaticKeyPair();
    const { ini, res } = makePair({
      responder: { remoteStaticPublicKey: stranger.publicKey },
      initiator: { handshakeTimeoutMs: 1000, retryBackoffMs: 500, maxRetryBackoffMs: 2000 },
    });
    await connect(ini, res);
    const times: number[] = [];
    const start = Date.now();
    ini.lower.tap = (r) => {
      times.push(Date.now() - start);
      return [r];
    };
    await vi.advanceTimersByTimeAsync(20_000);
    // Each attempt: 1000 ms timeout, then the backoff 500, 1000, 2000, 2000, ...
    expect(times.slice(0, 5)).toEqual([1500, 3500, 6500, 9500, 12500]);
    expect(ini.session.stats.handshakeTimeouts).toBeGreaterThanOrEqual(5);
    expect(res.session.stats.handshakeFailures).toBe(times.length + 1);
    expect(ini.ups + res.ups).toBe(0);
  });

  it('handshake records of the wrong length are refused', async () => {
    const { ini, res } = makePair();
    ini.lower.tap = (r) => [r.subarray(0, 48)];
    await connect(ini, res);
    expect(codes(res.downs)).toEqual(['HANDSHAKE_FAILED']);
    expect(res.downs[0]?.message).toMatch(
      /expected a HANDSHAKE_INIT of 48 bytes after the type, got 47/,
    );
  });

  it('a responder rekeys on a new INIT: old session down, new one up, different keys', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    const before = copies(res.session[SECRET_BUFFERS]());
    // The initiator's lower link resets (e.g. the coordinator restarted its side).
    ini.lower.up();
    await settle();
    expect(codes(res.downs)).toEqual(['SESSION_CLOSED']);
    expect([ini.ups, res.ups]).toEqual([2, 2]);
    const after = copies(res.session[SECRET_BUFFERS]());
    expect(after.slice(1)).not.toEqual(before.slice(1));
    await ini.session.send(Uint8Array.of(1));
    await settle();
    expect(res.received.map((m) => bytesToHex(m))).toEqual(['01']);
  });
});

describe('SecureSession records', () => {
  it('round-trips many records both ways, in order, and counts them', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 300 })), { maxLength: 40 }),
        async (batch) => {
          ini.received.length = 0;
          res.received.length = 0;
          const sends = batch.map(([fromIni, m]) => (fromIni ? ini : res).session.send(m));
          await settle();
          await Promise.all(sends);
          const toRes = batch.filter(([f]) => f).map(([, m]) => bytesToHex(m));
          const toIni = batch.filter(([f]) => !f).map(([, m]) => bytesToHex(m));
          expect(res.received.map((m) => bytesToHex(m))).toEqual(toRes);
          expect(ini.received.map((m) => bytesToHex(m))).toEqual(toIni);
        },
      ),
      { numRuns: 50 },
    );
    expect(ini.session.isUp && res.session.isUp).toBe(true);
    expect(ini.session.stats.recordsOut).toBe(res.session.stats.recordsIn);
    expect(res.session.stats.recordsOut).toBe(ini.session.stats.recordsIn);
  });

  it('sends a full 4096-byte message and rejects 4097 with MESSAGE_TOO_LARGE', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    await ini.session.send(new Uint8Array(SESSION_MAX_MESSAGE_BYTES).fill(7));
    await settle();
    expect(res.received[0]?.length).toBe(SESSION_MAX_MESSAGE_BYTES);
    expect(dataRecords(ini.lower)[0]?.length).toBe(
      SESSION_MAX_MESSAGE_BYTES + DATA_RECORD_OVERHEAD,
    );
    const e = await rejection(ini.session.send(new Uint8Array(SESSION_MAX_MESSAGE_BYTES + 1)));
    expect(e.code).toBe('MESSAGE_TOO_LARGE');
    expect(ini.session.isUp).toBe(true);
  });

  it('send before the session is up rejects with SESSION_CLOSED', async () => {
    const { ini } = makePair();
    expect((await rejection(ini.session.send(Uint8Array.of(1)))).code).toBe('SESSION_CLOSED');
    expect((await rejection(ini.session.send('x' as unknown as Uint8Array))).code).toBe(
      'BAD_PARAMS',
    );
  });

  it('a replayed record breaks the session and its plaintext is delivered only once', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    ini.lower.tap = (r) => (r[0] === RECORD_TYPE.DATA ? [r, r] : [r]);
    await ini.session.send(Uint8Array.of(0xaa));
    await settle();
    expect(res.received.map((m) => bytesToHex(m))).toEqual(['aa']);
    expect(codes(res.downs)).toEqual(['SESSION_BROKEN']);
    expect(res.session.isUp).toBe(false);
    expect(res.session.stats.broken).toBe(1);
  });

  it('a replay of an old record into a later position is refused', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    await ini.session.send(Uint8Array.of(1));
    await ini.session.send(Uint8Array.of(2));
    await settle();
    const first = dataRecords(ini.lower)[0];
    if (first === undefined) throw new Error('no record');
    ini.lower.deliver([first]);
    await settle();
    expect(res.received.map((m) => bytesToHex(m))).toEqual(['01', '02']);
    expect(codes(res.downs)).toEqual(['SESSION_BROKEN']);
  });

  it('reordered records are refused and neither is delivered', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    const held: Uint8Array[] = [];
    ini.lower.tap = (r) => {
      held.push(r);
      return [];
    };
    await ini.session.send(Uint8Array.of(1));
    await ini.session.send(Uint8Array.of(2));
    const [one, two] = held;
    if (one === undefined || two === undefined) throw new Error('records not captured');
    ini.lower.deliver([two, one]);
    await settle();
    expect(res.received).toEqual([]);
    expect(codes(res.downs)).toEqual(['SESSION_BROKEN']);
    expect(res.session.stats.droppedWithoutSession).toBe(1);
  });

  it('a dropped record makes the next one fail (no silent gaps)', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    let n = 0;
    ini.lower.tap = (r) => (r[0] === RECORD_TYPE.DATA && n++ === 0 ? [] : [r]);
    await ini.session.send(Uint8Array.of(1));
    await ini.session.send(Uint8Array.of(2));
    await settle();
    expect(res.received).toEqual([]);
    expect(codes(res.downs)).toEqual(['SESSION_BROKEN']);
  });

  for (const direction of ['initiator to responder', 'responder to initiator'] as const) {
    it(`a DATA record (${direction}) with any one byte altered is refused`, async () => {
      const plaintext = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
      const size = 1 + plaintext.length + 16;
      for (let at = 0; at < size; at++) {
        const { ini, res } = makePair();
        await connect(ini, res);
        const [from, to] = direction === 'initiator to responder' ? [ini, res] : [res, ini];
        from.lower.tap = (r) => {
          const bad = r.slice();
          bad[at] = (bad[at] ?? 0) ^ 0xff;
          return [bad];
        };
        await from.session.send(plaintext);
        await settle();
        expect(to.received, `byte ${at}`).toEqual([]);
        expect(codes(to.downs), `byte ${at}`).toEqual(['SESSION_BROKEN']);
        expect(to.session.isUp).toBe(false);
      }
    });
  }

  it('a truncated DATA record (every shorter length, including empty) is refused', async () => {
    const plaintext = Uint8Array.of(9, 8, 7, 6);
    const size = 1 + plaintext.length + 16;
    for (let keep = 0; keep < size; keep++) {
      const { ini, res } = makePair();
      await connect(ini, res);
      ini.lower.tap = (r) => [r.subarray(0, keep)];
      await ini.session.send(plaintext);
      await settle();
      expect(res.received, `kept ${keep} bytes`).toEqual([]);
      expect(codes(res.downs), `kept ${keep} bytes`).toEqual(['SESSION_BROKEN']);
    }
  });

  it('an oversized DATA record is refused before decryption', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    const big = new Uint8Array(1 + SESSION_MAX_MESSAGE_BYTES + 17);
    big[0] = RECORD_TYPE.DATA;
    ini.lower.deliver([big]);
    await settle();
    expect(codes(res.downs)).toEqual(['SESSION_BROKEN']);
    expect(res.downs[0]?.message).toMatch(
      /expected a DATA of 16 to 4112 bytes after the type, got 4113/,
    );
  });

  it('DATA while no session is up is dropped and counted', async () => {
    const { ini, res } = makePair();
    ini.lower.tap = (r) => (r[0] === RECORD_TYPE.HANDSHAKE_INIT ? [] : [r]);
    await connect(ini, res);
    ini.lower.deliver([Uint8Array.of(RECORD_TYPE.DATA, ...new Uint8Array(20))]);
    await settle();
    expect(res.session.stats.droppedWithoutSession).toBe(1);
    expect(res.downs).toEqual([]);
  });
});

describe('SecureSession recovery', () => {
  it('after a break the initiator re-handshakes after the backoff and traffic resumes with new keys', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    const oldKeys = copies(ini.session[SECRET_BUFFERS]()).slice(1);
    res.lower.tap = (r) => {
      const bad = r.slice();
      bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
      return [bad];
    };
    await res.session.send(Uint8Array.of(1));
    await settle();
    expect(codes(ini.downs)).toEqual(['SESSION_BROKEN']);
    expect(ini.session.stats.broken).toBe(1);
    res.lower.tap = undefined;
    const initsBefore = ini.lower.sent.filter((r) => r[0] === RECORD_TYPE.HANDSHAKE_INIT).length;
    await vi.advanceTimersByTimeAsync(SESSION_DEFAULTS.retryBackoffMs - 1);
    expect(ini.session.isUp).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(ini.lower.sent.filter((r) => r[0] === RECORD_TYPE.HANDSHAKE_INIT).length).toBe(
      initsBefore + 1,
    );
    expect(ini.session.isUp && res.session.isUp).toBe(true);
    expect(codes(res.downs)).toEqual(['SESSION_CLOSED']);
    const newKeys = copies(ini.session[SECRET_BUFFERS]()).slice(1);
    expect(newKeys.length).toBe(2);
    for (const k of newKeys) expect(oldKeys).not.toContain(k);
    await res.session.send(Uint8Array.of(2));
    await ini.session.send(Uint8Array.of(3));
    await settle();
    expect(ini.received.map((m) => bytesToHex(m))).toEqual(['02']);
    expect(res.received.map((m) => bytesToHex(m))).toEqual(['03']);
  });

  it('a responder that breaks sends one REHANDSHAKE, then only answers INITs', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    // Every initiator record is truncated from now on, so no INIT can succeed either.
    ini.lower.tap = (r) => [r.subarray(0, r.length - 1)];
    await ini.session.send(Uint8Array.of(1));
    await settle();
    expect(codes(res.downs)).toEqual(['SESSION_BROKEN']);
    expect(hints(res.lower)).toBe(1);
    const sentBefore = res.lower.sent.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(res.lower.sent.length).toBe(sentBefore);
    expect(res.session.stats.handshakeFailures).toBeGreaterThan(0);
  });

  it('lower down rejects pending sends and emits down; lower up gives a new handshake with a new ephemeral', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    ini.lower.holdSends = true;
    const pending = ini.session.send(Uint8Array.of(1));
    ini.lower.down();
    res.lower.down();
    expect((await rejection(pending)).code).toBe('SESSION_CLOSED');
    expect(codes(ini.downs)).toEqual(['SESSION_CLOSED']);
    expect(codes(res.downs)).toEqual(['SESSION_CLOSED']);
    expect(ini.session.isUp || res.session.isUp).toBe(false);
    ini.lower.holdSends = false;
    await connect(ini, res);
    const inits = ini.lower.sent.filter((r) => r[0] === RECORD_TYPE.HANDSHAKE_INIT);
    expect(inits.length).toBe(2);
    const [first, second] = inits.map((r) => bytesToHex(r.subarray(1, 33)));
    expect(second).not.toBe(first);
    expect([ini.ups, res.ups]).toEqual([2, 2]);
  });

  it('a session break rejects sends still pending on the lower channel', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    ini.lower.holdSends = true;
    const pending = ini.session.send(Uint8Array.of(1));
    res.lower.tap = (r) => [r.subarray(0, 5)];
    await res.session.send(Uint8Array.of(2));
    await settle();
    expect((await rejection(pending)).code).toBe('SESSION_BROKEN');
  });

  it('an initiator that receives an INIT reports HANDSHAKE_FAILED (two initiators)', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    res.lower.deliver([new Uint8Array(49).fill(RECORD_TYPE.HANDSHAKE_INIT)]);
    await settle();
    expect(codes(ini.downs)).toEqual(['HANDSHAKE_FAILED']);
    expect(ini.downs[0]?.message).toMatch(/also an initiator/);
  });
});

describe('SecureSession REHANDSHAKE hint', () => {
  /** Alters the first DATA record going through `lower` (one flipped tag bit), passes the rest. */
  function tamperFirstData(lower: FakeLower): void {
    let done = false;
    lower.tap = (r) => {
      if (done || r[0] !== RECORD_TYPE.DATA) return [r];
      done = true;
      const bad = r.slice();
      bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
      return [bad];
    };
  }

  it('a responder that breaks on a tampered record tells the initiator, which re-handshakes; no link reset', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    let lowerUps = 0;
    ini.lower.on('up', () => lowerUps++);
    res.lower.on('up', () => lowerUps++);
    tamperFirstData(ini.lower);
    await ini.session.send(Uint8Array.of(1));
    await settle();
    expect(codes(res.downs)).toEqual(['SESSION_BROKEN']);
    expect(hints(res.lower)).toBe(1);
    expect(res.session.stats.rehandshakeSent).toBe(1);
    // The initiator learnt of the break from the hint, not from its own records.
    expect(codes(ini.downs)).toEqual(['SESSION_BROKEN']);
    expect(ini.downs[0]?.message).toMatch(/^session\/receive: .*REHANDSHAKE/);
    expect(ini.session.stats).toMatchObject({
      rehandshakeReceived: 1,
      rehandshakeIgnored: 0,
      broken: 0,
    });
    expect(ini.session.isUp).toBe(false);
    await vi.advanceTimersByTimeAsync(SESSION_DEFAULTS.retryBackoffMs - 1);
    expect(inits(ini.lower), 'the re-handshake waits for the backoff').toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(inits(ini.lower)).toBe(2);
    expect(ini.session.isUp && res.session.isUp).toBe(true);
    await ini.session.send(Uint8Array.of(2));
    await res.session.send(Uint8Array.of(3));
    await settle();
    expect(res.received.map((m) => bytesToHex(m))).toEqual(['02']);
    expect(ini.received.map((m) => bytesToHex(m))).toEqual(['03']);
    expect(lowerUps, 'neither lower channel came up again').toBe(0);
  });

  it('an RPC-like round trip resumes after a responder-side break', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    // The responder answers every request with "re:" + the request.
    res.session.on('message', (m) => {
      res.session.send(Uint8Array.of(0x72, 0x65, 0x3a, ...m)).catch(() => {});
    });
    /** Sends a request; settles with the reply, or rejects when the session goes down first. */
    const call = (request: number): Promise<string> =>
      new Promise((resolve, reject) => {
        const onMessage = (m: Uint8Array): void => {
          ini.session.off('down', onDown);
          resolve(bytesToHex(m));
        };
        const onDown = (e: WireError): void => {
          ini.session.off('message', onMessage);
          reject(e);
        };
        ini.session.once('message', onMessage);
        ini.session.once('down', onDown);
        ini.session.send(Uint8Array.of(request)).catch(() => {});
      });
    const first = call(1);
    await settle();
    expect(await first).toBe('72653a01');
    tamperFirstData(ini.lower);
    const second = call(2);
    await settle();
    // Without the hint this call would hang until an upper-layer timeout.
    expect((await rejection(second)).code).toBe('SESSION_BROKEN');
    const up = new Promise<void>((resolve) => ini.session.once('up', resolve));
    await vi.advanceTimersByTimeAsync(SESSION_DEFAULTS.retryBackoffMs);
    await up;
    const retried = call(2);
    await settle();
    expect(await retried).toBe('72653a02');
    const third = call(3);
    await settle();
    expect(await third).toBe('72653a03');
  });

  it('a burst of DATA into a broken responder gives one hint, not one per record', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    tamperFirstData(ini.lower);
    // 100 records leave before the hint can arrive: the first breaks the responder, the other 99
    // reach it with no session.
    const sends = Array.from({ length: 100 }, (_, i) => ini.session.send(Uint8Array.of(i)));
    await settle();
    await Promise.allSettled(sends);
    expect(res.session.stats.droppedWithoutSession).toBe(99);
    expect(hints(res.lower)).toBe(1);
    expect(ini.session.stats.rehandshakeReceived).toBe(1);
    await vi.advanceTimersByTimeAsync(SESSION_DEFAULTS.retryBackoffMs);
    await settle();
    expect(ini.session.isUp && res.session.isUp).toBe(true);
    expect(hints(res.lower), 'no hint for a session that is up').toBe(1);
  });

  it('DATA arriving at a responder with no session: at most one hint per interval', async () => {
    const interval = SESSION_DEFAULTS.rehandshakeHintIntervalMs;
    const { ini, res } = makePair();
    ini.lower.tap = (r) => (r[0] === RECORD_TYPE.HANDSHAKE_INIT ? [] : [r]);
    await connect(ini, res);
    expect(res.session.isUp).toBe(false);
    // 100 records in one go: one hint.
    ini.lower.deliver(Array.from({ length: 100 }, (_, i) => strayData(i)));
    await settle();
    expect(res.session.stats.droppedWithoutSession).toBe(100);
    expect(hints(res.lower)).toBe(1);
    // 100 more, one every interval / 20 ms, over five intervals: one hint per interval.
    for (let i = 0; i < 100; i++) {
      await vi.advanceTimersByTimeAsync(interval / 20);
      ini.lower.deliver([strayData(i)]);
      await settle();
    }
    expect(res.session.stats.droppedWithoutSession).toBe(200);
    expect(hints(res.lower)).toBe(6);
    expect(res.session.stats.rehandshakeSent).toBe(6);
    expect(res.downs).toEqual([]);
  });

  it('the hint interval is an option', async () => {
    const { ini, res } = makePair({ responder: { rehandshakeHintIntervalMs: 100 } });
    ini.lower.tap = (r) => (r[0] === RECORD_TYPE.HANDSHAKE_INIT ? [] : [r]);
    await connect(ini, res);
    for (let i = 0; i < 10; i++) {
      ini.lower.deliver([strayData(i), strayData(i)]);
      await settle();
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(hints(res.lower)).toBe(10);
  });

  it('a forged REHANDSHAKE to a responder is ignored and counted', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    const sentBefore = res.lower.sent.length;
    ini.lower.deliver([Uint8Array.of(RECORD_TYPE.REHANDSHAKE)]);
    await settle();
    expect(res.session.isUp).toBe(true);
    expect(res.downs).toEqual([]);
    expect(res.session.stats).toMatchObject({ rehandshakeReceived: 1, rehandshakeIgnored: 1 });
    expect(res.lower.sent.length).toBe(sentBefore);
    await ini.session.send(Uint8Array.of(7));
    await settle();
    expect(res.received.map((m) => bytesToHex(m))).toEqual(['07']);
  });

  it('a forged REHANDSHAKE to an initiator mid-handshake is ignored', async () => {
    const { ini, res } = makePair();
    const heldInits: Uint8Array[] = [];
    ini.lower.tap = (r) => {
      heldInits.push(r);
      return [];
    };
    await connect(ini, res);
    expect(heldInits.length).toBe(1);
    res.lower.deliver([Uint8Array.of(RECORD_TYPE.REHANDSHAKE)]);
    await settle();
    expect(ini.session.stats).toMatchObject({ rehandshakeReceived: 1, rehandshakeIgnored: 1 });
    expect(ini.downs).toEqual([]);
    expect(heldInits.length, 'no new INIT').toBe(1);
    // The INIT in flight still completes the handshake it belongs to.
    ini.lower.tap = undefined;
    ini.lower.deliver(heldInits);
    await settle();
    expect(ini.session.isUp && res.session.isUp).toBe(true);
  });

  it('a forged REHANDSHAKE to an initiator waiting for its backoff does not hurry the retry', async () => {
    const { ini, res } = makePair({ initiator: { handshakeTimeoutMs: 1000 } });
    ini.lower.tap = () => [];
    await connect(ini, res);
    await vi.advanceTimersByTimeAsync(1000); // timed out; retry due in retryBackoffMs
    expect(inits(ini.lower)).toBe(1);
    res.lower.deliver([Uint8Array.of(RECORD_TYPE.REHANDSHAKE)]);
    await settle();
    await vi.advanceTimersByTimeAsync(SESSION_DEFAULTS.retryBackoffMs - 1);
    expect(inits(ini.lower)).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(inits(ini.lower)).toBe(2);
    expect(ini.session.stats.rehandshakeIgnored).toBe(1);
  });

  it('a flood of forged hints to an up initiator: at most one handshake per backoff interval', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    const initTimes: number[] = [];
    const start = Date.now();
    ini.lower.tap = (r) => {
      if (r[0] === RECORD_TYPE.HANDSHAKE_INIT) initTimes.push(Date.now() - start);
      return [r];
    };
    const forged = Uint8Array.of(RECORD_TYPE.REHANDSHAKE);
    const floodMs = 10_000;
    for (let t = 0; t < floodMs; t += 5) {
      res.lower.deliver([forged, forged, forged]);
      await vi.advanceTimersByTimeAsync(5);
    }
    const backoff = SESSION_DEFAULTS.retryBackoffMs;
    expect(initTimes.length).toBeGreaterThan(0);
    expect(initTimes.length).toBeLessThanOrEqual(floodMs / backoff);
    for (let i = 1; i < initTimes.length; i++) {
      const gap = (initTimes[i] ?? 0) - (initTimes[i - 1] ?? 0);
      expect(gap, `gap before INIT ${i}`).toBeGreaterThanOrEqual(backoff);
    }
    const s = ini.session.stats;
    expect(s.rehandshakeReceived).toBe((floodMs / 5) * 3);
    // Acted on once per session that was up; every other hint was ignored.
    expect(s.rehandshakeReceived - s.rehandshakeIgnored).toBe(ini.downs.length);
    expect(ini.downs.length).toBeLessThanOrEqual(initTimes.length + 1);
    expect(res.session.stats.rehandshakeSent, 'the responder never answers hints').toBe(0);
    // The flood stops: the session comes up and stays up.
    await vi.advanceTimersByTimeAsync(backoff);
    await settle();
    expect(ini.session.isUp && res.session.isUp).toBe(true);
    await ini.session.send(Uint8Array.of(9));
    await settle();
    expect(res.received.map((m) => bytesToHex(m)).at(-1)).toBe('09');
  });

  it('a REHANDSHAKE with a body is malformed: it breaks an up session and is never taken as a hint', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.boolean(),
        async (body, toInitiator) => {
          const { ini, res } = makePair();
          await connect(ini, res);
          const [from, to] = toInitiator ? [res, ini] : [ini, res];
          from.lower.deliver([Uint8Array.of(RECORD_TYPE.REHANDSHAKE, ...body)]);
          await settle();
          expect(codes(to.downs)).toEqual(['SESSION_BROKEN']);
          expect(to.downs[0]?.message).toBe(
            `session/receive: expected a REHANDSHAKE of 0 bytes after the type, got ${body.length}`,
          );
          expect(to.session.stats).toMatchObject({ broken: 1, rehandshakeReceived: 0 });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a REHANDSHAKE with a body at an initiator that is not up is dropped and counted', async () => {
    const { ini, res } = makePair();
    ini.lower.tap = () => [];
    await connect(ini, res);
    res.lower.deliver([Uint8Array.of(RECORD_TYPE.REHANDSHAKE, 0)]);
    await settle();
    expect(ini.session.stats).toMatchObject({ droppedWithoutSession: 1, rehandshakeReceived: 0 });
    expect(ini.downs).toEqual([]);
  });

  it('a replayed old INIT strands the responder; the next DATA brings a hint and recovery', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    const oldInit = ini.lower.sent.find((r) => r[0] === RECORD_TYPE.HANDSHAKE_INIT);
    if (oldInit === undefined) throw new Error('no INIT captured');
    // Renew the session once so the recorded INIT is old, then replay it.
    ini.lower.up();
    await settle();
    ini.lower.deliver([oldInit]);
    await settle();
    expect(codes(res.downs)).toEqual(['SESSION_CLOSED', 'SESSION_CLOSED']);
    expect(res.session.isUp, 'up with keys nobody else holds').toBe(true);
    expect(ini.session.stats.droppedWithoutSession, 'its RESP is stale').toBe(1);
    await ini.session.send(Uint8Array.of(1)).catch(() => {});
    await settle();
    expect(codes(res.downs).at(-1)).toBe('SESSION_BROKEN');
    expect(codes(ini.downs).at(-1)).toBe('SESSION_BROKEN');
    await vi.advanceTimersByTimeAsync(SESSION_DEFAULTS.retryBackoffMs);
    await settle();
    await ini.session.send(Uint8Array.of(2));
    await settle();
    expect(res.received.map((m) => bytesToHex(m))).toEqual(['02']);
  });

  it('a responder that loses its session to a bad INIT sends a hint too', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    ini.lower.deliver([new Uint8Array(10).fill(RECORD_TYPE.HANDSHAKE_INIT)]);
    await settle();
    expect(codes(res.downs)).toEqual(['HANDSHAKE_FAILED']);
    expect(hints(res.lower)).toBe(1);
    expect(codes(ini.downs)).toEqual(['SESSION_BROKEN']);
    await vi.advanceTimersByTimeAsync(SESSION_DEFAULTS.retryBackoffMs);
    await settle();
    expect(ini.session.isUp && res.session.isUp).toBe(true);
  });

  it('close() stops the hint timer', async () => {
    const { ini, res } = makePair();
    ini.lower.tap = () => [];
    await connect(ini, res);
    await ini.session.close();
    ini.lower.deliver([strayData(1)]);
    await settle();
    expect(hints(res.lower)).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    await res.session.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('SecureSession close()', () => {
  it('wipes every key, rejects pending sends, emits down once and never comes up again', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    const secrets = ini.session[SECRET_BUFFERS]();
    expect(secrets.length).toBe(3);
    for (const b of secrets) expect(b.some((x) => x !== 0)).toBe(true);
    ini.lower.holdSends = true;
    const pending = ini.session.send(Uint8Array.of(1));
    await ini.session.close();
    for (const b of secrets) expect(b.every((x) => x === 0)).toBe(true);
    expect((await rejection(pending)).code).toBe('SESSION_CLOSED');
    expect(codes(ini.downs)).toEqual(['SESSION_CLOSED']);
    expect((await rejection(ini.session.send(Uint8Array.of(2)))).code).toBe('SESSION_CLOSED');
    ini.lower.up();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ini.ups).toBe(1);
    expect(
      INITIATOR.privateKey.some((x) => x !== 0),
      "the caller's key is a separate copy",
    ).toBe(true);
  });

  it('close() during a handshake wipes the handshake secrets and stops retries', async () => {
    const { ini, res } = makePair();
    ini.lower.tap = () => [];
    await connect(ini, res);
    const secrets = ini.session[SECRET_BUFFERS]();
    expect(secrets.length).toBeGreaterThan(1);
    await ini.session.close();
    for (const b of secrets) expect(b.every((x) => x === 0)).toBe(true);
    const sent = ini.lower.sent.length;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(ini.lower.sent.length).toBe(sent);
    expect(ini.downs).toEqual([]);
  });
});

describe('session records (session-record.ts)', () => {
  it('encodes each type with its byte and refuses bodies of a length the type does not allow', () => {
    expect(bytesToHex(encodeRecord('REHANDSHAKE', new Uint8Array(0)))).toBe('04');
    expect(encodeRecord('HANDSHAKE_INIT', new Uint8Array(48))[0]).toBe(1);
    for (const [type, length] of [
      ['REHANDSHAKE', 1],
      ['HANDSHAKE_INIT', 47],
      ['HANDSHAKE_RESP', 49],
      ['DATA', 15],
      ['DATA', SESSION_MAX_MESSAGE_BYTES + 17],
    ] as const) {
      let error: unknown;
      try {
        encodeRecord(type, new Uint8Array(length));
      } catch (e) {
        error = e;
      }
      expect(isWireError(error, 'INTERNAL'), `${type} of ${length}`).toBe(true);
    }
  });

  it('decodes any bytes into a known type or a SESSION_BROKEN WireError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          const { type, body } = decodeRecord(bytes);
          expect(RECORD_TYPE[type]).toBe(bytes[0]);
          expect(body.length).toBe(bytes.length - 1);
        } catch (e) {
          expect(isWireError(e, 'SESSION_BROKEN')).toBe(true);
          expect(bytes.length === 0 || (bytes[0] ?? 0) > 4 || bytes[0] === 0).toBe(true);
        }
      }),
    );
    for (const bad of ['x', null, undefined, [4], new Uint16Array(2)]) {
      expect(() => decodeRecord(bad)).toThrow(
        /^session\/receive: expected a record of at least 1 byte/,
      );
    }
    expect(() => decodeRecord(Uint8Array.of(5))).toThrow(
      'session/receive: expected a record type of 0x01, 0x02, 0x03, 0x04, got 0x05',
    );
  });

  it('lists the body lengths per type as frozen data', () => {
    expect(bodyLengthProblem('REHANDSHAKE', 0)).toBeUndefined();
    expect(bodyLengthProblem('REHANDSHAKE', 2)).toBe(
      'expected a REHANDSHAKE of 0 bytes after the type, got 2',
    );
    expect(bodyLengthProblem('DATA', Number.NaN)).toMatch(/got NaN/);
    expect(Object.isFrozen(RECORD_BODY_BYTES)).toBe(true);
    expect(Object.isFrozen(RECORD_BODY_BYTES.DATA)).toBe(true);
  });
});

describe('SecureSession options', () => {
  const lower = (): FakeLower => new FakeLower();
  const good: SecureSessionOptions = {
    role: 'initiator',
    staticPrivateKey: INITIATOR.privateKey,
    remoteStaticPublicKey: RESPONDER.publicKey,
  };
  const bad: [string, Partial<Record<keyof SecureSessionOptions, unknown>>][] = [
    ['role', { role: 'coordinator' }],
    ['short private key', { staticPrivateKey: new Uint8Array(16) }],
    ['long public key', { remoteStaticPublicKey: new Uint8Array(33) }],
    ['prologue', { prologue: 'net' }],
    ['timeout', { handshakeTimeoutMs: 0 }],
    ['backoff', { retryBackoffMs: 1.5 }],
    ['cap below start', { retryBackoffMs: 1000, maxRetryBackoffMs: 10 }],
    ['randomBytes', { randomBytes: 42 }],
    ['hint interval', { rehandshakeHintIntervalMs: -1 }],
  ];
  for (const [name, over] of bad) {
    it(`rejects a bad ${name} with BAD_PARAMS`, () => {
      let error: unknown;
      try {
        new SecureSession(lower(), { ...good, ...over } as SecureSessionOptions);
      } catch (e) {
        error = e;
      }
      expect(isWireError(error, 'BAD_PARAMS')).toBe(true);
    });
  }

  it('a different prologue on one side makes the handshake fail', async () => {
    const { ini, res } = makePair({ initiator: { prologue: Uint8Array.of(1) } });
    await connect(ini, res);
    expect(codes(res.downs)).toEqual(['HANDSHAKE_FAILED']);
    expect(ini.ups + res.ups).toBe(0);
  });

  it('the same extra prologue on both sides works', async () => {
    const prologue = new TextEncoder().encode('signet');
    const { ini, res } = makePair({ initiator: { prologue }, responder: { prologue } });
    await connect(ini, res);
    expect(ini.session.isUp && res.session.isUp).toBe(true);
  });

  it('the record type table is frozen data', () => {
    expect(RECORD_TYPE).toEqual({ HANDSHAKE_INIT: 1, HANDSHAKE_RESP: 2, DATA: 3, REHANDSHAKE: 4 });
    expect(Object.isFrozen(RECORD_TYPE)).toBe(true);
    expect(Object.isFrozen(SESSION_DEFAULTS)).toBe(true);
  });
});

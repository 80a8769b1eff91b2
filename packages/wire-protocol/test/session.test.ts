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
    expect(res.downs[0]?.message).toMatch(/at most 4112 bytes/);
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

  it('a responder that breaks waits for a new INIT and sends nothing itself', async () => {
    const { ini, res } = makePair();
    await connect(ini, res);
    ini.lower.tap = (r) => [r.subarray(0, r.length - 1)];
    await ini.session.send(Uint8Array.of(1));
    await settle();
    expect(codes(res.downs)).toEqual(['SESSION_BROKEN']);
    const sentBefore = res.lower.sent.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(res.lower.sent.length).toBe(sentBefore);
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
    expect(RECORD_TYPE).toEqual({ HANDSHAKE_INIT: 1, HANDSHAKE_RESP: 2, DATA: 3 });
    expect(Object.isFrozen(RECORD_TYPE)).toBe(true);
    expect(Object.isFrozen(SESSION_DEFAULTS)).toBe(true);
  });
});

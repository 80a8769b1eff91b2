import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeStrict, encodeCanonical } from '../src/cbor.js';
import type { ChannelEvents, MessageChannel } from '../src/channel.js';
import { ERROR_CODES, type ErrorName, isWireError, WireError } from '../src/errors.js';
import type { MethodName } from '../src/methods.js';
import { RpcClient } from '../src/rpc-client.js';
import {
  CHUNK_FINAL,
  CHUNK_MORE,
  ChunkAssembler,
  chunkEnvelope,
  DEFAULT_MAX_ENVELOPE_BYTES,
} from '../src/rpc-envelope.js';
import { type RpcContext, type RpcHandlers, RpcServer } from '../src/rpc-server.js';

// ---------------------------------------------------------------------------------------------
// A fake in-memory MessageChannel pair: whole messages, delivered in order on a later macrotask,
// only while both ends are up and only within the session in which they were sent.

const MAX_MESSAGE = 4096;

class FakeChannel implements MessageChannel {
  readonly maxMessageSize = MAX_MESSAGE;
  private readonly events = new EventEmitter<ChannelEvents>();
  private up = false;
  generation = 0;
  peer: FakeChannel | undefined;
  /** Every message this end handed to the channel. */
  readonly sent: Uint8Array[] = [];

  get isUp(): boolean {
    return this.up;
  }

  async send(message: Uint8Array): Promise<void> {
    if (!this.up) throw new WireError('SESSION_CLOSED', 'fake/send: the channel is down');
    if (message.length > this.maxMessageSize) {
      throw new WireError('MESSAGE_TOO_LARGE', `fake/send: ${message.length} bytes`);
    }
    this.sent.push(message);
    const copy = message.slice();
    const peer = this.peer;
    const generation = this.generation;
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (peer?.up && this.up && this.generation === generation) peer.events.emit('message', copy);
  }

  on<K extends keyof ChannelEvents>(event: K, listener: (...args: ChannelEvents[K]) => void): this {
    (this.events.on as (e: K, l: (...args: ChannelEvents[K]) => void) => void)(event, listener);
    return this;
  }

  off<K extends keyof ChannelEvents>(
    event: K,
    listener: (...args: ChannelEvents[K]) => void,
  ): this {
    (this.events.off as (e: K, l: (...args: ChannelEvents[K]) => void) => void)(event, listener);
    return this;
  }

  async close(): Promise<void> {
    this.setDown();
  }

  setUp(): void {
    this.generation += 1;
    this.up = true;
    this.events.emit('up');
  }

  setDown(): void {
    if (!this.up) return;
    this.generation += 1;
    this.up = false;
    this.events.emit('down', new WireError('SESSION_CLOSED', 'fake: the session ended'));
  }
}

function channelPair(): { a: FakeChannel; b: FakeChannel; up(): void; down(): void } {
  const a = new FakeChannel();
  const b = new FakeChannel();
  a.peer = b;
  b.peer = a;
  return {
    a,
    b,
    up() {
      a.setUp();
      b.setUp();
    },
    down() {
      a.setDown();
      b.setDown();
    },
  };
}

/** Wait, event-driven, until `cond` holds: yields to the event loop, never measures time. */
async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    if (cond()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`test: ${what} never became true`);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const BYTES32 = new Uint8Array(32).fill(3);
const SIG64 = new Uint8Array(64).fill(4);

/** Handlers that answer valid results, with overrides per test. */
function handlers(overrides: Partial<RpcHandlers> = {}): RpcHandlers {
  const base: RpcHandlers = {
    ping: async (p) => ({ nonce: p.nonce, uptimeMs: 42 }),
    get_info: async () => ({
      protocolVersion: 1,
      deviceId: 'signer-a',
      firmware: '0.1.0',
      network: 'regtest',
      state: 'armed',
      fingerprint: new Uint8Array([1, 2, 3, 4]),
      policyVersion: 7,
      wallets: 1,
    }),
    get_xpub: async () => ({
      xpub: 'tpubD6NzVbkrYhZ4Xf',
      fingerprint: new Uint8Array([1, 2, 3, 4]),
      path: "m/48'/1'/0'/2'",
    }),
    unlock_status: async () => ({ state: 'locked', activation: null }),
    activate: async () => ({ state: 'armed' }),
    register_wallet: async (p) => ({ walletId: BYTES32, name: p.name }),
    update_policy: async () => ({ version: 2, hash: BYTES32 }),
    sign_psbt: async () => ({ signatures: [], auditSeq: 1 }),
    pause: async () => ({ state: 'paused' }),
    resume: async () => ({ state: 'armed' }),
    get_audit_log: async () => ({
      entries: [],
      head: { seq: 0, hash: BYTES32, signature: SIG64 },
    }),
    lock: async () => ({ state: 'locked' }),
  };
  return { ...base, ...overrides };
}

interface Rig {
  client: RpcClient;
  server: RpcServer;
  pair: ReturnType<typeof channelPair>;
}

const rigs: Rig[] = [];

function rig(
  h: RpcHandlers = handlers(),
  opts: { serverMax?: number; clientMax?: number; up?: boolean } = {},
): Rig {
  const pair = channelPair();
  const client = new RpcClient(pair.a, {
    ...(opts.clientMax === undefined ? {} : { maxEnvelopeBytes: opts.clientMax }),
  });
  const server = new RpcServer(pair.b, h, {
    ...(opts.serverMax === undefined ? {} : { maxEnvelopeBytes: opts.serverMax }),
  });
  if (opts.up !== false) pair.up();
  const r = { client, server, pair };
  rigs.push(r);
  return r;
}

afterEach(() => {
  vi.useRealTimers();
  for (const r of rigs.splice(0)) {
    r.client.close();
    r.server.close();
  }
});

/** The coordinator end driven by hand: sends crafted chunks, collects decoded replies. */
function rawPeer(ch: FakeChannel) {
  const assembler = new ChunkAssembler(DEFAULT_MAX_ENVELOPE_BYTES);
  const replies: Record<string, unknown>[] = [];
  const rawReplies: Uint8Array[] = [];
  let consumed = 0;
  ch.on('message', (m) => {
    const r = assembler.push(m);
    if (r.kind === 'envelope') {
      rawReplies.push(r.bytes);
      replies.push(decodeStrict(r.bytes) as Record<string, unknown>);
    } else if (r.kind === 'error') {
      throw r.error;
    }
  });
  return {
    replies,
    rawReplies,
    async sendValue(value: unknown): Promise<void> {
      await this.sendBytes(encodeCanonical(value));
    },
    async sendBytes(envelope: Uint8Array): Promise<void> {
      for (const chunk of chunkEnvelope(envelope, MAX_MESSAGE)) await ch.send(chunk);
    },
    async sendChunk(chunk: Uint8Array): Promise<void> {
      await ch.send(chunk);
    },
    /** The next reply not yet returned, waiting for it if needed. */
    async nextReply(): Promise<Record<string, unknown>> {
      const n = consumed;
      consumed += 1;
      await until(() => replies.length > n, 'a reply');
      const r = replies[n];
      if (r === undefined) throw new Error('test: no reply');
      return r;
    },
  };
}

function errorOf(reply: Record<string, unknown>): {
  code: number;
  message: string;
  data?: unknown;
} {
  expect(reply).toHaveProperty('error');
  return reply.error as { code: number; message: string; data?: unknown };
}

const codeOf = (name: ErrorName): number => ERROR_CODES[name].code;

async function rejection(p: Promise<unknown>): Promise<WireError> {
  try {
    await p;
  } catch (e) {
    if (isWireError(e)) return e;
    throw new Error(`test: expected a WireError, got ${String(e)}`);
  }
  throw new Error('test: expected a rejection, got a result');
}

/** Request ids in the envelopes a channel end sent. */
function sentIds(ch: FakeChannel): number[] {
  const assembler = new ChunkAssembler(DEFAULT_MAX_ENVELOPE_BYTES);
  const ids: number[] = [];
  for (const m of ch.sent) {
    const r = assembler.push(m);
    if (r.kind === 'envelope') ids.push((decodeStrict(r.bytes) as { id: number }).id);
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------

describe('RPC round trips', () => {
  it('a 4 MiB sign_psbt with a large result is chunked both ways and arrives intact', async () => {
    const psbt = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < psbt.length; i++) psbt[i] = (i * 31 + (i >>> 11)) & 0xff;
    const signatures = Array.from({ length: 10_000 }, (_, i) => ({
      input: i,
      pubkey: new Uint8Array(33).fill(i & 0xff),
      signature: new Uint8Array(72).fill((i * 7) & 0xff),
    }));
    let seen: Uint8Array | undefined;
    let amount: unknown;
    const { client, pair } = rig(
      handlers({
        sign_psbt: async (p) => {
          seen = p.psbt;
          amount = p.intents[0]?.amount;
          return { signatures, auditSeq: 99 };
        },
      }),
    );
    const result = await client.call('sign_psbt', {
      wallet: 'hot',
      psbt,
      time: { unixSeconds: 1_700_000_000, height: 820_000 },
      intents: [
        {
          withdrawalId: 'w-1',
          scriptPubKey: new Uint8Array(22).fill(9),
          amount: 2_100_000_000_000_000,
          expiresAt: 1_700_000_600,
          signature: SIG64,
        },
      ],
    });
    // Byte comparisons: a deep toEqual over 4 MiB element by element takes many seconds.
    expect(seen !== undefined && Buffer.from(seen).equals(Buffer.from(psbt))).toBe(true);
    expect(amount).toBe(2_100_000_000_000_000n);
    expect(result.auditSeq).toBe(99);
    expect(result.signatures).toHaveLength(signatures.length);
    expect(result.signatures[9_999]).toEqual(signatures[9_999]);
    const same = Buffer.from(encodeCanonical(result.signatures)).equals(
      Buffer.from(encodeCanonical(signatures)),
    );
    expect(same).toBe(true);
    // Chunked both ways: the request needs more than 1024 chunks, the reply more than 200.
    expect(pair.a.sent.length).toBeGreaterThan(1024);
    expect(pair.b.sent.length).toBeGreaterThan(200);
    for (const m of [...pair.a.sent, ...pair.b.sent])
      expect(m.length).toBeLessThanOrEqual(MAX_MESSAGE);
    expect(pair.a.sent.filter((m) => m[0] === CHUNK_FINAL)).toHaveLength(1);
  });

  it('uses strictly increasing ids that never repeat, even across sessions', async () => {
    const { client, pair } = rig();
    await client.call('ping', { nonce: new Uint8Array(1) });
    await Promise.all([
      client.call('get_info', {}),
      client.call('lock', {}),
      client.call('ping', { nonce: new Uint8Array(0) }),
    ]);
    pair.down();
    pair.up();
    await client.call('unlock_status', {});
    const ids = sentIds(pair.a);
    expect(ids).toEqual([1, 2, 3, 4, 5]);
  });

  it('a call made while the channel is down waits for up, then succeeds', async () => {
    const { client, pair } = rig(handlers(), { up: false });
    const p = client.call('ping', { nonce: new Uint8Array([7]) });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(pair.a.sent).toHaveLength(0);
    pair.up();
    await expect(p).resolves.toEqual({ nonce: new Uint8Array([7]), uptimeMs: 42 });
  });

  it('runs requests one at a time in arrival order', async () => {
    const log: string[] = [];
    const gate = deferred();
    const { client } = rig(
      handlers({
        ping: async (p, ctx: RpcContext) => {
          log.push(`start ${ctx.id}`);
          if (ctx.id === 1) await gate.promise;
          log.push(`end ${ctx.id}`);
          return { nonce: p.nonce, uptimeMs: ctx.id };
        },
      }),
    );
    const first = client.call('ping', { nonce: new Uint8Array([1]) });
    const second = client.call('ping', { nonce: new Uint8Array([2]) });
    await until(() => log.length === 1, 'the first handler to start');
    // Let the second request arrive and sit in the queue.
    for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(log).toEqual(['start 1']);
    gate.resolve();
    expect((await first).uptimeMs).toBe(1);
    expect((await second).uptimeMs).toBe(2);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });
});

describe('request checks on the server', () => {
  it('answers a replayed or lower id with DUPLICATE_ID and does not run the handler', async () => {
    let runs = 0;
    const { pair, server } = rig(
      handlers({
        ping: async (p) => {
          runs += 1;
          return { nonce: p.nonce, uptimeMs: 0 };
        },
      }),
    );
    const peer = rawPeer(pair.a);
    const request = { id: 5, method: 'ping', params: { nonce: new Uint8Array([1]) } };
    await peer.sendValue(request);
    expect(await peer.nextReply()).toMatchObject({ id: 5, result: { uptimeMs: 0 } });
    await peer.sendValue(request);
    const dup = await peer.nextReply();
    expect(dup.id).toBe(5);
    expect(errorOf(dup).code).toBe(codeOf('DUPLICATE_ID'));
    await peer.sendValue({ ...request, id: 4 });
    expect(errorOf(await peer.nextReply()).code).toBe(codeOf('DUPLICATE_ID'));
    expect(runs).toBe(1);
    expect(server.stats.errors.DUPLICATE_ID).toBe(2);
    // A new session starts a new id sequence.
    pair.down();
    pair.up();
    await peer.sendValue({ ...request, id: 1 });
    expect(await peer.nextReply()).toMatchObject({ id: 1, result: { uptimeMs: 0 } });
    expect(runs).toBe(2);
  });

  it('answers an unknown method with UNKNOWN_METHOD; the client refuses one locally', async () => {
    const { pair, client } = rig();
    const peer = rawPeer(pair.a);
    for (const [id, method] of [
      [1, 'steal_keys'],
      [2, 'constructor'],
      [3, '__proto__'],
    ] as const) {
      await peer.sendValue({ id, method, params: {} });
      const reply = await peer.nextReply();
      expect(reply.id).toBe(id);
      expect(errorOf(reply).code).toBe(codeOf('UNKNOWN_METHOD'));
    }
    const sentBefore = pair.a.sent.length;
    const e = await rejection(client.call('steal_keys' as MethodName, {} as never));
    expect(e.code).toBe('UNKNOWN_METHOD');
    expect(pair.a.sent.length).toBe(sentBefore);
  });

  it('answers bad params with BAD_PARAMS listing paths and codes, without running the handler', async () => {
    let runs = 0;
    const { pair } = rig(
      handlers({
        ping: async (p) => {
          runs += 1;
          return { nonce: p.nonce, uptimeMs: 0 };
        },
      }),
    );
    const peer = rawPeer(pair.a);
    const secret = new TextEncoder().encode('SECRET-VALUE-SECRET-VALUE-SECRET-VALUE');
    await peer.sendValue({ id: 1, method: 'ping', params: { nonce: secret } });
    const reply = await peer.nextReply();
    const error = errorOf(reply);
    expect(reply.id).toBe(1);
    expect(error.code).toBe(codeOf('BAD_PARAMS'));
    expect(error.data).toEqual([{ path: ['nonce'], code: 'too_big' }]);
    expect(Buffer.from(peer.rawReplies[0] ?? []).toString('latin1')).not.toContain('SECRET');
    await peer.sendValue({ id: 2, method: 'ping', params: { nonce: new Uint8Array(1), extra: 1 } });
    expect(errorOf(await peer.nextReply()).data).toEqual([{ path: [], code: 'unrecognized_keys' }]);
    expect(runs).toBe(0);
  });

  it('the client refuses bad params locally and sends nothing', async () => {
    const { client, pair } = rig();
    const e = await rejection(client.call('ping', { nonce: new Uint8Array(33) }));
    expect(e.code).toBe('BAD_PARAMS');
    expect(e.message).toMatch(/^rpc\/ping: /);
    expect(e.data).toEqual([{ path: ['nonce'], code: 'too_big' }]);
    const e2 = await rejection(
      client.call('get_audit_log', { fromSeq: 0, limit: 1 }, { timeoutMs: -5 }),
    );
    expect(e2.code).toBe('BAD_PARAMS');
    expect(pair.a.sent).toHaveLength(0);
  });

  it('answers envelopes of the wrong shape with BAD_ENVELOPE and id 0', async () => {
    const { pair } = rig();
    const peer = rawPeer(pair.a);
    const bad: unknown[] = [
      { id: 1, method: 'ping' },
      { id: 1, method: 'ping', params: {}, extra: true },
      { id: 0, method: 'ping', params: {} },
      { id: -1, method: 'ping', params: {} },
      { id: 2n ** 64n - 1n, method: 'ping', params: {} },
      { id: 2n ** 53n, method: 'ping', params: {} },
      { id: 1, method: 'ping', params: [] },
      [1, 'ping', {}],
      'ping',
    ];
    for (const value of bad) {
      await peer.sendValue(value);
      const reply = await peer.nextReply();
      expect(
        reply.id,
        JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}` : v)),
      ).toBe(0);
      expect(errorOf(reply).code).toBe(codeOf('BAD_ENVELOPE'));
    }
  });

  it('answers garbage with BAD_CBOR (id 0), and the next valid request succeeds', async () => {
    const { pair, client } = rig();
    const peer = rawPeer(pair.a);
    const garbage = [
      new Uint8Array([0xff, 0x00, 0x13]),
      new Uint8Array([0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02]), // keys out of order
      new Uint8Array([0x5f, 0x41, 0x00, 0xff]), // indefinite length
      new Uint8Array([0x1b, 0, 0, 0, 0, 0, 0, 0, 1]), // non-canonical integer
      new Uint8Array([]),
    ];
    for (const bytes of garbage) {
      await peer.sendBytes(bytes);
      const reply = await peer.nextReply();
      expect(reply.id).toBe(0);
      expect(errorOf(reply).code).toBe(codeOf('BAD_CBOR'));
    }
    await expect(client.call('ping', { nonce: new Uint8Array([1]) })).resolves.toMatchObject({
      uptimeMs: 42,
    });
    expect(client.stats.unattributedReplies).toBe(garbage.length);
  });

  it('answers a bad chunk flag or an empty chunk with BAD_CHUNK, then recovers', async () => {
    const { pair, client, server } = rig();
    const peer = rawPeer(pair.a);
    await peer.sendChunk(new Uint8Array([CHUNK_MORE, 0xa3])); // a partial envelope...
    await peer.sendChunk(new Uint8Array([0x07, 1, 2, 3])); // ...broken by a bad flag
    let reply = await peer.nextReply();
    expect(reply.id).toBe(0);
    expect(errorOf(reply).code).toBe(codeOf('BAD_CHUNK'));
    expect(errorOf(reply).message).toContain('0x07');
    await peer.sendChunk(new Uint8Array([]));
    reply = await peer.nextReply();
    expect(errorOf(reply).code).toBe(codeOf('BAD_CHUNK'));
    await expect(client.call('lock', {})).resolves.toEqual({ state: 'locked' });
    expect(server.stats.errors.BAD_CHUNK).toBe(2);
  });

  it('answers an oversize envelope once with MESSAGE_TOO_LARGE, then recovers', async () => {
    const { pair, client, server } = rig(handlers(), { serverMax: 10_000 });
    const peer = rawPeer(pair.a);
    const big = encodeCanonical({
      id: 1,
      method: 'update_policy',
      params: { document: new Uint8Array(20_000), approvals: [{ keyId: 'k', signature: SIG64 }] },
    });
    await peer.sendBytes(big);
    const reply = await peer.nextReply();
    expect(reply.id).toBe(0);
    expect(errorOf(reply).code).toBe(codeOf('MESSAGE_TOO_LARGE'));
    // The rest of the oversize envelope was discarded silently: one reply only.
    await expect(client.call('ping', { nonce: new Uint8Array(2) })).resolves.toMatchObject({
      uptimeMs: 42,
    });
    expect(peer.replies).toHaveLength(2);
    expect(server.stats.errors.MESSAGE_TOO_LARGE).toBe(1);
  });

  it('the client refuses an envelope above its own limit locally', async () => {
    const { client, pair } = rig(handlers(), { clientMax: 10_000 });
    const e = await rejection(
      client.call('update_policy', {
        document: new Uint8Array(20_000),
        approvals: [{ keyId: 'k', signature: SIG64 }],
      }),
    );
    expect(e.code).toBe('MESSAGE_TOO_LARGE');
    expect(pair.a.sent).toHaveLength(0);
  });

  it('never crashes on arbitrary chunks, and still serves a valid request afterwards', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.of(CHUNK_FINAL, ...b)),
            fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.of(CHUNK_MORE, ...b)),
          ),
          { maxLength: 12 },
        ),
        async (chunks) => {
          const { pair, client } = rig();
          const peer = rawPeer(pair.a);
          for (const c of chunks) await peer.sendChunk(c);
          // Close any partial envelope so the next request starts clean.
          await peer.sendChunk(Uint8Array.of(CHUNK_FINAL));
          const result = await client.call('ping', { nonce: new Uint8Array([9]) });
          expect(result.nonce).toEqual(new Uint8Array([9]));
          client.close();
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('handler outcomes', () => {
  it('forwards a refusal with its report as data', async () => {
    const report = { rule: 'per-output-cap', output: 1, input: null, detail: 'output 1 above cap' };
    const { client } = rig(
      handlers({
        sign_psbt: async () => {
          throw new WireError('POLICY_REFUSED', 'policy/per-output-cap: output 1 above cap', {
            data: report,
          });
        },
      }),
    );
    const e = await rejection(
      client.call('sign_psbt', {
        wallet: 'hot',
        psbt: new Uint8Array(10),
        time: { unixSeconds: 1, height: 1 },
        intents: [],
      }),
    );
    expect(e.code).toBe('POLICY_REFUSED');
    expect(e.kind).toBe('refused');
    expect(e.data).toEqual(report);
    expect(e.message).toBe(
      'rpc/sign_psbt: device answered 2001: policy/per-output-cap: output 1 above cap',
    );
  });

  it('turns a plain Error into INTERNAL without its message', async () => {
    const { client, pair } = rig(
      handlers({
        lock: async () => {
          throw new Error('xprv9s21ZrQH143K leaked in a stack trace');
        },
      }),
    );
    const e = await rejection(client.call('lock', {}));
    expect(e.code).toBe('INTERNAL');
    expect(e.message).not.toContain('xprv');
    expect(e.data).toBeUndefined();
    const wire = Buffer.concat(pair.b.sent.map((m) => Buffer.from(m))).toString('latin1');
    expect(wire).not.toContain('xprv');
  });

  it('turns a link-kind WireError from a handler into INTERNAL', async () => {
    const { client } = rig(
      handlers({
        lock: async () => {
          throw new WireError('LINK_DOWN', 'link/send: secret detail');
        },
      }),
    );
    const e = await rejection(client.call('lock', {}));
    expect(e.code).toBe('INTERNAL');
    expect(e.message).not.toContain('secret');
  });

  it('answers INTERNAL when a handler returns a result that breaks its schema', async () => {
    const { client, server } = rig(
      handlers({
        get_xpub: async () =>
          ({ xpub: 'tpub', fingerprint: new Uint8Array(3), path: 'm' }) as never,
      }),
    );
    const e = await rejection(client.call('get_xpub', {}));
    expect(e.code).toBe('INTERNAL');
    expect(server.stats.errors.INTERNAL).toBe(1);
  });

  it('still answers when a handler error has unencodable text or data', async () => {
    const { client, server } = rig(
      handlers({
        lock: async () => {
          throw new WireError('LOCKED', 'device/lock: lone \ud800 surrogate', {
            data: { when: new Date(0) },
          });
        },
      }),
    );
    const e = await rejection(client.call('lock', {}));
    expect(e.code).toBe('LOCKED');
    expect(e.message).toBe('rpc/lock: device answered 3001: device/lock: lone \ufffd surrogate');
    expect(e.data).toBeUndefined();
    expect(server.stats.droppedErrorData).toBe(1);
  });

  it('answers INTERNAL when reading a handler result throws', async () => {
    const { client } = rig(
      handlers({
        lock: async () =>
          ({
            get state(): never {
              throw new Error('getter exploded');
            },
          }) as never,
      }),
    );
    const e = await rejection(client.call('lock', {}));
    expect(e.code).toBe('INTERNAL');
    expect(e.message).not.toContain('exploded');
    await expect(client.call('ping', { nonce: new Uint8Array(0) })).resolves.toMatchObject({
      uptimeMs: 42,
    });
  });

  it('passes state errors through with their code', async () => {
    const { client } = rig(
      handlers({
        sign_psbt: async () => {
          throw new WireError(
            'NOT_ARMED',
            'device/dispatch: sign_psbt needs armed, state is unlocked',
          );
        },
      }),
    );
    const e = await rejection(
      client.call('sign_psbt', {
        wallet: 'hot',
        psbt: new Uint8Array(1),
        time: { unixSeconds: 1, height: 1 },
        intents: [],
      }),
    );
    expect(e.code).toBe('NOT_ARMED');
    expect(e.kind).toBe('state');
  });

  it('refuses a server without a handler for every method', () => {
    const pair = channelPair();
    const { lock: _missing, ...partial } = handlers();
    let caught: unknown;
    try {
      new RpcServer(pair.b, partial as RpcHandlers);
    } catch (e) {
      caught = e;
    }
    expect(isWireError(caught, 'INTERNAL')).toBe(true);
    expect((caught as Error).message).toContain('lock');
  });
});

describe('client replies from a device', () => {
  /** A client facing a hand-driven device end. */
  function deviceRig() {
    const pair = channelPair();
    const client = new RpcClient(pair.a);
    rigs.push({ client, server: new RpcServer(new FakeChannel(), handlers()), pair });
    const requests: { id: number; method: string }[] = [];
    const assembler = new ChunkAssembler(DEFAULT_MAX_ENVELOPE_BYTES);
    pair.b.on('message', (m) => {
      const r = assembler.push(m);
      if (r.kind === 'envelope')
        requests.push(decodeStrict(r.bytes) as { id: number; method: string });
    });
    pair.up();
    const reply = async (value: unknown) => {
      for (const chunk of chunkEnvelope(encodeCanonical(value), MAX_MESSAGE))
        await pair.b.send(chunk);
    };
    return { client, pair, requests, reply };
  }

  it('rejects a result that breaks the schema with BAD_RESULT', async () => {
    const { client, requests, reply } = deviceRig();
    const outcome = rejection(client.call('lock', {}));
    await until(() => requests.length === 1);
    await reply({ id: requests[0]?.id, result: { state: 'exploded' } });
    const e = await outcome;
    expect(e.code).toBe('BAD_RESULT');
    expect(e.data).toEqual([{ path: ['state'], code: 'invalid_value' }]);
  });

  it('maps unknown and link-kind error codes to REMOTE_ERROR', async () => {
    const { client, requests, reply } = deviceRig();
    const p1 = client.call('lock', {});
    const p2 = client.call('lock', {});
    const [o1, o2] = [rejection(p1), rejection(p2)];
    await until(() => requests.length === 2);
    await reply({ id: requests[0]?.id, error: { code: 2999, message: 'from the future' } });
    await reply({ id: requests[1]?.id, error: { code: 4001, message: 'not a device verdict' } });
    const e1 = await o1;
    expect(e1.code).toBe('REMOTE_ERROR');
    expect(e1.message).toBe('rpc/lock: device answered 2999: from the future');
    expect((await o2).code).toBe('REMOTE_ERROR');
  });

  it('drops refusal data that does not match the report schema', async () => {
    const { client, requests, reply } = deviceRig();
    const outcome = rejection(client.call('lock', {}));
    await until(() => requests.length === 1);
    await reply({
      id: requests[0]?.id,
      error: { code: 2001, message: 'no', data: { rule: 'x', evil: true } },
    });
    const e = await outcome;
    expect(e.code).toBe('POLICY_REFUSED');
    expect(e.data).toBeUndefined();
  });

  it('drops and counts replies with unknown ids and malformed replies', async () => {
    const { client, requests, reply, pair } = deviceRig();
    const p = client.call('lock', {});
    await until(() => requests.length === 1);
    await reply({ id: 777, result: { state: 'locked' } });
    await reply({ id: requests[0]?.id, result: { state: 'locked' }, extra: 1 });
    await pair.b.send(Uint8Array.of(CHUNK_FINAL, 0xff));
    await reply({ id: requests[0]?.id, result: { state: 'locked' } });
    await expect(p).resolves.toEqual({ state: 'locked' });
    expect(client.stats.unknownIdReplies).toBe(1);
    expect(client.stats.badReplies).toBe(2);
  });
});

describe('session loss and timeouts', () => {
  it('rejects every pending call with SESSION_CLOSED when the channel goes down', async () => {
    const gate = deferred();
    let started = 0;
    const { client, pair, server } = rig(
      handlers({
        lock: async () => {
          started += 1;
          await gate.promise;
          return { state: 'locked' };
        },
      }),
    );
    const outcomes = Promise.all([
      rejection(client.call('lock', {})),
      rejection(client.call('get_info', {})),
    ]);
    await until(() => started === 1 && server.stats.accepted === 2, 'both requests to arrive');
    pair.down();
    const [e1, e2] = await outcomes;
    expect(e1.code).toBe('SESSION_CLOSED');
    expect(e2.code).toBe('SESSION_CLOSED');
    expect(client.pendingCalls).toBe(0);
    // The handler finishing after the session ended sends nothing into a later session.
    pair.up();
    gate.resolve();
    await until(() => server.stats.staleReplies === 1, 'the stale reply to be dropped');
    expect(server.stats.droppedRequests).toBe(1);
    await expect(client.call('ping', { nonce: new Uint8Array(0) })).resolves.toMatchObject({
      uptimeMs: 42,
    });
  });

  it('times out with TIMEOUT and ignores the late reply', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const gate = deferred();
    let started = false;
    const { client, server } = rig(
      handlers({
        lock: async () => {
          started = true;
          await gate.promise;
          return { state: 'locked' };
        },
      }),
    );
    const p = client.call('lock', {}, { timeoutMs: 5_000 });
    const outcome = rejection(p);
    await until(() => started, 'the handler to start');
    vi.advanceTimersByTime(4_999);
    expect(client.pendingCalls).toBe(1);
    vi.advanceTimersByTime(1);
    const e = await outcome;
    expect(e.code).toBe('TIMEOUT');
    expect(e.message).toMatch(/^rpc\/lock: /);
    gate.resolve();
    await until(() => client.stats.unknownIdReplies === 1, 'the late reply to arrive');
    expect(server.stats.succeeded).toBe(1);
    expect(client.pendingCalls).toBe(0);
  });

  it('times out a call that waits for a channel that never comes up', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { client, pair } = rig(handlers(), { up: false });
    const outcome = rejection(client.call('lock', {}));
    vi.advanceTimersByTime(30_000);
    expect((await outcome).code).toBe('TIMEOUT');
    pair.up();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(pair.a.sent).toHaveLength(0);
  });

  it('close() rejects pending calls and later calls with SESSION_CLOSED', async () => {
    const { client } = rig(handlers({ lock: () => new Promise(() => undefined) }));
    const p = client.call('lock', {});
    client.close();
    expect((await rejection(p)).code).toBe('SESSION_CLOSED');
    expect((await rejection(client.call('lock', {}))).code).toBe('SESSION_CLOSED');
  });
});

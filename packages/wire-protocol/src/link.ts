/**
 * Layer 2 reliable link: whole messages over a byte Transport, in order, exactly once, with
 * selective-repeat retransmission. Messages are cut into DATA frames of at most `maxPayload`
 * bytes; at most `window` of them are unacknowledged at a time. The receiver acknowledges
 * cumulatively (ACK, or the ack field of its own DATA), buffers frames that arrive ahead of a gap
 * and asks for the gap once with a NACK. A RESET exchange in each direction starts every epoch
 * with fresh sequence numbers on both sides.
 *
 * PROTOCOL.md section 2 documents the frames, the state machine and the parameters.
 */
import { EventEmitter } from 'node:events';
import { concatBytes, equalBytes } from '@noble/ciphers/utils.js';
import type { ChannelEvents, MessageChannel } from './channel.js';
import { Deframer } from './deframer.js';
import { WireError } from './errors.js';
import { type DataFrame, encodeFrame, type Frame, MAX_PAYLOAD, NONCE_SIZE } from './frame.js';
import { RtoEstimator } from './rto.js';
import type { Transport } from './transport.js';

/** Largest send window: half the 8-bit sequence space less one, so old and new never overlap. */
export const MAX_WINDOW = 127;

export interface LinkOptions {
  /** Largest DATA payload this side sends (fragment size), 1..MAX_PAYLOAD. */
  readonly maxPayload: number;
  /** Most DATA frames sent and not yet acknowledged, 1..MAX_WINDOW. */
  readonly window: number;
  /** Retransmission timeout of the oldest unacknowledged frame before any round trip is measured, ms. */
  readonly rtoMs: number;
  /** Floor of the measured timeout (RFC 6298 estimate from acknowledged frames), ms. */
  readonly rtoMinMs: number;
  /** Cap of the doubling retransmission timeout, ms. */
  readonly rtoMaxMs: number;
  /** Consecutive timeouts without progress after which the link is declared down. */
  readonly maxRetries: number;
  /** Largest message sent or reassembled, bytes. */
  readonly maxMessageSize: number;
  /** A partial frame with no new byte for this long is dropped, ms. */
  readonly staleMs: number;
  /** RESET repeat interval while the link is not up, ms. */
  readonly resetIntervalMs: number;
  /** Monotonic clock in ms. */
  readonly now: () => number;
}

export const DEFAULT_LINK_OPTIONS: Readonly<LinkOptions> = Object.freeze({
  maxPayload: 512,
  window: 8,
  rtoMs: 500,
  rtoMinMs: 50,
  rtoMaxMs: 4000,
  maxRetries: 10,
  maxMessageSize: 8192,
  staleMs: 1000,
  resetIntervalMs: 1000,
  now: () => performance.now(),
});

/** Hard ceiling on maxMessageSize, so a misconfiguration cannot ask for unbounded reassembly. */
export const MAX_LINK_MESSAGE_SIZE = 16 * 1024 * 1024;

export interface LinkStats {
  /** Frames written (all types) and their bytes on the line, delimiters included. */
  framesSent: number;
  bytesSent: number;
  /** Valid frames received (all types). */
  framesReceived: number;
  /** DATA frames sent for the first time. */
  dataSent: number;
  /** DATA frames sent again (timeout or NACK). */
  retransmits: number;
  /** Retransmission timer expiries. */
  timeouts: number;
  acksSent: number;
  nacksSent: number;
  nacksReceived: number;
  /** DATA frames received that were already delivered or already buffered. */
  duplicates: number;
  /** DATA frames whose seq lies in neither the receive window nor the duplicate range. */
  outOfWindow: number;
  /** Acknowledgement numbers outside the outstanding window (stale or forged). */
  staleAcks: number;
  /** DATA/ACK/NACK received while the link was not up. */
  ignoredWhileDown: number;
  /** RESET_ACK frames that did not complete our exchange. */
  ignoredResetAcks: number;
  /** Messages dropped for exceeding maxMessageSize on reassembly. */
  oversizeMessages: number;
  messagesSent: number;
  messagesReceived: number;
  /** RESET exchanges started by this side. */
  resets: number;
  resetsSent: number;
  resetsReceived: number;
  ups: number;
  downs: number;
  /** Deframer counters. */
  badFrames: number;
  garbageBytes: number;
  staleDiscards: number;
  oversizeDiscards: number;
  /** Transport writes that failed. */
  writeErrors: number;
  /** Exceptions thrown by event listeners (caught so the receive path never throws). */
  listenerErrors: number;
  /** Unexpected exceptions caught on the receive path (a bug if ever non-zero). */
  internalErrors: number;
}

type LinkState = 'idle' | 'resetting' | 'up' | 'closed';

interface Outgoing {
  readonly data: Uint8Array;
  /** Start of the next fragment to cut. */
  offset: number;
  /** Fragments sent and not yet acknowledged. */
  unacked: number;
  readonly resolve: () => void;
  readonly reject: (error: WireError) => void;
}

interface InFlight {
  readonly seq: number;
  readonly payload: Uint8Array;
  readonly end: boolean;
  readonly message: Outgoing;
  /** When it was first handed to the transport (ms, options.now). */
  sentAt: number;
  /** Sent more than once: its acknowledgement is no round-trip sample (Karn's rule). */
  resent: boolean;
  /** The transport has taken its latest transmission (`sentAt` is then when it did). */
  onLine: boolean;
}

type Counter = Exclude<
  keyof LinkStats,
  'badFrames' | 'garbageBytes' | 'staleDiscards' | 'oversizeDiscards'
>;

export class Link extends EventEmitter<ChannelEvents> implements MessageChannel {
  readonly options: Readonly<LinkOptions>;
  private readonly transport: Transport;
  private readonly deframer: Deframer;
  private state: LinkState = 'idle';
  private readonly unsubscribe: Array<() => void> = [];
  private readonly counts: Record<Counter, number> = {
    framesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    dataSent: 0,
    retransmits: 0,
    timeouts: 0,
    acksSent: 0,
    nacksSent: 0,
    nacksReceived: 0,
    duplicates: 0,
    outOfWindow: 0,
    staleAcks: 0,
    ignoredWhileDown: 0,
    ignoredResetAcks: 0,
    oversizeMessages: 0,
    messagesSent: 0,
    messagesReceived: 0,
    resets: 0,
    resetsSent: 0,
    resetsReceived: 0,
    ups: 0,
    downs: 0,
    writeErrors: 0,
    listenerErrors: 0,
    internalErrors: 0,
  };

  // RESET exchange
  private ourNonce: Uint8Array = new Uint8Array(NONCE_SIZE);
  private peerNonce: Uint8Array | undefined;
  private resetTimer: NodeJS.Timeout | undefined;

  // sender
  private nextSeq = 0;
  private sendBase = 0;
  private inflight: InFlight[] = [];
  private queue: Outgoing[] = [];
  private readonly rto: RtoEstimator;
  private retries = 0;
  private rtoTimer: NodeJS.Timeout | undefined;

  // receiver
  private expected = 0;
  private ahead = new Map<number, DataFrame>();
  /** The `expected` value a NACK was last sent for: one NACK per gap until progress. */
  private nackedFor: number | undefined;
  private parts: Uint8Array[] = [];
  private partsSize = 0;
  private ackPending = false;
  private ackImmediate: NodeJS.Immediate | undefined;

  constructor(transport: Transport, options?: Partial<LinkOptions>) {
    super();
    if (
      typeof transport !== 'object' ||
      transport === null ||
      typeof transport.write !== 'function' ||
      typeof transport.onData !== 'function' ||
      typeof transport.onClose !== 'function'
    ) {
      throw new WireError('BAD_PARAMS', 'link/constructor: expected a Transport');
    }
    this.transport = transport;
    this.options = checkOptions({ ...DEFAULT_LINK_OPTIONS, ...options });
    this.rto = new RtoEstimator({
      initialMs: this.options.rtoMs,
      minMs: this.options.rtoMinMs,
      maxMs: this.options.rtoMaxMs,
    });
    this.deframer = new Deframer({ staleMs: this.options.staleMs });
  }

  get maxMessageSize(): number {
    return this.options.maxMessageSize;
  }

  get isUp(): boolean {
    return this.state === 'up';
  }

  get stats(): Readonly<LinkStats> {
    const d = this.deframer.stats;
    return Object.freeze({
      ...this.counts,
      badFrames: d.badFrames,
      garbageBytes: d.garbageBytes,
      staleDiscards: d.staleDiscards,
      oversizeDiscards: d.oversizeDiscards,
    });
  }

  /** Start listening and begin the RESET exchange. Calling it again has no effect. */
  start(): void {
    if (this.state !== 'idle') return;
    this.unsubscribe.push(
      this.transport.onData((chunk) => this.onData(chunk)),
      this.transport.onClose((error) => this.onTransportClose(error)),
    );
    if (!this.transport.isOpen) {
      this.onTransportClose();
      return;
    }
    this.write(Uint8Array.of(0)); // ends any partial frame the peer's deframer holds
    this.startResetting();
  }

  send(message: Uint8Array): Promise<void> {
    if (this.state === 'closed') {
      return Promise.reject(new WireError('LINK_CLOSED', 'link/send: the link is closed'));
    }
    if (!(message instanceof Uint8Array)) {
      return Promise.reject(
        new WireError('BAD_PARAMS', 'link/send: expected a Uint8Array message'),
      );
    }
    const max = this.options.maxMessageSize;
    if (message.length === 0 || message.length > max) {
      return Promise.reject(
        new WireError(
          'MESSAGE_TOO_LARGE',
          `link/send: expected a message of 1..${max} bytes, got ${message.length}`,
        ),
      );
    }
    if (this.state !== 'up') {
      return Promise.reject(
        new WireError('LINK_DOWN', 'link/send: expected the link to be up, it is not'),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ data: message.slice(), offset: 0, unacked: 0, resolve, reject });
      this.pump();
    });
  }

  /** Stop for good. Pending sends reject with LINK_CLOSED. The transport stays open (the caller owns it). */
  async close(): Promise<void> {
    this.shutDown(new WireError('LINK_CLOSED', 'link/close: the link was closed'));
  }

  // ---- receive path -------------------------------------------------------------------------

  private onData(chunk: Uint8Array): void {
    try {
      if (this.state === 'closed' || this.state === 'idle') return;
      const frames = this.deframer.push(chunk, this.options.now());
      for (const frame of frames) {
        if (this.current() === 'closed') return; // a listener closed the link mid-chunk
        this.counts.framesReceived++;
        this.handleFrame(frame);
      }
    } catch {
      this.counts.internalErrors++;
    }
  }

  private handleFrame(frame: Frame): void {
    switch (frame.type) {
      case 'RESET':
        this.onReset(frame.nonce);
        return;
      case 'RESET_ACK':
        this.onResetAck(frame.nonce);
        return;
      default:
        break;
    }
    if (this.state !== 'up') {
      this.counts.ignoredWhileDown++;
      return;
    }
    this.onAckNumber(frame.ack);
    if (this.state !== 'up') return;
    if (frame.type === 'NACK') this.onNack(frame.seq);
    else if (frame.type === 'DATA') this.onDataFrame(frame);
  }

  private onReset(nonce: Uint8Array): void {
    this.counts.resetsReceived++;
    if (this.state === 'up') {
      if (sameBytes(nonce, this.peerNonce)) {
        this.sendFrame({ type: 'RESET_ACK', nonce }); // a repeat of the RESET that opened this epoch
        return;
      }
      this.loseLink(
        new WireError(
          'LINK_DOWN',
          'link: expected the peer to keep its epoch, it sent a new RESET (peer reset)',
        ),
      );
      if (this.current() !== 'resetting') return; // a 'down' listener closed the link
      this.peerNonce = nonce;
      this.sendFrame({ type: 'RESET_ACK', nonce });
      return;
    }
    // resetting
    this.sendFrame({ type: 'RESET_ACK', nonce });
    if (!sameBytes(nonce, this.peerNonce)) {
      this.peerNonce = nonce;
      this.sendReset(); // make sure this incarnation of the peer hears our nonce
    }
  }

  private onResetAck(nonce: Uint8Array): void {
    if (
      this.state === 'resetting' &&
      this.peerNonce !== undefined &&
      sameBytes(nonce, this.ourNonce)
    ) {
      this.goUp();
      return;
    }
    this.counts.ignoredResetAcks++;
  }

  private onDataFrame(frame: DataFrame): void {
    const d = (frame.seq - this.expected) & 0xff;
    if (d === 0) {
      this.nackedFor = undefined;
      if (!this.accept(frame)) return;
      for (
        let next = this.ahead.get(this.expected);
        next !== undefined;
        next = this.ahead.get(this.expected)
      ) {
        this.ahead.delete(this.expected);
        if (!this.accept(next)) return;
      }
      // Frames still buffered past a new gap: ask for it now rather than wait for the peer's RTO.
      if (this.ahead.size > 0) this.nackGap();
      else this.scheduleAck();
    } else if (d < MAX_WINDOW) {
      if (this.ahead.has(frame.seq)) {
        this.counts.duplicates++;
        return;
      }
      this.ahead.set(frame.seq, frame);
      this.nackGap();
    } else if (d > 0xff - MAX_WINDOW) {
      this.counts.duplicates++; // already delivered: the peer missed our ACK
      this.scheduleAck();
    } else {
      this.counts.outOfWindow++;
    }
  }

  /** Ask once for the frame at `expected` (one NACK per gap until progress). */
  private nackGap(): void {
    if (this.nackedFor === this.expected) return;
    this.nackedFor = this.expected;
    this.counts.nacksSent++;
    this.ackPending = false; // a NACK carries the cumulative ack too
    this.sendFrame({ type: 'NACK', seq: this.expected, ack: this.expected });
  }

  /** Deliver one in-order fragment. False when the link went down (oversize) or was closed. */
  private accept(frame: DataFrame): boolean {
    const size = this.partsSize + frame.payload.length;
    if (size > this.options.maxMessageSize) {
      this.counts.oversizeMessages++;
      const cause = new WireError(
        'MESSAGE_TOO_LARGE',
        `link/receive: expected a message of at most ${this.options.maxMessageSize} bytes, got ${size} and more`,
      );
      this.loseLink(
        new WireError(
          'LINK_DOWN',
          `link/receive: peer sent a message over ${this.options.maxMessageSize} bytes; resetting the link`,
          {
            cause,
          },
        ),
      );
      return false;
    }
    this.expected = (this.expected + 1) & 0xff;
    this.parts.push(frame.payload);
    this.partsSize = size;
    if (frame.end) {
      const message =
        this.parts.length === 1 && this.parts[0] !== undefined
          ? this.parts[0]
          : concatBytes(...this.parts);
      this.parts = [];
      this.partsSize = 0;
      this.counts.messagesReceived++;
      this.emitSafe('message', message);
    }
    return this.state === 'up';
  }

  private scheduleAck(): void {
    this.ackPending = true;
    if (this.ackImmediate !== undefined) return;
    this.ackImmediate = setImmediate(() => {
      this.ackImmediate = undefined;
      if (this.state !== 'up' || !this.ackPending) return;
      this.ackPending = false;
      this.counts.acksSent++;
      this.sendFrame({ type: 'ACK', ack: this.expected });
    });
  }

  // ---- send path ----------------------------------------------------------------------------

  private onAckNumber(ack: number): void {
    const d = (ack - this.sendBase) & 0xff;
    if (d === 0) return;
    if (d > this.inflight.length) {
      this.counts.staleAcks++;
      return;
    }
    const acked = this.inflight.splice(0, d);
    this.sendBase = ack;
    this.retries = 0;
    // Karn's rule, extended to the batch: a cumulative ACK that covers any resent frame also
    // covers frames that waited behind it in the peer's buffer, so it measures no round trip.
    const newest = acked[acked.length - 1];
    if (newest?.onLine && acked.every((f) => !f.resent)) {
      this.rto.sample(this.options.now() - newest.sentAt);
      this.rto.progress();
    } else {
      // No valid sample: RFC 6298 keeps the backed-off timeout until one arrives, which on a
      // lossy line (every ack covering some resent frame) pins it at the cap. Halve it instead.
      this.rto.relax();
    }
    for (const f of acked) {
      const m = f.message;
      m.unacked--;
      if (m.unacked === 0 && m.offset === m.data.length) {
        this.counts.messagesSent++;
        m.resolve();
      }
    }
    this.stopRto();
    if (this.inflight.length > 0) this.armRto();
    this.pump();
  }

  private onNack(seq: number): void {
    this.counts.nacksReceived++;
    const i = (seq - this.sendBase) & 0xff;
    const f = this.inflight[i];
    if (f === undefined) return;
    this.counts.retransmits++;
    f.resent = true;
    this.transmit(f);
  }

  /** Cut fragments off the queued messages while the window has room. */
  private pump(): void {
    const { window, maxPayload } = this.options;
    while (this.state === 'up' && this.inflight.length < window) {
      const m = this.queue[0];
      if (m === undefined) return;
      const start = m.offset;
      m.offset = Math.min(start + maxPayload, m.data.length);
      const end = m.offset === m.data.length;
      if (end) this.queue.shift();
      const f: InFlight = {
        seq: this.nextSeq,
        payload: m.data.subarray(start, m.offset),
        end,
        message: m,
        sentAt: this.options.now(),
        resent: false,
        onLine: false,
      };
      this.nextSeq = (this.nextSeq + 1) & 0xff;
      m.unacked++;
      this.inflight.push(f);
      this.counts.dataSent++;
      this.transmit(f);
      if (this.inflight.length === 1) this.armRto();
    }
  }

  private transmit(f: InFlight): void {
    this.ackPending = false; // the ack field of DATA carries it
    f.onLine = false;
    const written = this.sendFrame({
      type: 'DATA',
      seq: f.seq,
      ack: this.expected,
      end: f.end,
      payload: f.payload,
    });
    // The round trip starts when the frame has left (a paced transport resolves its write when
    // the last byte is on the line), not while it waits behind others in the transport's queue.
    void written.then(() => {
      f.sentAt = this.options.now();
      f.onLine = true;
    });
  }

  private armRto(): void {
    this.stopRto();
    this.rtoTimer = setTimeout(() => this.onRtoExpired(), this.rto.current);
  }

  private stopRto(): void {
    if (this.rtoTimer !== undefined) clearTimeout(this.rtoTimer);
    this.rtoTimer = undefined;
  }

  private onRtoExpired(): void {
    this.rtoTimer = undefined;
    const oldest = this.inflight[0];
    if (this.state !== 'up' || oldest === undefined) return;
    // Still queued in the transport, or on the line for less than the timeout: not lost yet.
    const waited = this.options.now() - oldest.sentAt;
    if (!oldest.onLine || waited < this.rto.current) {
      this.rtoTimer = setTimeout(
        () => this.onRtoExpired(),
        oldest.onLine ? this.rto.current - waited : this.rto.current,
      );
      return;
    }
    this.counts.timeouts++;
    this.retries++;
    if (this.retries >= this.options.maxRetries) {
      this.loseLink(
        new WireError(
          'LINK_DOWN',
          `link: expected an acknowledgement of seq ${oldest.seq}, got none after ${this.retries} timeouts`,
        ),
      );
      return;
    }
    this.counts.retransmits++;
    oldest.resent = true;
    this.transmit(oldest);
    this.rto.backOff();
    this.armRto();
  }

  // ---- epochs -------------------------------------------------------------------------------

  private startResetting(): void {
    this.state = 'resetting';
    this.clearTraffic();
    this.ourNonce = globalThis.crypto.getRandomValues(new Uint8Array(NONCE_SIZE));
    this.peerNonce = undefined;
    this.counts.resets++;
    this.sendReset();
  }

  /** Send our RESET now and again every resetIntervalMs while not up. */
  private sendReset(): void {
    if (this.resetTimer !== undefined) clearTimeout(this.resetTimer);
    this.resetTimer = undefined;
    if (this.state !== 'resetting') return;
    this.counts.resetsSent++;
    this.sendFrame({ type: 'RESET', nonce: this.ourNonce });
    this.resetTimer = setTimeout(() => this.sendReset(), this.options.resetIntervalMs);
  }

  private goUp(): void {
    if (this.resetTimer !== undefined) clearTimeout(this.resetTimer);
    this.resetTimer = undefined;
    this.clearTraffic();
    this.state = 'up';
    this.counts.ups++;
    this.emitSafe('up');
  }

  /** Up -> resetting: fail every pending send with `error`, start a new epoch, emit 'down'. */
  private loseLink(error: WireError): void {
    if (this.state !== 'up') return;
    const failed = this.pendingMessages();
    this.startResetting();
    this.counts.downs++;
    for (const m of failed) m.reject(error);
    this.emitSafe('down', error);
  }

  private onTransportClose(error?: Error): void {
    const reason = error === undefined ? 'closed' : `failed: ${error.message}`;
    this.shutDown(new WireError('LINK_CLOSED', `link: the transport ${reason}`, { cause: error }));
  }

  private shutDown(error: WireError): void {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'up';
    const failed = this.pendingMessages();
    this.state = 'closed';
    this.clearTraffic();
    if (this.resetTimer !== undefined) clearTimeout(this.resetTimer);
    this.resetTimer = undefined;
    for (const off of this.unsubscribe.splice(0)) off();
    this.deframer.clear();
    for (const m of failed) m.reject(error);
    if (wasUp) {
      this.counts.downs++;
      this.emitSafe('down', error);
    }
  }

  private pendingMessages(): Outgoing[] {
    const set = new Set<Outgoing>(this.queue);
    for (const f of this.inflight) set.add(f.message);
    return [...set];
  }

  /** Forget all sender and receiver state (sequence numbers back to 0). */
  private clearTraffic(): void {
    this.stopRto();
    if (this.ackImmediate !== undefined) clearImmediate(this.ackImmediate);
    this.ackImmediate = undefined;
    this.ackPending = false;
    this.nextSeq = 0;
    this.sendBase = 0;
    this.inflight = [];
    this.queue = [];
    this.rto.reset();
    this.retries = 0;
    this.expected = 0;
    this.ahead = new Map();
    this.nackedFor = undefined;
    this.parts = [];
    this.partsSize = 0;
  }

  // ---- plumbing -----------------------------------------------------------------------------

  /** The state, read afresh (listeners called in between may have changed it). */
  private current(): LinkState {
    return this.state;
  }

  /** Encode and write one frame. Resolves when the transport has taken it (never rejects). */
  private sendFrame(frame: Frame): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    const bytes = encodeFrame(frame);
    this.counts.framesSent++;
    this.counts.bytesSent += bytes.length;
    return this.write(bytes);
  }

  private write(bytes: Uint8Array): Promise<void> {
    try {
      return this.transport.write(bytes).catch(() => {
        this.counts.writeErrors++;
      });
    } catch {
      this.counts.writeErrors++;
      return Promise.resolve();
    }
  }

  private emitSafe<K extends keyof ChannelEvents>(event: K, ...args: ChannelEvents[K]): void {
    // rawListeners: 'once' wrappers remove themselves when called.
    for (const listener of this.rawListeners(event)) {
      try {
        (listener as (...a: ChannelEvents[K]) => void)(...args);
      } catch {
        this.counts.listenerErrors++;
      }
    }
  }
}

function checkOptions(o: LinkOptions): Readonly<LinkOptions> {
  const int = (name: keyof LinkOptions, min: number, max: number): void => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new WireError(
        'BAD_PARAMS',
        `link/options: expected ${name} ${min}..${max}, got ${String(v)}`,
      );
    }
  };
  int('maxPayload', 1, MAX_PAYLOAD);
  int('window', 1, MAX_WINDOW);
  int('rtoMs', 1, 3_600_000);
  int('rtoMinMs', 1, 3_600_000);
  int('rtoMaxMs', Math.max(o.rtoMs, o.rtoMinMs), 3_600_000);
  int('maxRetries', 1, 1000);
  int('maxMessageSize', 1, MAX_LINK_MESSAGE_SIZE);
  int('staleMs', 1, 3_600_000);
  int('resetIntervalMs', 1, 3_600_000);
  if (typeof o.now !== 'function') {
    throw new WireError(
      'BAD_PARAMS',
      `link/options: expected now to be a function, got ${typeof o.now}`,
    );
  }
  return Object.freeze({ ...o });
}

function sameBytes(a: Uint8Array, b: Uint8Array | undefined): boolean {
  return b !== undefined && equalBytes(a, b);
}

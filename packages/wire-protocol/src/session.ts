import { EventEmitter } from 'node:events';
import type { ChannelEvents, MessageChannel } from './channel.js';
import { type ErrorName, isWireError, WireError } from './errors.js';
import { assertKey, type RandomBytes, wipe } from './keys.js';
import { type CipherState, HandshakeState, type Role, SECRET_BUFFERS } from './noise.js';
import {
  bodyLengthProblem,
  DATA_RECORD_OVERHEAD,
  decodeRecord,
  encodeRecord,
  HANDSHAKE_MESSAGE_BYTES,
  type RecordTypeName,
  SESSION_MAX_MESSAGE_BYTES,
} from './session-record.js';

export {
  DATA_RECORD_OVERHEAD,
  HANDSHAKE_MESSAGE_BYTES,
  RECORD_TYPE,
  SESSION_MAX_MESSAGE_BYTES,
} from './session-record.js';

/**
 * Layer 3: a Noise KK secure session over a MessageChannel (the link), one record per lower
 * message (`session-record.ts`). The coordinator is the initiator: it handshakes whenever the
 * lower channel comes up and retries with backoff. The device is the responder: it answers every
 * HANDSHAKE_INIT and drops any older session. A DATA record that fails authentication ends the
 * session (keys wiped, 'down' with SESSION_BROKEN). A responder that lost its session tells the
 * initiator with an unauthenticated, empty REHANDSHAKE hint (right after the break, then at most
 * once per `rehandshakeHintIntervalMs` while DATA arrives); an up initiator then re-handshakes
 * after its backoff. PROTOCOL.md §3.9 explains why a forged hint costs no more than a forged record.
 */

/** Fixed prologue, UTF-8. Options may append bytes (for example a network name). */
export const SESSION_PROLOGUE = 'keyline-wire/1';

export const SESSION_DEFAULTS = Object.freeze({
  /** An initiator that has no HANDSHAKE_RESP after this long tries again. */
  handshakeTimeoutMs: 5000,
  /** The first retry delay. It doubles after each failed or timed-out attempt... */
  retryBackoffMs: 500,
  /** ...up to this cap. A successful handshake resets it. */
  maxRetryBackoffMs: 30_000,
  /**
   * A responder with no session sends at most one REHANDSHAKE per this interval, however much
   * DATA arrives, so a flood of DATA cannot make it flood the line.
   */
  rehandshakeHintIntervalMs: 1000,
});

export interface SecureSessionOptions {
  role: Role;
  staticPrivateKey: Uint8Array;
  /** The peer's static public key, pinned at enrollment. */
  remoteStaticPublicKey: Uint8Array;
  /** Appended to SESSION_PROLOGUE. Both ends must pass the same bytes. */
  prologue?: Uint8Array;
  handshakeTimeoutMs?: number;
  retryBackoffMs?: number;
  maxRetryBackoffMs?: number;
  rehandshakeHintIntervalMs?: number;
  /** Source of ephemeral keys. Tests inject a deterministic one. */
  randomBytes?: RandomBytes;
}

export interface SessionStats {
  /** Handshakes completed. */
  handshakes: number;
  /** Handshake messages refused (bad length, bad tag, wrong static key, wrong direction). */
  handshakeFailures: number;
  /** Initiator attempts that got no answer within handshakeTimeoutMs. */
  handshakeTimeouts: number;
  /** DATA records delivered up. */
  recordsIn: number;
  /** DATA records handed down. */
  recordsOut: number;
  /** Sessions ended because a record failed authentication or was malformed. */
  broken: number;
  /** DATA (or stale HANDSHAKE_RESP) records that arrived when no session could take them. */
  droppedWithoutSession: number;
  /** REHANDSHAKE hints sent (responder only). */
  rehandshakeSent: number;
  /** Well-formed REHANDSHAKE hints received, acted on or not. */
  rehandshakeReceived: number;
  /** Of those, the ones not acted on: every one at a responder, and at an initiator not up. */
  rehandshakeIgnored: number;
}

type State = 'offline' | 'handshaking' | 'up' | 'closed';

interface Pending {
  resolve(): void;
  reject(error: WireError): void;
}

interface Transport {
  send: CipherState;
  receive: CipherState;
}

/** Options after validation, with private copies of the keys. */
interface Settings {
  readonly role: Role;
  readonly staticPrivateKey: Uint8Array;
  readonly remoteStaticPublicKey: Uint8Array;
  readonly prologue: Uint8Array;
  readonly handshakeTimeoutMs: number;
  readonly retryBackoffMs: number;
  readonly maxRetryBackoffMs: number;
  readonly rehandshakeHintIntervalMs: number;
  readonly randomBytes: RandomBytes | undefined;
  readonly maxMessageSize: number;
}

const EMPTY = new Uint8Array(0);

function paramsError(message: string): WireError {
  return new WireError('BAD_PARAMS', `session/new: ${message}`);
}

function handshakeError(message: string): WireError {
  return new WireError('HANDSHAKE_FAILED', `session/handshake: ${message}`);
}

function asWireError(e: unknown, place: string): WireError {
  return isWireError(e)
    ? e
    : new WireError('INTERNAL', `${place}: unexpected failure`, { cause: e });
}

function positiveInteger(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw paramsError(`expected ${name} a positive integer, got ${String(value)}`);
  }
  return value;
}

function parseOptions(lower: MessageChannel, options: SecureSessionOptions): Settings {
  if (typeof lower !== 'object' || lower === null || typeof lower.send !== 'function') {
    throw paramsError(`expected a lower MessageChannel, got ${String(lower)}`);
  }
  if (typeof options !== 'object' || options === null) {
    throw paramsError(`expected an options object, got ${String(options)}`);
  }
  const { role, prologue = EMPTY, randomBytes } = options;
  if (role !== 'initiator' && role !== 'responder') {
    throw paramsError(`expected role 'initiator' or 'responder', got ${String(role)}`);
  }
  assertKey(options.staticPrivateKey, 'session/new', 'staticPrivateKey');
  assertKey(options.remoteStaticPublicKey, 'session/new', 'remoteStaticPublicKey');
  if (!(prologue instanceof Uint8Array)) {
    throw paramsError(`expected prologue as a Uint8Array, got ${typeof prologue}`);
  }
  if (randomBytes !== undefined && typeof randomBytes !== 'function') {
    throw paramsError(`expected randomBytes as a function, got ${typeof randomBytes}`);
  }
  const ms = (name: keyof typeof SESSION_DEFAULTS): number =>
    positiveInteger(options[name], SESSION_DEFAULTS[name], name);
  const timeout = ms('handshakeTimeoutMs');
  const backoff = ms('retryBackoffMs');
  const cap = ms('maxRetryBackoffMs');
  if (cap < backoff) {
    throw paramsError(`expected maxRetryBackoffMs >= retryBackoffMs (${backoff}), got ${cap}`);
  }
  const hintInterval = ms('rehandshakeHintIntervalMs');
  const lowerMax = lower.maxMessageSize;
  if (!Number.isSafeInteger(lowerMax) || lowerMax < 1 + HANDSHAKE_MESSAGE_BYTES) {
    throw paramsError(
      `expected a lower channel carrying ${1 + HANDSHAKE_MESSAGE_BYTES}-byte messages, got a limit of ${String(lowerMax)}`,
    );
  }
  const fixed = new TextEncoder().encode(SESSION_PROLOGUE);
  const fullPrologue = new Uint8Array(fixed.length + prologue.length);
  fullPrologue.set(fixed);
  fullPrologue.set(prologue, fixed.length);
  return Object.freeze({
    role,
    staticPrivateKey: options.staticPrivateKey.slice(),
    remoteStaticPublicKey: options.remoteStaticPublicKey.slice(),
    prologue: fullPrologue,
    handshakeTimeoutMs: timeout,
    retryBackoffMs: backoff,
    maxRetryBackoffMs: cap,
    rehandshakeHintIntervalMs: hintInterval,
    randomBytes,
    maxMessageSize: Math.min(SESSION_MAX_MESSAGE_BYTES, lowerMax - DATA_RECORD_OVERHEAD),
  });
}

export class SecureSession extends EventEmitter<ChannelEvents> implements MessageChannel {
  readonly maxMessageSize: number;
  readonly role: Role;

  readonly #lower: MessageChannel;
  readonly #settings: Settings;
  readonly #stats: SessionStats = {
    handshakes: 0,
    handshakeFailures: 0,
    handshakeTimeouts: 0,
    recordsIn: 0,
    recordsOut: 0,
    broken: 0,
    droppedWithoutSession: 0,
    rehandshakeSent: 0,
    rehandshakeReceived: 0,
    rehandshakeIgnored: 0,
  };
  readonly #pending = new Set<Pending>();
  readonly #onUp = (): void => this.#lowerUp();
  readonly #onDown = (error: WireError): void => this.#lowerDown(error);
  readonly #onMessage = (message: Uint8Array): void => this.#receive(message);

  #state: State = 'offline';
  #handshake: HandshakeState | undefined;
  #transport: Transport | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #backoffMs: number;
  /** Set while the responder must not send another DATA-triggered REHANDSHAKE. */
  #hintQuietTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(lower: MessageChannel, options: SecureSessionOptions) {
    super();
    this.#settings = parseOptions(lower, options);
    this.#lower = lower;
    this.role = this.#settings.role;
    this.maxMessageSize = this.#settings.maxMessageSize;
    this.#backoffMs = this.#settings.retryBackoffMs;
    lower.on('up', this.#onUp);
    lower.on('down', this.#onDown);
    lower.on('message', this.#onMessage);
    if (lower.isUp) this.#lowerUp();
  }

  get isUp(): boolean {
    return this.#state === 'up';
  }

  /** A snapshot of the counters. */
  get stats(): Readonly<SessionStats> {
    return Object.freeze({ ...this.#stats });
  }

  /**
   * Encrypts and sends one message. The record is encrypted at call time, so records go down in
   * call order. The promise settles when the lower channel has accepted the record, or when the
   * session goes down first (SESSION_CLOSED, SESSION_BROKEN, HANDSHAKE_FAILED).
   */
  send(message: Uint8Array): Promise<void> {
    const place = 'session/send';
    const refuse = (code: ErrorName, text: string): Promise<never> =>
      Promise.reject(new WireError(code, `${place}: ${text}`));
    const transport = this.#transport;
    if (this.#state === 'closed') {
      return refuse('SESSION_CLOSED', 'expected an open session, got a closed one');
    }
    if (!(message instanceof Uint8Array)) {
      return refuse('BAD_PARAMS', `expected a Uint8Array, got ${typeof message}`);
    }
    if (message.length > this.maxMessageSize) {
      const text = `expected at most ${this.maxMessageSize} bytes, got ${message.length}`;
      return refuse('MESSAGE_TOO_LARGE', text);
    }
    if (this.#state !== 'up' || transport === undefined) {
      return refuse('SESSION_CLOSED', `expected a session that is up, got ${this.#state}`);
    }
    let ciphertext: Uint8Array;
    try {
      ciphertext = transport.send.encryptWithAd(EMPTY, message);
    } catch (e) {
      const error = asWireError(e, place);
      this.#break(error);
      return Promise.reject(error);
    }
    this.#stats.recordsOut += 1;
    const sent = this.#lowerSend(encodeRecord('DATA', ciphertext));
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = { resolve, reject };
      this.#pending.add(pending);
      sent.then(
        () => this.#pending.delete(pending) && resolve(),
        (cause: unknown) => this.#pending.delete(pending) && reject(asWireError(cause, place)),
      );
    });
  }

  /** Ends the session for good: wipes every key, rejects pending sends, ignores the lower channel. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const error = new WireError('SESSION_CLOSED', 'session/close: the session was closed');
    const wasUp = this.#state === 'up';
    this.#state = 'closed';
    this.#lower.off('up', this.#onUp);
    this.#lower.off('down', this.#onDown);
    this.#lower.off('message', this.#onMessage);
    this.#dropSession(error);
    if (this.#hintQuietTimer !== undefined) clearTimeout(this.#hintQuietTimer);
    this.#hintQuietTimer = undefined;
    wipe(this.#settings.staticPrivateKey);
    if (wasUp) this.emit('down', error);
  }

  /** Test-only: references to every live secret buffer, to check that they get wiped. */
  [SECRET_BUFFERS](): Uint8Array[] {
    const out = [this.#settings.staticPrivateKey];
    if (this.#handshake !== undefined) out.push(...this.#handshake[SECRET_BUFFERS]());
    const t = this.#transport;
    if (t !== undefined) out.push(...t.send[SECRET_BUFFERS](), ...t.receive[SECRET_BUFFERS]());
    return out;
  }

  // --- lifecycle -------------------------------------------------------------------------

  #lowerUp(): void {
    if (this.#state === 'closed') return;
    const wasUp = this.#state === 'up';
    const error = new WireError(
      'SESSION_CLOSED',
      'session: the lower channel came up again; the old session is void',
    );
    this.#dropSession(error);
    this.#state = 'handshaking';
    this.#backoffMs = this.#settings.retryBackoffMs;
    if (wasUp) this.emit('down', error);
    if (this.role === 'initiator' && this.#state === 'handshaking') this.#startHandshake();
  }

  #lowerDown(cause: WireError): void {
    if (this.#state === 'closed') return;
    const wasUp = this.#state === 'up';
    const reason = isWireError(cause) ? cause.message : 'no reason given';
    const error = new WireError(
      'SESSION_CLOSED',
      `session: the lower channel went down (${reason})`,
      { cause },
    );
    this.#dropSession(error);
    this.#state = 'offline';
    if (wasUp) this.emit('down', error);
  }

  /** Wipes the handshake and the transport keys, stops the timer, rejects pending sends. */
  #dropSession(error: WireError): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#handshake?.destroy();
    this.#handshake = undefined;
    this.#transport?.send.destroy();
    this.#transport?.receive.destroy();
    this.#transport = undefined;
    if (this.#state === 'up') this.#state = this.#lower.isUp ? 'handshaking' : 'offline';
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
  }

  /** lower.send, with a synchronous throw turned into a rejection. */
  #lowerSend(bytes: Uint8Array): Promise<void> {
    try {
      return this.#lower.send(bytes);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  // --- handshake -------------------------------------------------------------------------

  #newHandshake(): HandshakeState {
    const s = this.#settings;
    return new HandshakeState({
      role: s.role,
      prologue: s.prologue,
      staticPrivateKey: s.staticPrivateKey,
      remoteStaticPublicKey: s.remoteStaticPublicKey,
      ...(s.randomBytes === undefined ? {} : { randomBytes: s.randomBytes }),
    });
  }

  /** Initiator: a fresh ephemeral, HANDSHAKE_INIT down, and a timeout for the answer. */
  #startHandshake(): void {
    this.#timer = undefined;
    this.#handshake?.destroy();
    let message: Uint8Array;
    try {
      this.#handshake = this.#newHandshake();
      message = this.#handshake.writeMessage(EMPTY);
    } catch (e) {
      this.#handshakeFailed(asWireError(e, 'session/handshake'));
      return;
    }
    // A lost INIT shows up as a timeout, a lost link as 'down': the promise needs no handler.
    this.#lowerSend(encodeRecord('HANDSHAKE_INIT', message)).catch(() => {});
    this.#timer = setTimeout(() => this.#handshakeTimedOut(), this.#settings.handshakeTimeoutMs);
  }

  #handshakeTimedOut(): void {
    this.#timer = undefined;
    this.#stats.handshakeTimeouts += 1;
    this.#handshake?.destroy();
    this.#handshake = undefined;
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.role !== 'initiator' || this.#state !== 'handshaking' || this.#timer !== undefined) {
      return;
    }
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#settings.maxRetryBackoffMs);
    this.#timer = setTimeout(() => this.#startHandshake(), delay);
  }

  /**
   * Refuses a handshake message: count, drop any session, report, and (initiator) retry later.
   * A responder that lost an up session this way tells the initiator with a REHANDSHAKE hint.
   */
  #handshakeFailed(error: WireError): void {
    const wasUp = this.#state === 'up';
    this.#stats.handshakeFailures += 1;
    this.#dropSession(error);
    if (wasUp && this.role === 'responder') this.#sendHint();
    this.emit('down', error);
    this.#scheduleRetry();
  }

  /** Responder: a valid INIT replaces whatever session there was. */
  #onInit(body: Uint8Array): void {
    if (this.role === 'initiator') {
      this.#handshakeFailed(
        handshakeError(
          'expected no HANDSHAKE_INIT at the initiator, got one (is the peer also an initiator?)',
        ),
      );
      return;
    }
    const problem = bodyLengthProblem('HANDSHAKE_INIT', body.length);
    if (problem !== undefined) {
      this.#handshakeFailed(handshakeError(problem));
      return;
    }
    const handshake = this.#newHandshake();
    let answer: Uint8Array;
    let transport: Transport;
    try {
      handshake.readMessage(body);
      answer = handshake.writeMessage(EMPTY);
      transport = handshake.takeTransport();
    } catch (e) {
      handshake.destroy();
      this.#handshakeFailed(asWireError(e, 'session/handshake'));
      return;
    }
    const wasUp = this.#state === 'up';
    const replaced = new WireError(
      'SESSION_CLOSED',
      'session/handshake: the peer started a new handshake; the old session is void',
    );
    this.#dropSession(replaced);
    if (wasUp) this.emit('down', replaced);
    if (this.#state === 'closed') {
      transport.send.destroy();
      transport.receive.destroy();
      return;
    }
    // RESP goes down before 'up' fires, so DATA sent by an 'up' listener follows it on the link.
    this.#lowerSend(encodeRecord('HANDSHAKE_RESP', answer)).catch(() => {});
    this.#established(transport);
  }

  /** Initiator: the answer to the INIT in flight completes the handshake. */
  #onResp(body: Uint8Array): void {
    if (this.role === 'responder') {
      this.#handshakeFailed(
        handshakeError(
          'expected no HANDSHAKE_RESP at the responder, got one (is the peer also a responder?)',
        ),
      );
      return;
    }
    const handshake = this.#handshake;
    if (handshake === undefined) {
      // No INIT in flight: an answer to an attempt that already timed out or succeeded.
      this.#stats.droppedWithoutSession += 1;
      return;
    }
    const problem = bodyLengthProblem('HANDSHAKE_RESP', body.length);
    if (problem !== undefined) {
      this.#handshakeFailed(handshakeError(problem));
      return;
    }
    let transport: Transport;
    try {
      handshake.readMessage(body);
      transport = handshake.takeTransport();
    } catch (e) {
      this.#handshakeFailed(asWireError(e, 'session/handshake'));
      return;
    }
    this.#handshake = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#established(transport);
  }

  #established(transport: Transport): void {
    this.#transport = transport;
    this.#state = 'up';
    this.#stats.handshakes += 1;
    this.#backoffMs = this.#settings.retryBackoffMs;
    this.emit('up');
  }

  // --- records ---------------------------------------------------------------------------

  #receive(message: Uint8Array): void {
    if (this.#state === 'closed' || this.#state === 'offline') return;
    let type: RecordTypeName;
    let body: Uint8Array;
    try {
      ({ type, body } = decodeRecord(message));
    } catch (e) {
      this.#malformed(asWireError(e, 'session/receive'));
      return;
    }
    if (type === 'HANDSHAKE_INIT') this.#onInit(body);
    else if (type === 'HANDSHAKE_RESP') this.#onResp(body);
    else if (type === 'DATA') this.#onData(body);
    else this.#onRehandshake(body);
  }

  #onData(body: Uint8Array): void {
    const transport = this.#transport;
    if (this.#state !== 'up' || transport === undefined) {
      this.#stats.droppedWithoutSession += 1;
      if (this.role === 'responder' && this.#hintQuietTimer === undefined) this.#sendHint();
      return;
    }
    const problem = bodyLengthProblem('DATA', body.length);
    if (problem !== undefined) {
      this.#malformed(new WireError('SESSION_BROKEN', `session/receive: ${problem}`));
      return;
    }
    let plaintext: Uint8Array;
    try {
      plaintext = transport.receive.decryptWithAd(EMPTY, body);
    } catch (cause) {
      const text =
        'session/receive: expected a DATA record that authenticates under the next nonce, got one ' +
        'that does not (tampered, truncated, replayed or reordered)';
      this.#break(new WireError('SESSION_BROKEN', text, { cause }));
      return;
    }
    this.#stats.recordsIn += 1;
    this.emit('message', plaintext);
  }

  /**
   * REHANDSHAKE: a hint that the responder holds no session. A responder ignores it. An
   * initiator acts on it only while up (a handshake in flight or waiting for its backoff already
   * does what the hint asks): it drops the session and re-handshakes after the backoff.
   */
  #onRehandshake(body: Uint8Array): void {
    const problem = bodyLengthProblem('REHANDSHAKE', body.length);
    if (problem !== undefined) {
      this.#malformed(new WireError('SESSION_BROKEN', `session/receive: ${problem}`));
      return;
    }
    this.#stats.rehandshakeReceived += 1;
    if (this.role === 'responder' || this.#state !== 'up') {
      this.#stats.rehandshakeIgnored += 1;
      return;
    }
    const text =
      'session/receive: expected the responder to hold this session, got a REHANDSHAKE hint ' +
      'saying it has none; starting a new handshake';
    this.#endSession(new WireError('SESSION_BROKEN', text));
  }

  /** Responder: sends REHANDSHAKE and starts a quiet period for DATA-triggered hints. */
  #sendHint(): void {
    if (this.#state === 'closed') return;
    if (this.#hintQuietTimer !== undefined) clearTimeout(this.#hintQuietTimer);
    this.#hintQuietTimer = setTimeout(() => {
      this.#hintQuietTimer = undefined;
    }, this.#settings.rehandshakeHintIntervalMs);
    this.#stats.rehandshakeSent += 1;
    // A lost hint is covered by the next DATA after the quiet period: no handler needed.
    this.#lowerSend(encodeRecord('REHANDSHAKE', EMPTY)).catch(() => {});
  }

  /** A record that is not a record: while up it breaks the session, otherwise it is dropped. */
  #malformed(error: WireError): void {
    if (this.#state === 'up') this.#break(error);
    else this.#stats.droppedWithoutSession += 1;
  }

  /** Ends the session after a bad record. */
  #break(error: WireError): void {
    if (this.#state !== 'up') return;
    this.#stats.broken += 1;
    this.#endSession(error);
  }

  /**
   * Ends an up session: keys wiped, pending sends rejected, 'down'. The responder sends a
   * REHANDSHAKE hint before 'down' fires; the initiator re-handshakes after the backoff.
   */
  #endSession(error: WireError): void {
    this.#dropSession(error);
    if (this.role === 'responder') this.#sendHint();
    this.emit('down', error);
    this.#scheduleRetry();
  }
}

import { EventEmitter } from 'node:events';
import type { ChannelEvents, MessageChannel } from './channel.js';
import { isWireError, WireError } from './errors.js';
import { assertKey, type RandomBytes, wipe } from './keys.js';
import { type CipherState, HandshakeState, type Role, SECRET_BUFFERS, TAG_LEN } from './noise.js';

/**
 * Layer 3: a Noise KK secure session over a MessageChannel (the link). One lower-layer message
 * carries one record. The first byte gives the record type:
 *
 *   0x01 HANDSHAKE_INIT  Noise message 1 (-> e, es, ss), empty payload: 48 bytes
 *   0x02 HANDSHAKE_RESP  Noise message 2 (<- e, ee, se), empty payload: 48 bytes
 *   0x03 DATA            ChaCha20-Poly1305 ciphertext of one message + 16-byte tag. The nonce
 *                        is an implicit per-direction counter, so a replayed, reordered,
 *                        dropped-then-resumed, truncated or altered record fails authentication.
 *
 * The coordinator is the initiator. Whenever the lower channel comes up, it starts a fresh
 * handshake, and it retries with backoff on a timeout or a failure. The device is the responder.
 * It answers every HANDSHAKE_INIT and drops any older session ("rekey on reconnect"). Any DATA
 * record that fails authentication ends the session for good: the keys are wiped, 'down' fires
 * with SESSION_BROKEN, and the initiator then starts a new handshake.
 */

export const RECORD_TYPE = Object.freeze({
  HANDSHAKE_INIT: 0x01,
  HANDSHAKE_RESP: 0x02,
  DATA: 0x03,
} as const);

/** Bytes of Noise message 1 or 2 with an empty payload: ephemeral key (32) + tag (16). */
export const HANDSHAKE_MESSAGE_BYTES = 48;
/** Largest plaintext of one DATA record. */
export const SESSION_MAX_MESSAGE_BYTES = 4096;
/** Bytes a DATA record adds to its plaintext: the type byte and the tag. */
export const DATA_RECORD_OVERHEAD = 1 + TAG_LEN;
/** Fixed prologue, UTF-8. Options may append bytes (for example a network name). */
export const SESSION_PROLOGUE = 'keyline-wire/1';

export const SESSION_DEFAULTS = Object.freeze({
  /** An initiator that has no HANDSHAKE_RESP after this long tries again. */
  handshakeTimeoutMs: 5000,
  /** The first retry delay. It doubles after each failed or timed-out attempt... */
  retryBackoffMs: 500,
  /** ...up to this cap. A successful handshake resets it. */
  maxRetryBackoffMs: 30_000,
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
  const d = SESSION_DEFAULTS;
  const timeout = positiveInteger(
    options.handshakeTimeoutMs,
    d.handshakeTimeoutMs,
    'handshakeTimeoutMs',
  );
  const backoff = positiveInteger(options.retryBackoffMs, d.retryBackoffMs, 'retryBackoffMs');
  const cap = positiveInteger(options.maxRetryBackoffMs, d.maxRetryBackoffMs, 'maxRetryBackoffMs');
  if (cap < backoff) {
    throw paramsError(`expected maxRetryBackoffMs >= retryBackoffMs (${backoff}), got ${cap}`);
  }
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
    randomBytes,
    maxMessageSize: Math.min(SESSION_MAX_MESSAGE_BYTES, lowerMax - DATA_RECORD_OVERHEAD),
  });
}

function record(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length);
  out[0] = type;
  out.set(body, 1);
  return out;
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
    const transport = this.#transport;
    if (this.#state === 'closed') {
      return Promise.reject(
        new WireError('SESSION_CLOSED', `${place}: expected an open session, got a closed one`),
      );
    }
    if (!(message instanceof Uint8Array)) {
      return Promise.reject(
        new WireError('BAD_PARAMS', `${place}: expected a Uint8Array, got ${typeof message}`),
      );
    }
    if (message.length > this.maxMessageSize) {
      const text = `${place}: expected at most ${this.maxMessageSize} bytes, got ${message.length}`;
      return Promise.reject(new WireError('MESSAGE_TOO_LARGE', text));
    }
    if (this.#state !== 'up' || transport === undefined) {
      return Promise.reject(
        new WireError(
          'SESSION_CLOSED',
          `${place}: expected a session that is up, got ${this.#state}`,
        ),
      );
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
    const sent = this.#lowerSend(record(RECORD_TYPE.DATA, ciphertext));
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
    this.#lowerSend(record(RECORD_TYPE.HANDSHAKE_INIT, message)).catch(() => {});
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

  /** Refuses a handshake message: count, drop any session, report, and (initiator) retry later. */
  #handshakeFailed(error: WireError): void {
    this.#stats.handshakeFailures += 1;
    this.#dropSession(error);
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
    if (body.length !== HANDSHAKE_MESSAGE_BYTES) {
      this.#handshakeFailed(
        handshakeError(
          `expected a HANDSHAKE_INIT of ${HANDSHAKE_MESSAGE_BYTES} bytes after the type, got ${body.length}`,
        ),
      );
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
    this.#lowerSend(record(RECORD_TYPE.HANDSHAKE_RESP, answer)).catch(() => {});
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
    if (body.length !== HANDSHAKE_MESSAGE_BYTES) {
      this.#handshakeFailed(
        handshakeError(
          `expected a HANDSHAKE_RESP of ${HANDSHAKE_MESSAGE_BYTES} bytes after the type, got ${body.length}`,
        ),
      );
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
    if (!(message instanceof Uint8Array) || message.length === 0) {
      const got = message instanceof Uint8Array ? 'an empty one' : typeof message;
      this.#malformed(`session/receive: expected a record of at least 1 byte, got ${got}`);
      return;
    }
    const type = message[0] ?? 0;
    const body = message.subarray(1);
    if (type === RECORD_TYPE.HANDSHAKE_INIT) this.#onInit(body);
    else if (type === RECORD_TYPE.HANDSHAKE_RESP) this.#onResp(body);
    else if (type === RECORD_TYPE.DATA) this.#onData(body);
    else {
      const got = `0x${type.toString(16).padStart(2, '0')}`;
      this.#malformed(`session/receive: expected record type 0x01, 0x02 or 0x03, got ${got}`);
    }
  }

  #onData(body: Uint8Array): void {
    const transport = this.#transport;
    if (this.#state !== 'up' || transport === undefined) {
      this.#stats.droppedWithoutSession += 1;
      return;
    }
    const limit = SESSION_MAX_MESSAGE_BYTES + TAG_LEN;
    if (body.length > limit) {
      this.#malformed(
        `session/receive: expected a DATA record of at most ${limit} bytes after the type, got ${body.length}`,
      );
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

  /** A record that is not a record: while up it breaks the session, otherwise it is dropped. */
  #malformed(message: string): void {
    if (this.#state === 'up') this.#break(new WireError('SESSION_BROKEN', message));
    else this.#stats.droppedWithoutSession += 1;
  }

  /** Ends the session after a bad record. The initiator re-handshakes after the backoff. */
  #break(error: WireError): void {
    if (this.#state !== 'up') return;
    this.#stats.broken += 1;
    this.#dropSession(error);
    this.emit('down', error);
    this.#scheduleRetry();
  }
}

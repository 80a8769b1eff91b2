/**
 * The device side of the RPC layer: reassembles requests from a MessageChannel, checks them, runs
 * one handler at a time in arrival order, and answers every request exactly once per session.
 *
 * It never throws at its caller and never crashes on input: every failure becomes an error reply
 * (id 0 when the request cannot be attributed) and a counter in `stats`.
 */
import type { MessageChannel } from './channel.js';
import { type ErrorName, isWireError, WireError } from './errors.js';
import {
  isMethodName,
  METHOD_NAMES,
  METHODS,
  type MethodName,
  type MethodParams,
  type MethodResultInput,
} from './methods.js';
import {
  ChunkAssembler,
  checkErrorData,
  DEFAULT_MAX_ENVELOPE_BYTES,
  decodeEnvelope,
  EnvelopeSender,
  encodeEnvelope,
  makeErrorReply,
  type ReplyEnvelope,
  requestEnvelope,
  UNATTRIBUTED_ID,
} from './rpc-envelope.js';
import { reportIssues } from './schemas.js';

export interface RpcContext {
  /** The request id (unique and increasing within the session). */
  readonly id: number;
  readonly method: MethodName;
  /** Counts sessions of this server: changes on every 'up' and 'down'. */
  readonly session: number;
}

export type RpcHandler<M extends MethodName> = (
  params: MethodParams<M>,
  ctx: RpcContext,
) => Promise<MethodResultInput<M>>;

/** One async function per method. The result is checked against the method's result schema. */
export type RpcHandlers = { readonly [M in MethodName]: RpcHandler<M> };

export interface RpcServerOptions {
  /** Largest request envelope reassembled, and largest reply sent. */
  maxEnvelopeBytes: number;
  /** Checked requests waiting behind the running one; beyond this the server answers BUSY. */
  maxQueuedRequests: number;
}

export const DEFAULT_RPC_SERVER_OPTIONS: Readonly<RpcServerOptions> = Object.freeze({
  maxEnvelopeBytes: DEFAULT_MAX_ENVELOPE_BYTES,
  maxQueuedRequests: 4,
});

export interface RpcServerStats {
  /** Channel messages (chunks) received. */
  chunks: number;
  /** Envelopes reassembled. */
  envelopes: number;
  /** Requests that passed every check and were queued for a handler. */
  accepted: number;
  /** Handlers that ran to completion with a valid result. */
  succeeded: number;
  /** Error replies sent or attempted, by code. */
  errors: Partial<Record<ErrorName, number>>;
  /** Replies the channel failed to take. */
  sendFailures: number;
  /** Replies dropped because their session ended while the handler ran. */
  staleReplies: number;
  /** Queued requests dropped because their session ended before they ran. */
  droppedRequests: number;
  /** Error data dropped because it did not match its code's schema or could not be encoded. */
  droppedErrorData: number;
  /** 'up' events seen. */
  sessions: number;
}

interface QueuedRequest {
  readonly id: number;
  readonly method: MethodName;
  readonly params: unknown;
  readonly session: number;
}

const PLACE = 'rpc/server';

function checkOption(name: string, n: number, min: number): void {
  if (!Number.isSafeInteger(n) || n < min) {
    throw new WireError(
      'INTERNAL',
      `${PLACE}: expected options.${name} an integer >= ${min}, got ${String(n)}`,
    );
  }
}

export class RpcServer {
  private readonly options: RpcServerOptions;
  private readonly assembler: ChunkAssembler;
  private readonly sender: EnvelopeSender;
  private readonly queue: QueuedRequest[] = [];
  private running = false;
  private closed = false;
  private session = 0;
  private lastId = 0;
  private readonly counters: RpcServerStats = {
    chunks: 0,
    envelopes: 0,
    accepted: 0,
    succeeded: 0,
    errors: {},
    sendFailures: 0,
    staleReplies: 0,
    droppedRequests: 0,
    droppedErrorData: 0,
    sessions: 0,
  };

  private readonly onUp = (): void => {
    this.counters.sessions += 1;
    this.newSession();
  };
  private readonly onDown = (): void => this.newSession();
  private readonly onMessage = (message: Uint8Array): void => {
    try {
      this.receive(message);
    } catch {
      // Unreachable by design; kept so that no input can throw into the channel's emitter.
      this.sendError(UNATTRIBUTED_ID, 'INTERNAL', `${PLACE}: unexpected failure`);
    }
  };

  constructor(
    private readonly channel: MessageChannel,
    private readonly handlers: RpcHandlers,
    options?: Partial<RpcServerOptions>,
  ) {
    this.options = { ...DEFAULT_RPC_SERVER_OPTIONS, ...options };
    checkOption('maxEnvelopeBytes', this.options.maxEnvelopeBytes, 1);
    checkOption('maxQueuedRequests', this.options.maxQueuedRequests, 0);
    if (typeof handlers !== 'object' || handlers === null) {
      throw new WireError(
        'INTERNAL',
        `${PLACE}: expected a handlers object, got ${typeof handlers}`,
      );
    }
    for (const name of METHOD_NAMES) {
      const h: unknown = handlers[name];
      if (typeof h !== 'function') {
        throw new WireError(
          'INTERNAL',
          `${PLACE}: expected a handler function for ${name}, got ${typeof h}`,
        );
      }
    }
    this.assembler = new ChunkAssembler(this.options.maxEnvelopeBytes);
    this.sender = new EnvelopeSender(channel);
    channel.on('up', this.onUp);
    channel.on('down', this.onDown);
    channel.on('message', this.onMessage);
  }

  /** A snapshot of the counters. */
  get stats(): RpcServerStats {
    return { ...this.counters, errors: { ...this.counters.errors } };
  }

  /** Stop serving: detach from the channel, drop queued requests. Does not close the channel. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel.off('up', this.onUp);
    this.channel.off('down', this.onDown);
    this.channel.off('message', this.onMessage);
    this.newSession();
  }

  private newSession(): void {
    this.session += 1;
    this.lastId = 0;
    this.assembler.reset();
    this.sender.reset();
    this.counters.droppedRequests += this.queue.length;
    this.queue.length = 0;
  }

  private receive(message: Uint8Array): void {
    this.counters.chunks += 1;
    const assembled = this.assembler.push(message);
    if (assembled.kind === 'pending') return;
    if (assembled.kind === 'error') {
      this.sendError(UNATTRIBUTED_ID, assembled.error.code, assembled.error.message);
      return;
    }
    this.counters.envelopes += 1;
    this.accept(assembled.bytes);
  }

  /** Check one envelope; queue it for its handler, or answer its error now. */
  private accept(bytes: Uint8Array): void {
    let value: unknown;
    try {
      value = decodeEnvelope(`${PLACE}/decode`, bytes, this.options.maxEnvelopeBytes);
    } catch (e) {
      const code = isWireError(e) && e.kind === 'malformed' ? e.code : 'BAD_CBOR';
      const message = isWireError(e) ? e.message : `${PLACE}: expected strict CBOR`;
      this.sendError(UNATTRIBUTED_ID, code, message);
      return;
    }
    const envelope = requestEnvelope.safeParse(value);
    if (!envelope.success) {
      this.sendError(
        UNATTRIBUTED_ID,
        'BAD_ENVELOPE',
        `${PLACE}: expected a request {id, method, params}`,
        reportIssues(envelope.error),
      );
      return;
    }
    const { id, method, params } = envelope.data;
    if (id <= this.lastId) {
      this.sendError(
        id,
        'DUPLICATE_ID',
        `${PLACE}: expected an id above ${this.lastId}, got ${id}`,
      );
      return;
    }
    this.lastId = id;
    if (!isMethodName(method)) {
      this.sendError(id, 'UNKNOWN_METHOD', `${PLACE}: expected a method of the table`);
      return;
    }
    const parsed = METHODS[method].params.safeParse(params);
    if (!parsed.success) {
      this.sendError(
        id,
        'BAD_PARAMS',
        `${PLACE}/${method}: expected params matching the schema`,
        reportIssues(parsed.error),
      );
      return;
    }
    if (this.queue.length >= this.options.maxQueuedRequests && this.running) {
      this.sendError(
        id,
        'BUSY',
        `${PLACE}: expected at most ${this.options.maxQueuedRequests} queued requests`,
      );
      return;
    }
    this.counters.accepted += 1;
    this.queue.push({ id, method, params: parsed.data, session: this.session });
    void this.pump();
  }

  /** Run queued requests one at a time, in arrival order. */
  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        try {
          await this.run(next);
        } catch {
          // run() answers every failure itself; this only keeps a bug from becoming a crash.
          if (next.session === this.session) {
            this.sendError(
              next.id,
              'INTERNAL',
              `${PLACE}: the device failed to handle the request`,
            );
          }
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async run(request: QueuedRequest): Promise<void> {
    const { id, method, session } = request;
    let result: unknown;
    try {
      // The params were parsed by this method's own schema in accept().
      const handler = this.handlers[method] as (p: unknown, c: RpcContext) => Promise<unknown>;
      result = await handler.call(this.handlers, request.params, { id, method, session });
    } catch (e) {
      if (session !== this.session) {
        this.counters.staleReplies += 1;
        return;
      }
      if (isWireError(e) && e.kind !== 'link') {
        this.sendError(id, e.code, e.message, e.data);
      } else {
        this.sendError(
          id,
          'INTERNAL',
          `${PLACE}/${method}: the device failed to handle the request`,
        );
      }
      return;
    }
    if (session !== this.session) {
      this.counters.staleReplies += 1;
      return;
    }
    const checked = METHODS[method].result.safeParse(result);
    if (!checked.success) {
      this.sendError(id, 'INTERNAL', `${PLACE}/${method}: the device produced an invalid result`);
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeEnvelope(
        `${PLACE}/${method}`,
        { id, result: checked.data },
        this.options.maxEnvelopeBytes,
      );
    } catch (e) {
      if (isWireError(e, 'MESSAGE_TOO_LARGE')) {
        this.sendError(
          id,
          'MESSAGE_TOO_LARGE',
          `${PLACE}/${method}: the result exceeds the envelope limit`,
        );
      } else {
        this.sendError(id, 'INTERNAL', `${PLACE}/${method}: the device produced an invalid result`);
      }
      return;
    }
    this.counters.succeeded += 1;
    this.transmit(bytes);
  }

  /**
   * Send an error reply. Data that does not fit its code's schema, cannot be encoded or makes
   * the reply too large is dropped; the code and message still go out.
   */
  private sendError(id: number, code: ErrorName, message: string, data?: unknown): void {
    this.counters.errors[code] = (this.counters.errors[code] ?? 0) + 1;
    const checked = checkErrorData(code, data);
    if (checked === undefined && data !== undefined) this.counters.droppedErrorData += 1;
    // Most informative first; the last one is constant and always encodes.
    const attempts: ReplyEnvelope[] = [
      makeErrorReply(id, code, message, checked),
      makeErrorReply(id, code, message),
      makeErrorReply(id, 'INTERNAL', `${PLACE}: the error reply could not be encoded`),
    ];
    for (const [i, reply] of attempts.entries()) {
      if (i === 1 && checked === undefined) continue;
      let bytes: Uint8Array;
      try {
        bytes = encodeEnvelope(`${PLACE}/reply`, reply, this.options.maxEnvelopeBytes);
      } catch {
        if (i === 0 && checked !== undefined) this.counters.droppedErrorData += 1;
        continue;
      }
      this.transmit(bytes);
      return;
    }
    this.counters.sendFailures += 1;
  }

  private transmit(bytes: Uint8Array): void {
    this.sender.send(bytes).catch(() => {
      this.counters.sendFailures += 1;
    });
  }
}

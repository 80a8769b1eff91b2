/**
 * The coordinator side of the RPC layer: typed calls over a MessageChannel.
 *
 * Params are checked locally before anything is sent; results are checked against the method's
 * result schema before the caller sees them. Ids come from one counter for the life of the client,
 * so a late reply from an old session can never be taken for a newer call.
 */
import type { MessageChannel } from './channel.js';
import { ERROR_CODES, type ErrorName, errorNameOf, isWireError, WireError } from './errors.js';
import {
  isMethodName,
  METHODS,
  type MethodName,
  type MethodParamsInput,
  type MethodResult,
} from './methods.js';
import {
  ChunkAssembler,
  checkErrorData,
  DEFAULT_MAX_ENVELOPE_BYTES,
  decodeEnvelope,
  ENVELOPE_BYTES_CEILING,
  EnvelopeSender,
  encodeEnvelope,
  replyEnvelope,
  UNATTRIBUTED_ID,
} from './rpc-envelope.js';
import { reportIssues } from './schemas.js';

export interface RpcClientOptions {
  /** Time from `call` to its reply, including any wait for the channel to come up. */
  defaultTimeoutMs: number;
  /** Largest request envelope sent, and largest reply reassembled. */
  maxEnvelopeBytes: number;
}

export const DEFAULT_RPC_CLIENT_OPTIONS: Readonly<RpcClientOptions> = Object.freeze({
  defaultTimeoutMs: 30_000,
  maxEnvelopeBytes: DEFAULT_MAX_ENVELOPE_BYTES,
});

/** Longest timer Node accepts (2^31-1 ms, about 24.8 days). */
export const MAX_TIMEOUT_MS = 0x7fff_ffff;

export interface CallOptions {
  timeoutMs?: number;
}

export interface RpcClientStats {
  /** Requests handed to the channel. */
  sent: number;
  /** Replies matched to a pending call (result or error). */
  answered: number;
  timeouts: number;
  /** Calls rejected because their session ended or the client closed. */
  sessionClosed: number;
  /** Replies whose id matched no pending call (late, after a timeout, or foreign). */
  unknownIdReplies: number;
  /** Replies with id 0: the device could not attribute one of our requests. */
  unattributedReplies: number;
  /** Replies that were bad chunks, too large, not strict CBOR or not a reply envelope. */
  badReplies: number;
}

interface PendingCall {
  readonly id: number;
  readonly method: MethodName;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: WireError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  /** The encoded request until it is handed to the sender. */
  bytes: Uint8Array | undefined;
}

const PLACE = 'rpc/client';

/** A caller's integer argument; `code` is INTERNAL for construction options, BAD_PARAMS per call. */
function checkInteger(
  code: ErrorName,
  place: string,
  name: string,
  value: unknown,
  min: number,
  max: number,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new WireError(
      code,
      `${place}: expected ${name} an integer in ${min}..${max}, got ${String(value)}`,
    );
  }
  return value;
}

export class RpcClient {
  private readonly options: RpcClientOptions;
  private readonly assembler: ChunkAssembler;
  private readonly sender: EnvelopeSender;
  private readonly pending = new Map<number, PendingCall>();
  private nextId = 1;
  private closed = false;
  private readonly counters: RpcClientStats = {
    sent: 0,
    answered: 0,
    timeouts: 0,
    sessionClosed: 0,
    unknownIdReplies: 0,
    unattributedReplies: 0,
    badReplies: 0,
  };

  private readonly onUp = (): void => this.sessionUp();
  private readonly onDown = (error: WireError): void => this.sessionDown(error);
  private readonly onMessage = (message: Uint8Array): void => this.receive(message);

  constructor(
    private readonly channel: MessageChannel,
    options?: Partial<RpcClientOptions>,
  ) {
    this.options = { ...DEFAULT_RPC_CLIENT_OPTIONS, ...options };
    checkInteger(
      'INTERNAL',
      `${PLACE}/options`,
      'defaultTimeoutMs',
      this.options.defaultTimeoutMs,
      1,
      MAX_TIMEOUT_MS,
    );
    checkInteger(
      'INTERNAL',
      `${PLACE}/options`,
      'maxEnvelopeBytes',
      this.options.maxEnvelopeBytes,
      1,
      ENVELOPE_BYTES_CEILING,
    );
    this.assembler = new ChunkAssembler(this.options.maxEnvelopeBytes);
    this.sender = new EnvelopeSender(channel);
    channel.on('up', this.onUp);
    channel.on('down', this.onDown);
    channel.on('message', this.onMessage);
  }

  /** A snapshot of the counters. */
  get stats(): RpcClientStats {
    return { ...this.counters };
  }

  /** Calls sent or waiting for the channel, not yet answered. */
  get pendingCalls(): number {
    return this.pending.size;
  }

  /**
   * Call `method` on the device. Rejects with a WireError: BAD_PARAMS / UNKNOWN_METHOD /
   * MESSAGE_TOO_LARGE (local, nothing sent), TIMEOUT, SESSION_CLOSED, BAD_RESULT, or the code the
   * device answered (REMOTE_ERROR for a code this version does not know).
   */
  call<M extends MethodName>(
    method: M,
    params: MethodParamsInput<M>,
    opts?: CallOptions,
  ): Promise<MethodResult<M>> {
    try {
      return this.start(method, params, opts) as Promise<MethodResult<M>>;
    } catch (e) {
      return Promise.reject(
        isWireError(e)
          ? e
          : new WireError('INTERNAL', `${PLACE}: unexpected failure`, { cause: e }),
      );
    }
  }

  /** Stop: reject every pending call with SESSION_CLOSED and detach from the channel. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel.off('up', this.onUp);
    this.channel.off('down', this.onDown);
    this.channel.off('message', this.onMessage);
    this.sender.reset();
    for (const call of [...this.pending.values()]) {
      this.settleError(
        call,
        new WireError('SESSION_CLOSED', `rpc/${call.method}: the client closed`),
      );
      this.counters.sessionClosed += 1;
    }
  }

  private start(method: unknown, params: unknown, opts: CallOptions | undefined): Promise<unknown> {
    if (!isMethodName(method)) {
      throw new WireError(
        'UNKNOWN_METHOD',
        `${PLACE}: expected a method of the table, got ${typeof method === 'string' ? JSON.stringify(method.slice(0, 64)) : typeof method}`,
      );
    }
    const place = `rpc/${method}`;
    if (this.closed) throw new WireError('SESSION_CLOSED', `${place}: the client is closed`);
    const timeoutMs =
      opts?.timeoutMs === undefined
        ? this.options.defaultTimeoutMs
        : checkInteger('BAD_PARAMS', place, 'timeoutMs', opts.timeoutMs, 1, MAX_TIMEOUT_MS);
    const parsed = METHODS[method].params.safeParse(params);
    if (!parsed.success) {
      throw new WireError('BAD_PARAMS', `${place}: expected params matching the schema`, {
        data: reportIssues(parsed.error),
      });
    }
    if (this.nextId > Number.MAX_SAFE_INTEGER) {
      throw new WireError('INTERNAL', `${place}: request ids are exhausted`);
    }
    const id = this.nextId;
    const bytes = encodeEnvelope(
      place,
      { id, method, params: parsed.data },
      this.options.maxEnvelopeBytes,
    );
    this.nextId += 1;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => this.timeout(id), timeoutMs);
      const call: PendingCall = { id, method, resolve, reject, timer, bytes };
      this.pending.set(id, call);
      if (this.channel.isUp) this.transmit(call);
    });
  }

  private transmit(call: PendingCall): void {
    const bytes = call.bytes;
    if (bytes === undefined) return;
    call.bytes = undefined;
    this.counters.sent += 1;
    this.sender.send(bytes).catch((e: unknown) => {
      if (this.pending.get(call.id) !== call) return;
      this.counters.sessionClosed += 1;
      this.settleError(
        call,
        new WireError('SESSION_CLOSED', `rpc/${call.method}: the request could not be sent`, {
          cause: e,
        }),
      );
    });
  }

  private timeout(id: number): void {
    const call = this.pending.get(id);
    if (call === undefined) return;
    this.counters.timeouts += 1;
    this.settleError(
      call,
      new WireError('TIMEOUT', `rpc/${call.method}: no reply within the timeout`),
    );
  }

  /** A new session: calls sent in an earlier one cannot be answered; unsent calls go out now. */
  private sessionUp(): void {
    this.assembler.reset();
    this.sender.reset();
    for (const call of [...this.pending.values()]) {
      if (call.bytes === undefined) {
        this.counters.sessionClosed += 1;
        this.settleError(
          call,
          new WireError(
            'SESSION_CLOSED',
            `rpc/${call.method}: a new session began before the reply`,
          ),
        );
      } else {
        this.transmit(call);
      }
    }
  }

  /** The session ended: every call sent in it fails; calls not yet sent keep waiting for 'up'. */
  private sessionDown(error: WireError): void {
    this.assembler.reset();
    this.sender.reset();
    for (const call of [...this.pending.values()]) {
      if (call.bytes !== undefined) continue;
      this.counters.sessionClosed += 1;
      this.settleError(
        call,
        new WireError('SESSION_CLOSED', `rpc/${call.method}: the session closed before the reply`, {
          cause: error,
        }),
      );
    }
  }

  private receive(message: Uint8Array): void {
    try {
      this.receiveChunk(message);
    } catch {
      // Unreachable by design: a bad reply is counted, never thrown into the channel's emitter.
      this.counters.badReplies += 1;
    }
  }

  private receiveChunk(message: Uint8Array): void {
    const assembled = this.assembler.push(message);
    if (assembled.kind === 'pending') return;
    if (assembled.kind === 'error') {
      this.counters.badReplies += 1;
      return;
    }
    let value: unknown;
    try {
      value = decodeEnvelope(`${PLACE}/decode`, assembled.bytes, this.options.maxEnvelopeBytes);
    } catch {
      this.counters.badReplies += 1;
      return;
    }
    const reply = replyEnvelope.safeParse(value);
    if (!reply.success) {
      this.counters.badReplies += 1;
      return;
    }
    const { id } = reply.data;
    const call = this.pending.get(id);
    if (call === undefined || call.bytes !== undefined) {
      if (id === UNATTRIBUTED_ID) this.counters.unattributedReplies += 1;
      else this.counters.unknownIdReplies += 1;
      return;
    }
    this.counters.answered += 1;
    const place = `rpc/${call.method}`;
    if ('error' in reply.data) {
      const { code, message, data } = reply.data.error;
      const known = errorNameOf(code);
      const name: ErrorName =
        known === undefined || ERROR_CODES[known].kind === 'link' ? 'REMOTE_ERROR' : known;
      this.settleError(
        call,
        new WireError(name, `${place}: device answered ${code}: ${message}`, {
          data: checkErrorData(name, data),
        }),
      );
      return;
    }
    const result = METHODS[call.method].result.safeParse(reply.data.result);
    if (!result.success) {
      this.settleError(
        call,
        new WireError('BAD_RESULT', `${place}: expected a result matching the schema`, {
          data: reportIssues(result.error),
        }),
      );
      return;
    }
    this.pending.delete(id);
    clearTimeout(call.timer);
    call.resolve(result.data);
  }

  private settleError(call: PendingCall, error: WireError): void {
    if (this.pending.get(call.id) !== call) return;
    this.pending.delete(call.id);
    clearTimeout(call.timer);
    call.reject(error);
  }
}

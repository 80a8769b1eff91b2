/**
 * One enrolled signer device as the coordinator reaches it: a serial line (or any Transport), the
 * four-layer wire stack with the device's pinned link key, and the last state it reported. The
 * transport is opened lazily and reopened after it closes (cable pulled, device rebooted) with a
 * capped backoff; the secure session re-handshakes by itself on every reconnect. The transport
 * factory is injected: the daemon passes the serial one, tests pass memory pairs.
 */
import {
  type CoordinatorEndpoint,
  connectToDevice,
  type MethodName,
  type MethodParamsInput,
  type MethodResult,
  type Transport,
} from '@keyline/wire-protocol';
import type { SigningDevice } from './orchestrator.js';

export interface DeviceLinkConfig {
  readonly deviceId: string;
  readonly serialPath: string;
  readonly baud: number;
  /** The device's static link key (X25519), pinned at enrollment. */
  readonly linkPublicKey: Uint8Array;
}

export type OpenTransport = (path: string, baud: number) => Promise<Transport>;

export interface DeviceLinkOptions {
  /** The coordinator's own static link private key (32 bytes; the caller owns and wipes it). */
  readonly coordinatorKey: Uint8Array;
  readonly open: OpenTransport;
  readonly now: () => number;
  /** Per-call timeouts. sign_psbt covers the wire time of a large PSBT at 115200 baud. */
  readonly signTimeoutMs?: number;
  readonly infoTimeoutMs?: number;
  /** Backoff after a failed open: min(maxBackoffMs, 500 ms × 2^failures). */
  readonly maxBackoffMs?: number;
}

export class DeviceLink implements SigningDevice {
  readonly deviceId: string;
  #state = 'offline';
  #lastSuccessAt = 0;
  #lastSeen: number | null = null;
  #policyVersion: number | null = null;
  #endpoint: CoordinatorEndpoint | null = null;
  #opening: Promise<CoordinatorEndpoint> | null = null;
  #failures = 0;
  #retryAt = 0;
  #closed = false;

  constructor(
    readonly config: DeviceLinkConfig,
    private readonly options: DeviceLinkOptions,
  ) {
    this.deviceId = config.deviceId;
  }

  get state(): string {
    return this.#state;
  }
  get lastSuccessAt(): number {
    return this.#lastSuccessAt;
  }
  get lastSeen(): number | null {
    return this.#lastSeen;
  }
  get policyVersion(): number | null {
    return this.#policyVersion;
  }

  async #connect(): Promise<CoordinatorEndpoint> {
    if (this.#closed) throw new Error(`device ${this.deviceId}: link closed`);
    if (this.#endpoint !== null && this.#endpoint.transport.isOpen) return this.#endpoint;
    if (this.#opening !== null) return this.#opening;
    const now = this.options.now();
    if (now < this.#retryAt) {
      throw new Error(
        `device ${this.deviceId}: expected the serial line ${this.config.serialPath} to open, got failures; next try in ${this.#retryAt - now} ms`,
      );
    }
    this.#opening = (async () => {
      try {
        const transport = await this.options.open(this.config.serialPath, this.config.baud);
        const endpoint = connectToDevice(
          transport,
          {
            staticPrivateKey: this.options.coordinatorKey,
            remoteStaticPublicKey: this.config.linkPublicKey,
          },
          { rpc: { defaultTimeoutMs: this.options.signTimeoutMs ?? 120_000 } },
        );
        transport.onClose(() => {
          if (this.#endpoint === endpoint) {
            this.#endpoint = null;
            this.#state = 'offline';
            void endpoint.close().catch(() => undefined);
          }
        });
        this.#endpoint = endpoint;
        this.#failures = 0;
        return endpoint;
      } catch (e) {
        this.#failures += 1;
        const backoff = Math.min(this.options.maxBackoffMs ?? 30_000, 500 * 2 ** this.#failures);
        this.#retryAt = this.options.now() + backoff;
        this.#state = 'offline';
        throw e;
      } finally {
        this.#opening = null;
      }
    })();
    return this.#opening;
  }

  async #call<M extends MethodName>(
    method: M,
    params: MethodParamsInput<M>,
    timeoutMs: number | undefined,
  ): Promise<MethodResult<M>> {
    const endpoint = await this.#connect();
    const result = await endpoint.client.call(
      method,
      params,
      timeoutMs === undefined ? undefined : { timeoutMs },
    );
    this.#lastSeen = this.options.now();
    return result;
  }

  /** get_info: refreshes the state, policy version and last-seen time; `offline` on failure. */
  async refresh(): Promise<{ state: string; policyVersion: number | null }> {
    try {
      const info = await this.#call('get_info', {}, this.options.infoTimeoutMs ?? 10_000);
      this.#state = info.state;
      this.#policyVersion = info.policyVersion;
    } catch {
      this.#state = 'offline';
    }
    return { state: this.#state, policyVersion: this.#policyVersion };
  }

  async signPsbt(params: MethodParamsInput<'sign_psbt'>): Promise<MethodResult<'sign_psbt'>> {
    const result = await this.#call('sign_psbt', params, this.options.signTimeoutMs ?? 120_000);
    this.#lastSuccessAt = this.options.now();
    this.#state = 'armed';
    return result;
  }

  /** Any other method (pause, update_policy, register_wallet, ...), for operator commands. */
  call<M extends MethodName>(method: M, params: MethodParamsInput<M>): Promise<MethodResult<M>> {
    return this.#call(method, params, this.options.infoTimeoutMs ?? 30_000);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const e = this.#endpoint;
    this.#endpoint = null;
    this.#state = 'offline';
    if (e !== null) await e.close().catch(() => undefined);
  }
}

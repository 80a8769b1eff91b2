/**
 * The signer device: one method per RPC method, each opening with the same guard (the lifecycle
 * table's states for that method), plus the console-only `unlock`. It composes the keystore,
 * PSBT verification, the offline policy, the durable state, the audit log and the clock; the
 * sign_psbt steps are in sign-flow.ts. docs/signing-flow.md.
 *
 * Time: the device has no trusted clock. `deviceNow()` is the last accepted time advanced by the
 * device's own monotonic clock; only `sign_psbt` offers a time. An accepted policy's `issuedAt`
 * (signed by the officers) raises the device time when it is ahead — a fresh device starts at 0.
 */
import {
  type MethodName,
  type MethodParams,
  type MethodResultInput,
  PROTOCOL_VERSION,
} from '@keyline/wire-protocol';
import { hexToBytes } from '@noble/hashes/utils.js';
import type { AuditEvent } from '../audit/audit-entry.js';
import type { AuditLog } from '../audit/audit-log.js';
import { DeviceClock } from '../clock.js';
import { isSignerError, SignerError } from '../errors.js';
import type { KdfPolicy, KeyFile } from '../keystore/key-file-format.js';
import { lockoutTripped } from '../policy/lockout.js';
import type { Fs } from '../state/fs.js';
import { nodeFs } from '../state/fs.js';
import { type AcceptedPolicy, registeredWallet } from './accepted-policy.js';
import {
  liveChallenge,
  newActivationChallenge,
  newBootNonce,
  type PendingActivation,
  type RandomBytes,
  verifyActivation,
} from './activation.js';
import { newPauseRecord, type PauseRecord, verifyPause, verifyResume } from './approvals.js';
import { assertMethodAllowed, type DeviceState, transition } from './lifecycle.js';
import { installPolicy } from './policy-update.js';
import {
  clearRefusals,
  newRefusalCounter,
  type RefusalCounter,
  recordRefusal,
} from './refusal-counter.js';
import { type SignResult, signPsbtFlow } from './sign-flow.js';
import {
  asCode,
  auditExportResult,
  copyBytes,
  failureEvent,
  requestEvent,
} from './signer-audit.js';
import { checkSignerConfig, type SignerConfig, type SignerConfigInput } from './signer-config.js';
import {
  closeSession,
  defaultAuditPath,
  openSession,
  ownKeyFacts,
  type SessionOptions,
  type SignerSession,
} from './signer-session.js';

export interface SignerOptions {
  readonly config: SignerConfigInput;
  /** The parsed device key file: its public facts answer get_xpub while locked. */
  readonly keyFile: KeyFile;
  readonly stateDir: string;
  readonly auditPath?: string;
  /** Create the audit log if missing: provisioning only (a missing log otherwise fails). */
  readonly provision?: boolean;
  /** Whole monotonic milliseconds since boot (default: performance.now() from construction, floored: the device clock takes integers). */
  readonly monotonicMs?: () => number;
  readonly random?: RandomBytes;
  readonly fs?: Fs;
  readonly kdf?: KdfPolicy;
}

type Result<M extends MethodName> = Promise<MethodResultInput<M>>;

export class Signer {
  readonly config: SignerConfig;
  readonly #keyFile: KeyFile;
  readonly #session: SessionOptions;
  readonly #monotonic: () => number;
  readonly #random: RandomBytes;
  readonly #bootNonce: Uint8Array;
  #state: DeviceState = 'uninitialized';
  #open: SignerSession | null = null;
  #policy: AcceptedPolicy | null = null;
  #clock: DeviceClock | null = null;
  #pending: PendingActivation | null = null;
  #pause: PauseRecord | null = null;
  #refusals: RefusalCounter;
  /** The last audit log opened: exports stay possible while locked. */
  #exportLog: AuditLog | null = null;

  constructor(options: SignerOptions) {
    this.config = checkSignerConfig(options.config);
    if (typeof options.stateDir !== 'string' || !options.stateDir.startsWith('/')) {
      throw new SignerError('BAD_CONFIG', 'signer/new: expected stateDir an absolute path');
    }
    this.#keyFile = options.keyFile;
    ownKeyFacts(options.keyFile);
    this.#session = Object.freeze({
      config: this.config,
      stateDir: options.stateDir,
      auditPath: options.auditPath ?? defaultAuditPath(options.stateDir),
      provision: options.provision === true,
      fs: options.fs,
      kdf: options.kdf ?? {},
    });
    const start = performance.now();
    this.#monotonic = options.monotonicMs ?? (() => Math.floor(performance.now() - start));
    this.#random = options.random ?? defaultRandom;
    this.#bootNonce = newBootNonce(this.#random);
    this.#refusals = newRefusalCounter(
      this.config.refusalLockout.max,
      this.config.refusalLockout.windowSeconds,
    );
    this.#state = transition(this.#state, 'keyLoaded');
  }

  get state(): DeviceState {
    return this.#state;
  }
  /** This boot's nonce (shown on the console; activation and pause approvals bind to it). */
  get bootNonce(): Uint8Array {
    return Uint8Array.from(this.#bootNonce);
  }
  /** The current pause, which resuming holders sign (shown on the console); null if not paused. */
  get pauseRecord(): PauseRecord | null {
    return this.#pause;
  }
  /** The memory as committed (tests, console); null while locked. */
  get memory() {
    return this.#open?.store.memory ?? null;
  }

  /** A copy of the link identity key pair while unlocked (wiped by lock), else null. */
  linkIdentity(): { readonly privateKey: Uint8Array; readonly publicKey: Uint8Array } | null {
    return this.#open?.key.linkKeyPair() ?? null;
  }

  /** Device time: the last accepted time advanced by the monotonic clock (never backwards). */
  deviceNow(): number {
    const c = this.#clock;
    if (c === null) return 0;
    return Math.max(c.state.lastTime, c.boundAt(this.#monotonic()) - c.state.toleranceSeconds);
  }

  /** Console only, never an RPC: the holder's passphrase (consumed) opens the key file. */
  async unlock(keyFile: KeyFile, passphrase: Uint8Array): Promise<void> {
    try {
      transition(this.#state, 'unlocked');
      const own = ownKeyFacts(this.#keyFile);
      const given = ownKeyFacts(keyFile);
      if (given.accountXpub !== own.accountXpub) {
        throw new SignerError(
          'BAD_KEY_FILE',
          'signer/unlock: expected the device key file, got another key',
        );
      }
    } catch (e) {
      passphrase?.fill?.(0);
      throw e;
    }
    const session = await openSession(this.#session, keyFile, passphrase);
    this.#open = session;
    this.#exportLog = session.audit;
    this.#policy = session.policy;
    try {
      const memory = session.store.memory;
      if (this.#clock === null || this.#clock.state.lastTime < memory.lastTime) {
        this.#clock = DeviceClock.atBoot(memory, { bootMonotonicMs: this.#monotonic() });
      }
      const now = this.deviceNow();
      const { failClosed, reason } = session.store.loaded;
      if (failClosed) {
        await this.#audit({
          kind: 'lifecycle',
          event: 'state-fail-closed',
          detail: asCode(reason),
        });
      }
      await this.#audit({ kind: 'lifecycle', event: 'unlock', detail: null }, now);
      this.#pending = this.#newChallenge(now);
      this.#state = transition(this.#state, 'unlocked');
    } catch (e) {
      this.#wipe();
      throw e;
    }
  }

  async ping(p: MethodParams<'ping'>): Result<'ping'> {
    return { nonce: p.nonce, uptimeMs: Math.floor(this.#monotonic()) };
  }

  async getInfo(): Result<'get_info'> {
    return {
      protocolVersion: PROTOCOL_VERSION,
      deviceId: this.config.deviceId,
      firmware: this.config.firmware,
      network: this.config.network,
      state: this.#state,
      fingerprint: copyBytes(ownKeyFacts(this.#keyFile).fingerprint),
      policyVersion: this.#policy?.version ?? null,
      wallets: this.#policy?.wallets.size ?? 0,
    };
  }

  async getXpub(): Result<'get_xpub'> {
    assertMethodAllowed('get_xpub', this.#state);
    if (!('network' in this.#keyFile))
      throw new SignerError('BAD_KEY_FILE', 'signer/get_xpub: expected a device key file');
    const pub = this.#keyFile.public;
    return { xpub: pub.accountXpub, fingerprint: hexToBytes(pub.fingerprint), path: pub.path };
  }

  async unlockStatus(): Result<'unlock_status'> {
    let activation: MethodResultInput<'unlock_status'>['activation'] = null;
    if (this.#state === 'unlocked') {
      const now = this.deviceNow();
      this.#pending = liveChallenge(this.#pending, now) ?? this.#newChallenge(now);
      const p = this.#pending;
      activation = {
        challenge: copyBytes(p.challenge),
        bootNonce: copyBytes(p.bootNonce),
        expiresAt: p.expiresAt,
      };
    }
    return { state: this.#state, activation };
  }

  async activate(p: MethodParams<'activate'>): Result<'activate'> {
    return this.#run('activate', p, async () => {
      const now = this.deviceNow();
      try {
        const ok = verifyActivation(
          p.activation,
          this.#pending,
          this.config.holders,
          this.config.ownHolderKeyId,
          now,
        );
        this.#pending = null;
        this.#state = transition(this.#state, 'activated');
        await this.#audit(
          { kind: 'lifecycle', event: 'activate', detail: asCode(ok.holderKeyId) },
          now,
        );
      } catch (e) {
        if (isSignerError(e) && e.detail.reason === 'EXPIRED')
          this.#pending = this.#newChallenge(now);
        throw e;
      }
      return { state: this.#state };
    });
  }

  async registerWallet(p: MethodParams<'register_wallet'>): Result<'register_wallet'> {
    return this.#run('register_wallet', p, async () => {
      const registered = registeredWallet(this.#policy, p.name, p.descriptor, this.config.network);
      return { walletId: Uint8Array.from(registered.wallet.id), name: registered.name };
    });
  }

  async updatePolicy(p: MethodParams<'update_policy'>): Result<'update_policy'> {
    return this.#run('update_policy', p, async () => {
      const session = this.#session_();
      const clock = this.#clockOrThrow();
      const { accepted, clock: raised } = await installPolicy({
        document: p.document,
        approvals: p.approvals,
        config: this.config,
        keyFile: this.#keyFile,
        store: session.store,
        fs: this.#session.fs ?? nodeFs,
        stateDir: this.#session.stateDir,
        now: this.deviceNow(),
        monotonicMs: this.#monotonic(),
        toleranceSeconds: clock.state.toleranceSeconds,
      });
      if (raised !== null) this.#clock = raised;
      this.#policy = accepted;
      await this.#audit({ kind: 'policy', version: accepted.version, hash: accepted.hashHex });
      return { version: accepted.version, hash: copyBytes(accepted.hash) };
    });
  }

  async signPsbt(p: MethodParams<'sign_psbt'>): Result<'sign_psbt'> {
    assertMethodAllowed('sign_psbt', this.#state);
    const session = this.#session_();
    await this.#requestAudit('sign_psbt', p);
    const clock = this.#clockOrThrow();
    const result: SignResult = await signPsbtFlow(
      p,
      {
        state: this.#state,
        key: session.key,
        policy: this.#policy,
        store: session.store,
        audit: session.audit,
        clock,
        monotonicMs: this.#monotonic(),
        network: this.config.network,
        maxChangeWindow: this.config.changeWindow,
        limits: this.config.psbtLimits,
        txRules: this.config.txRules,
      },
      {
        failed: (error, now, txid) => this.#signFailed(error, now, txid),
        adoptClock: (c) => {
          this.#clock = c;
        },
      },
    );
    return {
      signatures: result.signatures.map((s) => ({
        input: s.input,
        pubkey: copyBytes(s.pubkey),
        signature: copyBytes(s.signature),
      })),
      auditSeq: result.auditSeq,
    };
  }

  async pause(p: MethodParams<'pause'>): Result<'pause'> {
    return this.#run('pause', p, async () => {
      verifyPause(
        p,
        { deviceId: this.config.deviceId, bootNonce: this.#bootNonce },
        this.#pinned(),
      );
      const now = this.deviceNow();
      this.#pauseNow('pause', now);
      await this.#audit({ kind: 'lifecycle', event: 'pause', detail: null }, now);
      return { state: this.#state };
    });
  }

  async resume(p: MethodParams<'resume'>): Result<'resume'> {
    return this.#run('resume', p, async () => {
      const record = this.#pause;
      if (record === null)
        throw new SignerError(
          'STATE_CORRUPT',
          'signer/resume: expected a pause record while paused, got none',
        );
      verifyResume(p.approvals, record, this.#pinned());
      this.#state = transition(this.#state, 'resume');
      this.#pause = null;
      this.#refusals = clearRefusals(this.#refusals);
      await this.#audit({ kind: 'lifecycle', event: 'resume', detail: null });
      return { state: this.#state };
    });
  }

  async getAuditLog(p: MethodParams<'get_audit_log'>): Result<'get_audit_log'> {
    assertMethodAllowed('get_audit_log', this.#state);
    const log = this.#exportLog;
    if (log === null)
      throw new SignerError(
        'LOCKED',
        'signer/get_audit_log: expected the log opened by a first unlock, got none yet',
      );
    return auditExportResult(log.exportRange(p.fromSeq, p.limit));
  }

  /** RPC lock and console lock: audit, then wipe the key and the stores' key copies. */
  async lock(): Result<'lock'> {
    assertMethodAllowed('lock', this.#state);
    const next = transition(this.#state, 'lock');
    try {
      await this.#audit({ kind: 'lifecycle', event: 'lock', detail: null });
    } finally {
      this.#wipe();
      this.#state = next;
    }
    return { state: this.#state };
  }

  /**
   * Crash path: wipe the key and the stores' key copies synchronously, without auditing (an
   * uncaught error or a forced exit may not wait for I/O). The device is locked afterwards.
   */
  wipeNow(): void {
    this.#wipe();
    if (this.#state !== 'uninitialized') this.#state = 'locked';
  }

  /** Shutdown: lock when a key is in RAM (idempotent). */
  async close(): Promise<void> {
    if (this.#open !== null) {
      if (this.#state === 'unlocked' || this.#state === 'armed' || this.#state === 'paused')
        await this.lock();
      else this.#wipe();
    }
  }

  // ------------------------------------------------------------------------------------------

  #wipe(): void {
    const open = this.#open;
    this.#open = null;
    this.#policy = null;
    this.#pending = null;
    this.#pause = null;
    if (open !== null) closeSession(open);
  }

  #session_(): SignerSession {
    if (this.#open === null)
      throw new SignerError('LOCKED', 'signer: expected an unlocked device, got a locked one', {
        state: this.#state,
      });
    return this.#open;
  }

  #clockOrThrow(): DeviceClock {
    if (this.#clock === null)
      throw new SignerError('LOCKED', 'signer: expected a clock from the unlock, got none');
    return this.#clock;
  }

  #pinned() {
    return { holders: this.config.holders, officers: this.config.officers };
  }

  #newChallenge(now: number): PendingActivation {
    return newActivationChallenge({
      deviceId: this.config.deviceId,
      bootNonce: this.#bootNonce,
      now,
      ttlSeconds: this.config.activationTtlSeconds,
      random: this.#random,
    });
  }

  async #audit(event: AuditEvent, time = this.deviceNow()): Promise<number | null> {
    const log = this.#open?.audit;
    if (log === undefined) return null;
    return (await log.append(event, time)).seq;
  }

  async #requestAudit(method: MethodName, params: unknown): Promise<void> {
    await this.#audit(requestEvent(method, params));
  }

  /** Guard, audit the request, run; audit a failure as a decision, then rethrow it. */
  async #run<T>(method: MethodName, params: unknown, body: () => Promise<T>): Promise<T> {
    assertMethodAllowed(method, this.#state);
    await this.#requestAudit(method, params);
    try {
      return await body();
    } catch (e) {
      if (isSignerError(e)) await this.#audit(failureEvent(method, e, null)).catch(() => null);
      throw e;
    }
  }

  /**
   * A refused or malformed sign request after the guards: a refusal counts toward the lockout
   * (which pauses an armed device), then the decision is audited. Never throws: the caller
   * rethrows the original error, whose report must reach the coordinator.
   */
  async #signFailed(error: SignerError, now: number, txid: string | null): Promise<void> {
    let paused = false;
    if (error.kind === 'refused') {
      const outcome = recordRefusal(this.#refusals, now);
      this.#refusals = outcome.counter;
      const policyLockout = this.#policy?.compiled.document.lockout;
      const tripped =
        outcome.lockout ||
        (policyLockout !== undefined && lockoutTripped(outcome.counter.times, policyLockout, now));
      if (tripped && this.#state === 'armed') {
        this.#pauseNow('refusalLockout', now);
        paused = true;
      }
    }
    await this.#audit(failureEvent('sign_psbt', error, txid), now).catch(() => null);
    if (paused) {
      await this.#audit(
        { kind: 'lifecycle', event: 'pause', detail: 'REFUSAL_LOCKOUT' },
        now,
      ).catch(() => null);
    }
  }

  #pauseNow(event: 'pause' | 'refusalLockout', now: number): void {
    this.#state = transition(this.#state, event);
    this.#pause = newPauseRecord({
      deviceId: this.config.deviceId,
      bootNonce: this.#bootNonce,
      now,
      random: this.#random,
    });
  }
}

function defaultRandom(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/**
 * Durable device memory (docs/state-and-audit.md §2-§4). The state directory holds
 *   state.cbor    the current generation      state.prev   the one before it
 *   state.tmp     a commit in progress        state.marker written once, at the first commit
 * Load picks the highest-generation file that authenticates, refuses one older than the audit
 * log's record (rollback) and fails closed — a coded reason and a memory that counts as spent —
 * on anything it cannot trust. Commit is write tmp, fsync, fsync dir, rename over, fsync dir,
 * then record the generation in the audit log; it resolves only when all of that is durable.
 */

import { join } from 'node:path';
import { equalBytes } from '@noble/ciphers/utils.js';
import { type Sha256Digest, sha256Digest } from '../audit/audit-entry.js';
import { type DeviceMemory, emptyMemory } from '../device-memory.js';
import { SignerError } from '../errors.js';
import { type Fs, nodeFs } from './fs.js';
import { parseDeviceMemory } from './memory-schema.js';
import {
  checkMacKey,
  decodeStateFile,
  encodeStateFile,
  type StateFileProblem,
} from './state-file.js';

/** A generation and the SHA-256 of its file, as the audit log records it. */
export interface StateMark {
  readonly generation: number;
  readonly hash: Sha256Digest;
}

/** What the audit log offers the state store: a second, signed record of the latest generation. */
export interface StateWitness {
  lastStateGeneration(): StateMark | null;
  recordState(mark: StateMark, time: number): Promise<void>;
}

export type StateLoadReason =
  | StateFileProblem
  | 'STATE_MISSING'
  | 'STATE_ROLLED_BACK'
  | 'STATE_FORKED'
  | 'STATE_WRONG_NETWORK'
  | 'STATE_IO';

export type StateFileName = 'state.cbor' | 'state.prev' | 'state.tmp' | 'state.marker';

export interface StateProblem {
  readonly file: StateFileName | 'witness';
  readonly reason: StateLoadReason;
  readonly message: string;
}

export interface StateLoad {
  readonly memory: DeviceMemory;
  readonly generation: number;
  /** True when the device must refuse to sign until re-activated (see DeviceMemory.failClosed). */
  readonly failClosed: boolean;
  /** Why the load failed closed; null when it did not. */
  readonly reason: StateLoadReason | null;
  /** Everything found wrong, including with files that were not needed. */
  readonly problems: readonly StateProblem[];
  /** Where the memory came from. */
  readonly source: 'new' | 'state.cbor' | 'state.prev' | 'state.tmp' | 'none';
}

export interface StateStoreOptions {
  readonly dir: string;
  /** 32-byte MAC key; copied, and the copy wiped by close(). The caller wipes its own. */
  readonly macKey: Uint8Array;
  readonly network: DeviceMemory['network'];
  readonly witness: StateWitness;
  readonly fs?: Fs;
}

const CURRENT = 'state.cbor';
const PREV = 'state.prev';
const TMP = 'state.tmp';
const MARKER = 'state.marker';
const MARKER_BYTES = new TextEncoder().encode('keyline state marker v1\n');
const NETWORKS = Object.freeze(['mainnet', 'testnet', 'signet', 'regtest']);

interface Candidate {
  readonly file: 'state.cbor' | 'state.prev' | 'state.tmp';
  readonly generation: number;
  readonly memory: DeviceMemory;
  readonly hash: Uint8Array;
}

function failClosedMemory(network: DeviceMemory['network']): DeviceMemory {
  return { ...emptyMemory(network), failClosed: true };
}

function errText(e: unknown): string {
  if (typeof e === 'object' && e !== null) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return e instanceof Error ? e.message : String(e);
}

export class StateStore {
  private readonly fs: Fs;
  private readonly macKey: Uint8Array;
  private current: DeviceMemory;
  private currentGeneration: number;
  /** Highest generation ever written or seen: a failed attempt's number is never reused. */
  private highest: number;
  private markerExists: boolean;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly opts: StateStoreOptions,
    readonly loaded: StateLoad,
    highest: number,
    markerExists: boolean,
  ) {
    this.fs = opts.fs ?? nodeFs;
    this.macKey = Uint8Array.from(opts.macKey);
    this.current = loaded.memory;
    this.currentGeneration = loaded.generation;
    this.highest = highest;
    this.markerExists = markerExists;
  }

  /**
   * Load the state directory. Throws only for a bad configuration (MAC key, network); every
   * problem with the files or the witness becomes a fail-closed StateLoad with a coded reason.
   */
  static async open(opts: StateStoreOptions): Promise<StateStore> {
    checkMacKey('state-store/open', opts.macKey);
    if (!NETWORKS.includes(opts.network)) {
      throw new SignerError(
        'BAD_CONFIG',
        `state-store/open: expected a network of ${NETWORKS.join(', ')}, got ${String(opts.network)}`,
      );
    }
    const fs = opts.fs ?? nodeFs;
    const problems: StateProblem[] = [];
    const read = async (file: StateFileName): Promise<Uint8Array | null | 'error'> => {
      try {
        return await fs.readFile(join(opts.dir, file));
      } catch (e) {
        problems.push({
          file,
          reason: 'STATE_IO',
          message: `state-store/open: ${file}: ${errText(e)}`,
        });
        return 'error';
      }
    };
    const files = {
      [CURRENT]: await read(CURRENT),
      [PREV]: await read(PREV),
      [TMP]: await read(TMP),
    } as const;
    const marker = await read(MARKER);

    let witness: StateMark | null = null;
    let witnessOk = true;
    try {
      witness = opts.witness.lastStateGeneration();
    } catch (e) {
      witnessOk = false;
      problems.push({
        file: 'witness',
        reason: 'STATE_IO',
        message: `state-store/open: witness: ${errText(e)}`,
      });
    }
    const witnessGen = witness?.generation ?? 0;

    const candidates: Candidate[] = [];
    for (const file of [CURRENT, PREV, TMP] as const) {
      const bytes = files[file];
      if (bytes === null || bytes === 'error') continue;
      const d = decodeStateFile(bytes, opts.macKey);
      if (d.ok) candidates.push({ file, generation: d.generation, memory: d.memory, hash: d.hash });
      else if (file !== TMP) problems.push({ file, reason: d.reason, message: d.message });
      // A torn tmp is the normal trace of a crash before rename: not a problem.
    }
    candidates.sort((a, b) => b.generation - a.generation);
    const highest = Math.max(witnessGen, ...candidates.map((c) => c.generation));
    const markerExists = marker !== null;

    const done = (load: StateLoad): StateStore =>
      new StateStore(
        opts,
        Object.freeze({ ...load, problems: Object.freeze(problems) }),
        highest,
        markerExists,
      );
    const closed = (reason: StateLoadReason, generation = 0): StateStore =>
      done({
        memory: failClosedMemory(opts.network),
        generation,
        failClosed: true,
        reason,
        problems,
        source: 'none',
      });

    const nothing =
      files[CURRENT] === null && files[PREV] === null && files[TMP] === null && marker === null;
    if (!witnessOk) return closed('STATE_IO');
    if (nothing && witness === null) {
      return done({
        memory: emptyMemory(opts.network),
        generation: 0,
        failClosed: false,
        reason: null,
        problems,
        source: 'new',
      });
    }
    const best = candidates[0];
    if (best === undefined) {
      const first = problems.find((p) => p.file === CURRENT) ?? problems[0];
      if (first === undefined) {
        problems.push({
          file: CURRENT,
          reason: 'STATE_MISSING',
          message: `state-store/open: no state file, but the device has committed before (generation ${witnessGen})`,
        });
      }
      return closed(first?.reason ?? 'STATE_MISSING');
    }
    if (witness === null && best.generation > 1) {
      // Generation 1 without a record is the trace of a crash inside the very first commit;
      // anything later means the log that should record it was replaced.
      problems.push({
        file: best.file,
        reason: 'STATE_ROLLED_BACK',
        message: `state-store/open: the audit log records no state, but generation ${best.generation} exists`,
      });
      return closed('STATE_ROLLED_BACK');
    }
    if (best.generation < witnessGen) {
      problems.push({
        file: best.file,
        reason: 'STATE_ROLLED_BACK',
        message: `state-store/open: expected generation >= ${witnessGen} (audit log), got ${best.generation}`,
      });
      return closed('STATE_ROLLED_BACK');
    }
    if (
      witness !== null &&
      best.generation === witnessGen &&
      !equalBytes(best.hash, witness.hash)
    ) {
      problems.push({
        file: best.file,
        reason: 'STATE_FORKED',
        message: `state-store/open: generation ${witnessGen} does not hash to what the audit log recorded`,
      });
      return closed('STATE_FORKED');
    }
    if (best.memory.network !== opts.network) {
      problems.push({
        file: best.file,
        reason: 'STATE_WRONG_NETWORK',
        message: `state-store/open: expected network ${opts.network}, got ${best.memory.network}`,
      });
      return closed('STATE_WRONG_NETWORK');
    }
    if (best.file === TMP) {
      // Finish the interrupted commit, so the next one cannot overwrite the only good copy.
      try {
        await fs.rename(join(opts.dir, TMP), join(opts.dir, CURRENT));
        await fs.fsyncDir(opts.dir);
      } catch (e) {
        problems.push({
          file: TMP,
          reason: 'STATE_IO',
          message: `state-store/open: finishing rename: ${errText(e)}`,
        });
        return closed('STATE_IO');
      }
    }
    return done({
      memory: best.memory,
      generation: best.generation,
      failClosed: best.memory.failClosed,
      reason: null,
      problems,
      source: best.file,
    });
  }

  get memory(): DeviceMemory {
    return this.current;
  }

  get generation(): number {
    return this.currentGeneration;
  }

  /**
   * Make `next` the durable memory. Resolves with its mark once the file, the directory and the
   * audit record are durable; on any failure rejects with SignerError IO and `memory` stays as it
   * was. Commits are serialised.
   */
  commit(next: DeviceMemory): Promise<StateMark> {
    const run = this.queue.then(() => this.commitNow(next));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async commitNow(next: DeviceMemory): Promise<StateMark> {
    if (this.closed) throw new SignerError('IO', 'state-store/commit: the store is closed');
    const parsed = parseDeviceMemory(next);
    if (!parsed.ok) {
      throw new SignerError(
        'STATE_CORRUPT',
        `state-store/commit: expected a valid DeviceMemory, got ${parsed.issue}`,
        { reason: 'STATE_BAD_SCHEMA' },
      );
    }
    if (parsed.memory.network !== this.opts.network) {
      throw new SignerError(
        'STATE_CORRUPT',
        `state-store/commit: expected network ${this.opts.network}, got ${parsed.memory.network}`,
        { reason: 'STATE_WRONG_NETWORK' },
      );
    }
    const generation = this.highest + 1;
    this.highest = generation;
    const file = encodeStateFile(parsed.memory, generation, this.macKey);
    const mark: StateMark = Object.freeze({ generation, hash: sha256Digest(file) });
    const dir = this.opts.dir;
    const step = async (name: string, f: () => Promise<void>): Promise<void> => {
      try {
        await f();
      } catch (e) {
        throw new SignerError(
          'IO',
          `state-store/commit: ${name} failed: ${errText(e)}`,
          { step: name, generation },
          { cause: e },
        );
      }
    };
    await step('write tmp', () => this.fs.writeFile(join(dir, TMP), file));
    await step('fsync tmp', () => this.fs.fsyncFile(join(dir, TMP)));
    if (!this.markerExists) {
      await step('write marker', () => this.fs.writeFile(join(dir, MARKER), MARKER_BYTES));
      await step('fsync marker', () => this.fs.fsyncFile(join(dir, MARKER)));
    }
    await step('fsync dir (tmp)', () => this.fs.fsyncDir(dir));
    this.markerExists = true;
    await step('rename current to prev', async () => {
      try {
        await this.fs.rename(join(dir, CURRENT), join(dir, PREV));
      } catch (e) {
        if (errText(e) !== 'ENOENT') throw e; // first commit, or recovered from prev
      }
    });
    await step('rename tmp to current', () => this.fs.rename(join(dir, TMP), join(dir, CURRENT)));
    await step('fsync dir', () => this.fs.fsyncDir(dir));
    await step('record in audit log', () =>
      this.opts.witness.recordState(mark, parsed.memory.lastTime),
    );
    this.current = parsed.memory;
    this.currentGeneration = generation;
    return mark;
  }

  /** Wipe the store's copy of the MAC key; later commits reject. */
  close(): void {
    this.closed = true;
    this.macKey.fill(0);
  }
}

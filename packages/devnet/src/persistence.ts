/**
 * Optional persistence: the whole node state in one JSON file — every block received (header and
 * transactions, in order), the blocks marked invalid, the mempool and the mining wallet's keys.
 * Written atomically (temporary file, fsync, rename, fsync of the directory); read back through a
 * zod schema and then re-validated block by block as the node replays it (the active chain is
 * connected with full script checks). Missing file = a fresh devnet.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { decodeHeader, encodeHeader, makeBlock } from './consensus/block.js';
import { decodeTx } from './consensus/tx.js';
import { DevnetError } from './errors.js';
import { DevnetNode, type DevnetNodeOptions } from './node.js';

export const DATA_FORMAT = 'keyline-devnet/1';

const hex = z.string().regex(/^([0-9a-f]{2})*$/, 'lowercase even-length hex');
const hash = z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex characters');

export const DataFileSchema = z
  .object({
    format: z.literal(DATA_FORMAT),
    network: z.literal('regtest'),
    blocks: z.array(
      z.object({ header: z.string().regex(/^[0-9a-f]{160}$/), txs: z.array(hex).min(1) }).strict(),
    ),
    invalid: z.array(hash),
    mempool: z.array(z.object({ raw: hex, time: z.number().int().nonnegative() }).strict()),
    wallet: z
      .object({ keys: z.array(z.string().regex(/^[0-9a-f]{64}$/)).min(1), sent: z.array(hash) })
      .strict(),
  })
  .strict();

export type DataFile = z.infer<typeof DataFileSchema>;

/** The node's state as the data file holds it. */
export function snapshot(node: DevnetNode): DataFile {
  const chain = node.chainstate;
  return {
    format: DATA_FORMAT,
    network: 'regtest',
    blocks: chain
      .allBlocks()
      .filter((e) => e.height > 0)
      .map((e) => ({
        header: bytesToHex(encodeHeader(e.block.header)),
        txs: e.block.txs.map((t) => bytesToHex(t.raw)),
      })),
    invalid: chain.explicitlyInvalid(),
    mempool: node.mempool.entries().map((e) => ({ raw: bytesToHex(e.tx.raw), time: e.time })),
    wallet: { keys: [...node.wallet.state().keys], sent: [...node.wallet.state().sent] },
  };
}

/** Writes `data` to `path` atomically: a crash leaves either the old file or the new one. */
export async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${bytesToHex(randomBytes(6))}.tmp`,
  );
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Reads and replays a data file; null when the file does not exist. */
export async function loadNode(
  path: string,
  options: Omit<DevnetNodeOptions, 'wallet'>,
): Promise<{ node: DevnetNode; dropped: string[]; rejectedBlocks: string[] } | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DevnetError(
      'PERSISTENCE',
      `persistence/load: cannot read ${path}: ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
  let parsed: DataFile;
  try {
    parsed = DataFileSchema.parse(JSON.parse(text));
  } catch (err) {
    throw new DevnetError(
      'PERSISTENCE',
      `persistence/load: ${path} is not a ${DATA_FORMAT} file: ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
  const node = new DevnetNode({ ...options, wallet: parsed.wallet });
  for (const [i, b] of parsed.blocks.entries()) {
    try {
      node.loadBlock(
        makeBlock(
          decodeHeader(hexToBytes(b.header)),
          b.txs.map((t) => decodeTx(hexToBytes(t))),
        ),
      );
    } catch (err) {
      throw new DevnetError(
        'PERSISTENCE',
        `persistence/load: block ${i} of ${path} does not validate: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
  }
  try {
    const { dropped } = node.finishLoad(parsed.invalid, parsed.mempool);
    const known = new Set(parsed.invalid);
    const rejectedBlocks = node.chainstate.explicitlyInvalid().filter((h) => !known.has(h));
    return { node, dropped, rejectedBlocks };
  } catch (err) {
    throw new DevnetError(
      'PERSISTENCE',
      `persistence/load: ${path} does not replay: ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
}

/**
 * Saves the node after each change, coalescing bursts into one write per event-loop turn and
 * never running two writes at once; `close()` waits for the last state to be on disk.
 */
export class Persister {
  readonly #node: DevnetNode;
  readonly #path: string;
  readonly #onError: (err: unknown) => void;
  readonly #unsubscribe: () => void;
  #dirty = false;
  #running: Promise<void> | null = null;
  #scheduled: NodeJS.Immediate | null = null;

  constructor(node: DevnetNode, path: string, onError: (err: unknown) => void) {
    this.#node = node;
    this.#path = path;
    this.#onError = onError;
    this.#unsubscribe = node.onChange(() => this.schedule());
  }

  schedule(): void {
    this.#dirty = true;
    if (this.#scheduled !== null || this.#running !== null) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = null;
      void this.flush().catch(this.#onError);
    });
  }

  async flush(): Promise<void> {
    while (this.#running !== null) await this.#running;
    if (!this.#dirty) return;
    this.#dirty = false;
    this.#running = writeAtomic(this.#path, `${JSON.stringify(snapshot(this.#node))}\n`)
      .catch((err: unknown) => {
        // Keep the state dirty: the next change (or close) tries again.
        this.#dirty = true;
        throw err;
      })
      .finally(() => {
        this.#running = null;
      });
    await this.#running;
    if (this.#dirty) await this.flush();
  }

  async close(): Promise<void> {
    this.#unsubscribe();
    if (this.#scheduled !== null) {
      clearImmediate(this.#scheduled);
      this.#scheduled = null;
    }
    this.#dirty = true;
    await this.flush();
  }
}

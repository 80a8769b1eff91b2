/**
 * The few file operations durable state and the audit log need, behind a tiny interface so tests
 * can inject crashes and I/O errors (test/state/mem-fs.ts). `nodeFs` is the real implementation
 * over node:fs/promises. Every method rejects with the Node error it got; callers wrap it in a
 * SignerError IO with their place.
 */
import { open, readFile, rename, truncate } from 'node:fs/promises';

export interface Fs {
  /** The whole file, or null when it does not exist (ENOENT). */
  readFile(path: string): Promise<Uint8Array | null>;
  /** Create or truncate `path` and write `data`; not durable until `fsyncFile`. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /** Append `data` to `path` (created if missing) and fsync it before resolving. */
  appendFileDurable(path: string, data: Uint8Array): Promise<void>;
  /** fsync the file's data and metadata. */
  fsyncFile(path: string): Promise<void>;
  /** Atomically replace `to` with `from` (POSIX rename). */
  rename(from: string, to: string): Promise<void>;
  /** fsync a directory, making renames and creations in it durable. */
  fsyncDir(dir: string): Promise<void>;
  /** Cut `path` to `length` bytes and fsync it. */
  truncateDurable(path: string, length: number): Promise<void>;
}

function isEnoent(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ENOENT';
}

async function fsyncPath(path: string, flags: string): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The real file system (node:fs/promises). */
export const nodeFs: Fs = Object.freeze({
  async readFile(path: string): Promise<Uint8Array | null> {
    try {
      const b = await readFile(path);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      if (isEnoent(e)) return null;
      throw e;
    }
  },
  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const fh = await open(path, 'w', 0o600);
    try {
      await fh.writeFile(data);
    } finally {
      await fh.close();
    }
  },
  async appendFileDurable(path: string, data: Uint8Array): Promise<void> {
    const fh = await open(path, 'a', 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  fsyncFile: (path: string) => fsyncPath(path, 'r+'),
  rename: (from: string, to: string) => rename(from, to),
  fsyncDir: (dir: string) => fsyncPath(dir, 'r'),
  async truncateDurable(path: string, length: number): Promise<void> {
    await truncate(path, length);
    await fsyncPath(path, 'r+');
  },
});

/**
 * An in-memory Fs that models what survives a power cut: file data is durable only after fsync,
 * directory entries (creations, renames) only after fsyncDir — or, with `crash({ journal: k })`,
 * the first k directory operations since the last fsyncDir (an ordered metadata journal, as ext4
 * has). `fail` injects an error into the n-th call of an operation.
 */
import type { Fs } from '../../src/state/fs.js';

interface Inode {
  data: Uint8Array;
  durable: Uint8Array | null;
}

type DirOp =
  | { op: 'link'; path: string; inode: Inode }
  | { op: 'rename'; from: string; to: string };

export type FsOp = keyof Fs;

function enoent(path: string): Error {
  return Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
}

export class MemFs implements Fs {
  private dir = new Map<string, Inode>();
  private durableDir = new Map<string, Inode>();
  private journal: DirOp[] = [];
  readonly calls: { op: FsOp; path: string }[] = [];
  /** Return an error to make that call fail (before it has any effect). */
  fail: ((op: FsOp, path: string, callIndex: number) => Error | undefined) | null = null;

  private hit(op: FsOp, path: string): void {
    this.calls.push({ op, path });
    const e = this.fail?.(op, path, this.calls.length - 1);
    if (e !== undefined) throw e;
  }

  private link(path: string, inode: Inode): void {
    this.dir.set(path, inode);
    this.journal.push({ op: 'link', path, inode });
  }

  async readFile(path: string): Promise<Uint8Array | null> {
    this.hit('readFile', path);
    const n = this.dir.get(path);
    return n === undefined ? null : Uint8Array.from(n.data);
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    this.hit('writeFile', path);
    const n = this.dir.get(path);
    if (n !== undefined) n.data = Uint8Array.from(data);
    else this.link(path, { data: Uint8Array.from(data), durable: null });
  }

  async appendFileDurable(path: string, data: Uint8Array): Promise<void> {
    this.hit('appendFileDurable', path);
    let n = this.dir.get(path);
    if (n === undefined) {
      n = { data: new Uint8Array(0), durable: null };
      this.link(path, n);
    }
    const next = new Uint8Array(n.data.length + data.length);
    next.set(n.data, 0);
    next.set(data, n.data.length);
    n.data = next;
    n.durable = Uint8Array.from(next);
  }

  async fsyncFile(path: string): Promise<void> {
    this.hit('fsyncFile', path);
    const n = this.dir.get(path);
    if (n === undefined) throw enoent(path);
    n.durable = Uint8Array.from(n.data);
  }

  async rename(from: string, to: string): Promise<void> {
    this.hit('rename', from);
    const n = this.dir.get(from);
    if (n === undefined) throw enoent(from);
    this.dir.delete(from);
    this.dir.set(to, n);
    this.journal.push({ op: 'rename', from, to });
  }

  async fsyncDir(dir: string): Promise<void> {
    this.hit('fsyncDir', dir);
    this.durableDir = new Map(this.dir);
    this.journal = [];
  }

  async truncateDurable(path: string, length: number): Promise<void> {
    this.hit('truncateDurable', path);
    const n = this.dir.get(path);
    if (n === undefined) throw enoent(path);
    n.data = n.data.slice(0, length);
    n.durable = Uint8Array.from(n.data);
  }

  /** Number of directory operations not yet made durable. */
  get pendingDirOps(): number {
    return this.journal.length;
  }

  /** The file system as it comes back after a power cut now. */
  crash(options: { journal?: number } = {}): MemFs {
    const dir = new Map(this.durableDir);
    for (const op of this.journal.slice(0, options.journal ?? 0)) {
      if (op.op === 'link') dir.set(op.path, op.inode);
      else {
        const n = dir.get(op.from);
        if (n !== undefined) {
          dir.delete(op.from);
          dir.set(op.to, n);
        }
      }
    }
    const out = new MemFs();
    const copies = new Map<Inode, Inode>();
    for (const [path, n] of dir) {
      let c = copies.get(n);
      if (c === undefined) {
        const data = n.durable === null ? new Uint8Array(0) : Uint8Array.from(n.durable);
        c = { data, durable: Uint8Array.from(data) };
        copies.set(n, c);
      }
      out.dir.set(path, c);
    }
    out.durableDir = new Map(out.dir);
    return out;
  }

  /** Test access: raw file bytes, or replace them (durably). */
  peek(path: string): Uint8Array | undefined {
    const n = this.dir.get(path);
    return n === undefined ? undefined : Uint8Array.from(n.data);
  }

  poke(path: string, data: Uint8Array | null): void {
    if (data === null) {
      this.dir.delete(path);
    } else {
      this.dir.set(path, { data: Uint8Array.from(data), durable: Uint8Array.from(data) });
    }
    this.durableDir = new Map(this.dir);
    this.journal = [];
  }

  paths(): string[] {
    return [...this.dir.keys()].sort();
  }
}

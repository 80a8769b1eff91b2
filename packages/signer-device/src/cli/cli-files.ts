/**
 * The CLI's own file access (documents, approvals, bundles, exports, pinned-key lists): bounded
 * reads, and writes that never overwrite (`wx`) and are fsynced. Key files go through
 * keystore/key-file.ts (`readKeyFile`, `writeKeyFile`) instead.
 */
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { SignerError } from '../errors.js';
import { absolutePath } from './cli-options.js';

function ioError(place: string, path: string, e: unknown): SignerError {
  const code = (e as { code?: unknown }).code;
  return new SignerError(
    'IO',
    `${place}: expected to access ${path}, got ${typeof code === 'string' ? code : 'an error'}`,
    { path },
    { cause: e },
  );
}

/** Reads a file of at most `maxBytes` (size checked before reading). */
export async function readBoundedFile(
  place: string,
  path: string,
  maxBytes: number,
): Promise<Uint8Array> {
  const abs = absolutePath(path);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(abs, constants.O_RDONLY);
    const { size } = await handle.stat();
    if (size > maxBytes) {
      throw new SignerError('IO', `${place}: expected at most ${maxBytes} bytes, got ${size}`, {
        path: abs,
      });
    }
    return new Uint8Array(await handle.readFile());
  } catch (e) {
    if (e instanceof SignerError) throw e;
    throw ioError(place, abs, e);
  } finally {
    await handle?.close();
  }
}

/** Reads a UTF-8 text file of at most `maxBytes`; invalid UTF-8 is refused. */
export async function readTextFile(place: string, path: string, maxBytes: number): Promise<string> {
  const bytes = await readBoundedFile(place, path, maxBytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SignerError('IO', `${place}: expected UTF-8 text in ${path}, got invalid bytes`);
  }
}

/** Writes to a NEW path (refuses to overwrite), fsyncs the file. */
export async function writeNewFile(
  place: string,
  path: string,
  content: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  const abs = absolutePath(path);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(abs, 'wx', mode);
    await handle.writeFile(content);
    await handle.sync();
  } catch (e) {
    if ((e as { code?: unknown }).code === 'EEXIST') {
      throw new SignerError(
        'IO',
        `${place}: expected a new path, got an existing file at ${abs}: refusing to overwrite`,
        { path: abs },
      );
    }
    throw ioError(place, abs, e);
  } finally {
    await handle?.close();
  }
}

/** Throws IO unless `dir` is an existing directory. */
export async function assertDirectory(place: string, dir: string): Promise<string> {
  const abs = absolutePath(dir);
  let isDir = false;
  try {
    isDir = (await stat(abs)).isDirectory();
  } catch (e) {
    throw ioError(place, abs, e);
  }
  if (!isDir) throw new SignerError('IO', `${place}: expected a directory at ${abs}`);
  return abs;
}

/** Throws IO when `path` exists (checked before any key is made, so nothing is half-written). */
export async function assertAbsent(place: string, path: string): Promise<void> {
  try {
    await stat(path);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return;
    throw ioError(place, path, e);
  }
  throw new SignerError(
    'IO',
    `${place}: expected a new path, got an existing file at ${path}: refusing to overwrite`,
    { path },
  );
}

import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readConsolePassphrase, readPassphraseFile } from '../../src/daemon/console-passphrase.js';
import { isSignerError, type SignerError } from '../../src/errors.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A fake terminal: a PassThrough with raw mode, recording every raw-mode change and output. */
class FakeTty extends PassThrough {
  isRaw = false;
  readonly rawModes: boolean[] = [];
  setRawMode(mode: boolean): this {
    this.isRaw = mode;
    this.rawModes.push(mode);
    return this;
  }
}
function fakeTerminal() {
  const input = new FakeTty();
  const written: string[] = [];
  const output = { write: (s: string) => void written.push(s) };
  return { input, output, written };
}

async function rejection(p: Promise<unknown>): Promise<SignerError> {
  try {
    await p;
  } catch (e) {
    if (isSignerError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection with a SignerError');
}

describe('readConsolePassphrase', () => {
  it('reads typed bytes with echo off and restores the terminal', async () => {
    const t = fakeTerminal();
    const reading = readConsolePassphrase({ ...t, prompt: 'Holder A passphrase: ' });
    t.input.write(Buffer.from('hun'));
    t.input.write(Buffer.from('ter2\r'));
    const bytes = await reading;
    expect(bytes).toEqual(enc('hunter2'));
    expect(t.input.rawModes).toEqual([true, false]);
    expect(t.written).toEqual(['Holder A passphrase: ', '\n']);
  });

  it('wipes each chunk it was handed', async () => {
    const t = fakeTerminal();
    const chunk = Buffer.from('s3cret\r');
    const reading = readConsolePassphrase(t);
    t.input.write(chunk);
    await reading;
    expect(chunk.every((b) => b === 0)).toBe(true);
  });

  it('handles Backspace across a multi-byte character, and NFKC-normalises', async () => {
    const t = fakeTerminal();
    const reading = readConsolePassphrase(t);
    t.input.write(Buffer.from('cafx\x7fe\u0301\r'));
    expect(await reading).toEqual(enc('caf\u00e9'));
  });

  it('Ctrl-C aborts with IO reason aborted and restores raw mode', async () => {
    const t = fakeTerminal();
    const reading = readConsolePassphrase(t);
    t.input.write(Buffer.from('half-typed\x03'));
    const e = await rejection(reading);
    expect(e.code).toBe('IO');
    expect(e.detail.reason).toBe('aborted');
    expect(e.message).not.toContain('half-typed');
    expect(t.input.rawModes).toEqual([true, false]);
  });

  it('end of input aborts', async () => {
    const t = fakeTerminal();
    const reading = readConsolePassphrase(t);
    t.input.end(Buffer.from('no enter'));
    expect((await rejection(reading)).detail.reason).toBe('aborted');
  });

  it('an over-long line is refused as soon as it passes 1024 bytes', async () => {
    const t = fakeTerminal();
    const reading = readConsolePassphrase(t);
    t.input.write(Buffer.from('y'.repeat(1025)));
    const e = await rejection(reading);
    expect(e.code).toBe('WRONG_PASSPHRASE');
    expect(e.detail.reason).toBe('too_long');
  });

  it('an empty line is refused', async () => {
    const t = fakeTerminal();
    const reading = readConsolePassphrase(t);
    t.input.write(Buffer.from('\r'));
    expect((await rejection(reading)).detail.reason).toBe('empty');
  });

  it('an abort signal stops reading', async () => {
    const t = fakeTerminal();
    const controller = new AbortController();
    const reading = readConsolePassphrase({ ...t, signal: controller.signal });
    t.input.write(Buffer.from('abc'));
    controller.abort();
    expect((await rejection(reading)).detail.reason).toBe('aborted');
    expect(t.input.rawModes).toEqual([true, false]);
  });

  it('refuses a stream that cannot turn echo off', async () => {
    const input = new PassThrough();
    const e = await rejection(readConsolePassphrase({ input, output: { write: () => true } }));
    expect(e.code).toBe('IO');
    expect(e.message).toContain('raw mode');
  });

  it('refuses one of input/output without the other', async () => {
    const e = await rejection(readConsolePassphrase({ input: new FakeTty() }));
    expect(e.code).toBe('BAD_CONFIG');
  });
});

describe('readPassphraseFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyline-pass-'));
  const file = (name: string, content: string | Uint8Array, mode: number): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  };
  const refusal = (f: () => unknown): SignerError => {
    try {
      f();
    } catch (e) {
      if (isSignerError(e)) return e;
      throw e;
    }
    throw new Error('expected a SignerError');
  };

  it('reads a 0600 file, dropping one trailing newline', () => {
    expect(readPassphraseFile(file('ok', 'pass word\n', 0o600))).toEqual(enc('pass word'));
    expect(readPassphraseFile(file('crlf', 'pw\r\n', 0o400))).toEqual(enc('pw'));
  });

  it('refuses a file readable by group or others', () => {
    for (const [name, mode] of [
      ['g', 0o640],
      ['o', 0o604],
      ['w', 0o620],
      ['all', 0o644],
    ] as const) {
      const e = refusal(() => readPassphraseFile(file(name, 'pw', mode)));
      expect(e.code).toBe('BAD_CONFIG');
      expect(e.message).toContain('expected mode 0600 or stricter');
    }
  });

  it('refuses a symlink, even to a 0600 file', () => {
    const target = file('target', 'pw', 0o600);
    const link = join(dir, 'link');
    symlinkSync(target, link);
    expect(refusal(() => readPassphraseFile(link)).message).toContain('symlink');
  });

  it('refuses a file owned by another user', () => {
    const path = file('owned', 'pw', 0o600);
    const uid = process.getuid?.() ?? 0;
    expect(refusal(() => readPassphraseFile(path, { expectedUid: uid + 1 })).message).toContain(
      'owned by uid',
    );
  });

  it('refuses a second line, control bytes and over-long content', () => {
    expect(refusal(() => readPassphraseFile(file('two', 'a\nb\n', 0o600))).detail.reason).toBe(
      'control_bytes',
    );
    expect(
      refusal(() => readPassphraseFile(file('long', 'z'.repeat(1025), 0o600))).detail.reason,
    ).toBe('too_long');
    expect(
      refusal(() => readPassphraseFile(file('huge', 'z'.repeat(5000), 0o600))).detail.reason,
    ).toBe('too_long');
    expect(readPassphraseFile(file('max', `${'z'.repeat(1024)}\n`, 0o600)).length).toBe(1024);
  });

  it('a missing file is IO; a relative path is BAD_CONFIG', () => {
    expect(refusal(() => readPassphraseFile(join(dir, 'absent'))).code).toBe('IO');
    expect(refusal(() => readPassphraseFile('relative/pass')).code).toBe('BAD_CONFIG');
  });
});

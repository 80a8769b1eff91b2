import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_PASSPHRASE_BYTES,
  normalizePassphrase,
  PassphraseEditor,
} from '../../src/daemon/passphrase-editor.js';
import { isSignerError } from '../../src/errors.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function typed(...chunks: string[]): { status: string; bytes?: Uint8Array } {
  const editor = new PassphraseEditor();
  let status = editor.status as string;
  for (const c of chunks) status = editor.feed(enc(c));
  return status === 'done' ? { status, bytes: editor.take() } : { status };
}

function reasonOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    if (isSignerError(e, 'WRONG_PASSPHRASE')) return e.detail.reason;
    throw e;
  }
  return 'no error';
}

describe('PassphraseEditor', () => {
  it('collects bytes until Enter (CR or LF)', () => {
    expect(typed('hunter', '2\r')).toEqual({ status: 'done', bytes: enc('hunter2') });
    expect(typed('a b\n')).toEqual({ status: 'done', bytes: enc('a b') });
  });

  it('Backspace and DEL remove one whole UTF-8 character', () => {
    expect(typed('abé\x7fc\r').bytes).toEqual(enc('abc'));
    expect(typed('ab€\x08\x08x\r').bytes).toEqual(enc('ax'));
    expect(typed('a😀\x7f\r').bytes).toEqual(enc('a'));
    expect(typed('\x7f\x7fz\r').bytes).toEqual(enc('z'));
  });

  it('Ctrl-U clears the line', () => {
    expect(typed('wrong\x15right\r').bytes).toEqual(enc('right'));
  });

  it('ignores escape sequences and other control bytes', () => {
    expect(typed('a\x1b[Db\x1bOPc\x1b[1;5Cd\x1bxe\t\x17f\r').bytes).toEqual(enc('abcdef'));
  });

  it('Ctrl-C and Ctrl-D abort, and the typed bytes are wiped', () => {
    for (const key of ['\x03', '\x04']) {
      const editor = new PassphraseEditor();
      expect(editor.feed(enc(`secret${key}more\r`))).toBe('aborted');
      expect(editor.length).toBe(0);
      expect(() => editor.take()).toThrow(/expected a finished line/);
    }
  });

  it('stops at the cap: 1024 bytes pass, 1025 do not', () => {
    expect(typed(`${'x'.repeat(MAX_PASSPHRASE_BYTES)}\r`).bytes?.length).toBe(1024);
    const editor = new PassphraseEditor();
    expect(editor.feed(enc('x'.repeat(MAX_PASSPHRASE_BYTES + 1)))).toBe('too_long');
    expect(editor.length).toBe(0);
  });

  it('ignores bytes after the line ends', () => {
    const editor = new PassphraseEditor();
    expect(editor.feed(enc('one\rtwo'))).toBe('done');
    expect(editor.feed(enc('three\r'))).toBe('done');
    expect(editor.take()).toEqual(enc('one'));
  });

  it('any split of the input into chunks gives the same line', () => {
    const line = enc('pässwörd with € and 😀\x7f!\r');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: line.length }), { maxLength: 6 }), (cuts) => {
        const points = [...new Set([0, ...cuts, line.length])].sort((a, b) => a - b);
        const editor = new PassphraseEditor();
        for (let i = 0; i + 1 < points.length; i++) {
          editor.feed(line.slice(points[i], points[i + 1]));
        }
        expect(editor.take()).toEqual(enc('pässwörd with € and !'));
      }),
    );
  });
});

describe('normalizePassphrase', () => {
  it('maps the same passphrase typed two ways to the same NFKC bytes', () => {
    const composed = normalizePassphrase(enc('caf\u00e9'));
    const decomposed = normalizePassphrase(enc('cafe\u0301'));
    expect(decomposed).toEqual(composed);
    expect(composed).toEqual(new Uint8Array([0x63, 0x61, 0x66, 0xc3, 0xa9]));
    expect(normalizePassphrase(enc('\uff21\uff22'))).toEqual(enc('AB'));
  });

  it('wipes its input on every path', () => {
    const ok = enc('ascii');
    normalizePassphrase(ok);
    expect(ok.every((b) => b === 0)).toBe(true);
    const bad = new Uint8Array([0x61, 0xff]);
    expect(reasonOf(() => normalizePassphrase(bad))).toBe('invalid_utf8');
    expect(bad.every((b) => b === 0)).toBe(true);
  });

  it('refuses empty, invalid UTF-8 and too long after normalisation', () => {
    expect(reasonOf(() => normalizePassphrase(new Uint8Array(0)))).toBe('empty');
    expect(reasonOf(() => normalizePassphrase(new Uint8Array([0xc3])))).toBe('invalid_utf8');
    // U+337F (3 bytes) expands to four CJK characters (12 bytes) under NFKC.
    const expanding = enc('\u337f'.repeat(100));
    expect(expanding.length).toBeLessThanOrEqual(MAX_PASSPHRASE_BYTES);
    expect(reasonOf(() => normalizePassphrase(expanding))).toBe('too_long');
  });
});

/**
 * The pure part of reading a passphrase: a byte-level line editor fed with raw-mode terminal
 * bytes (no echo, no I/O), and the NFKC normalisation of the finished line. The bytes live in one
 * fixed `Uint8Array` that is wiped whenever bytes leave it or the line is abandoned; a JS string
 * exists only while normalising a non-ASCII passphrase (see `normalizePassphrase`).
 * docs/daemon.md §3.
 */
import { SignerError } from '../errors.js';

/** Longest passphrase in UTF-8 bytes, before and after normalisation. */
export const MAX_PASSPHRASE_BYTES = 1024;

/** The terminal bytes the editor acts on (raw mode: the kernel does not interpret them). */
export const EDITOR_KEYS = Object.freeze({
  CTRL_C: 0x03,
  CTRL_D: 0x04,
  BACKSPACE: 0x08,
  LF: 0x0a,
  CR: 0x0d,
  CTRL_U: 0x15,
  ESC: 0x1b,
  DEL: 0x7f,
});

export type EditorStatus = 'reading' | 'done' | 'aborted' | 'too_long';

const PLACE = 'daemon/passphrase';

/**
 * Raw terminal bytes in, one passphrase line out. Enter (CR or LF) ends the line; Backspace/DEL
 * removes the last UTF-8 character; Ctrl-U clears the line; Ctrl-C and Ctrl-D abort; escape
 * sequences (arrow keys, function keys) and other control bytes are ignored; going past
 * `max` bytes stops with `too_long`. Once not `reading`, further bytes are ignored.
 */
export class PassphraseEditor {
  readonly #buffer: Uint8Array;
  readonly #max: number;
  #length = 0;
  /** 0: normal; 1: after ESC; 2: inside a CSI/SS3 sequence. */
  #escape: 0 | 1 | 2 = 0;
  #status: EditorStatus = 'reading';

  constructor(max: number = MAX_PASSPHRASE_BYTES) {
    if (!Number.isSafeInteger(max) || max < 1 || max > 64 * 1024) {
      throw new SignerError('BAD_CONFIG', `${PLACE}: expected max 1..65536, got ${String(max)}`);
    }
    this.#max = max;
    this.#buffer = new Uint8Array(max);
  }

  get status(): EditorStatus {
    return this.#status;
  }

  /** Bytes typed so far (for tests and for a "nothing typed" check; never the bytes). */
  get length(): number {
    return this.#length;
  }

  /** Feed raw bytes; returns the status after them. Does not keep a reference to `bytes`. */
  feed(bytes: Uint8Array): EditorStatus {
    for (let i = 0; i < bytes.length && this.#status === 'reading'; i++) {
      this.#byte(bytes[i] ?? 0);
    }
    if (this.#status !== 'reading' && this.#status !== 'done') this.wipe();
    return this.#status;
  }

  #byte(b: number): void {
    if (this.#escape === 1) {
      this.#escape = b === 0x5b || b === 0x4f ? 2 : 0; // '[' CSI or 'O' SS3; else Alt+key: drop
      return;
    }
    if (this.#escape === 2) {
      if (b >= 0x40 && b <= 0x7e) this.#escape = 0; // final byte of the sequence
      return;
    }
    switch (b) {
      case EDITOR_KEYS.CTRL_C:
      case EDITOR_KEYS.CTRL_D:
        this.#status = 'aborted';
        return;
      case EDITOR_KEYS.CR:
      case EDITOR_KEYS.LF:
        this.#status = 'done';
        return;
      case EDITOR_KEYS.BACKSPACE:
      case EDITOR_KEYS.DEL:
        this.#backspace();
        return;
      case EDITOR_KEYS.CTRL_U:
        this.wipe();
        return;
      case EDITOR_KEYS.ESC:
        this.#escape = 1;
        return;
    }
    if (b < 0x20) return; // other control bytes (Tab, Ctrl-W, ...) are not part of a passphrase
    if (this.#length >= this.#max) {
      this.#status = 'too_long';
      return;
    }
    this.#buffer[this.#length++] = b;
  }

  /** Remove the last UTF-8 character: its continuation bytes (10xxxxxx), then its lead byte. */
  #backspace(): void {
    while (this.#length > 0) {
      const b = this.#buffer[--this.#length] ?? 0;
      this.#buffer[this.#length] = 0;
      if ((b & 0xc0) !== 0x80) return;
    }
  }

  /** The finished line as a fresh array (the caller wipes it); the editor's copy is wiped. */
  take(): Uint8Array {
    if (this.#status !== 'done') {
      throw new SignerError(
        'BAD_CONFIG',
        `${PLACE}: expected a finished line, got ${this.#status}`,
      );
    }
    const out = this.#buffer.slice(0, this.#length);
    this.wipe();
    return out;
  }

  /** Zero every byte typed. */
  wipe(): void {
    this.#buffer.fill(0);
    this.#length = 0;
  }
}

function refuse(reason: string, message: string): never {
  throw new SignerError('WRONG_PASSPHRASE', `${PLACE}: ${message}`, { reason });
}

/**
 * NFKC-normalise a UTF-8 passphrase, so that the same passphrase typed on two keyboards (composed
 * vs decomposed accents, full-width vs ASCII forms) gives the same bytes. ASCII is its own NFKC
 * form and never becomes a string. Other input is decoded (invalid UTF-8 is refused), normalised
 * and re-encoded; those intermediate strings cannot be wiped and are left to the GC — documented.
 * Always consumes `raw`: it is wiped, and a new array is returned.
 */
export function normalizePassphrase(
  raw: Uint8Array,
  max: number = MAX_PASSPHRASE_BYTES,
): Uint8Array {
  try {
    if (raw.length === 0) refuse('empty', 'expected a passphrase, got an empty line');
    if (raw.length > max) refuse('too_long', `expected at most ${max} bytes, got more`);
    if (raw.every((b) => b < 0x80)) return raw.slice();
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      refuse('invalid_utf8', 'expected UTF-8 text, got invalid bytes');
    }
    const out = new TextEncoder().encode(text.normalize('NFKC'));
    if (out.length > max) {
      out.fill(0);
      refuse('too_long', `expected at most ${max} bytes after NFKC normalisation, got more`);
    }
    return out;
  } finally {
    raw.fill(0);
  }
}

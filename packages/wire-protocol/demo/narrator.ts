/**
 * Prints the demo's steps as they happen, each stamped with the time since the start. A live
 * progress line rewrites itself in place on a terminal; in a log (not a TTY) it is printed at
 * most once a second so that captured output stays short.
 */
export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

const LOG_PROGRESS_EVERY_MS = 1000;

export class Narrator {
  private readonly start = performance.now();
  private progressShown = false;
  private lastLogged = Number.NEGATIVE_INFINITY;

  constructor(private readonly out: Output) {}

  title(text: string): void {
    this.out.write(`${text}\n${'='.repeat(Math.min(text.length, 100))}\n`);
  }

  step(text: string): void {
    this.endProgress();
    this.out.write(`[${this.elapsed()}] ${text}\n`);
  }

  detail(text: string): void {
    this.endProgress();
    this.out.write(`${' '.repeat(11)}${text}\n`);
  }

  progress(text: string): void {
    if (this.out.isTTY === true) {
      this.out.write(`\r\x1b[2K[${this.elapsed()}]   ${text}`);
      this.progressShown = true;
      return;
    }
    const now = performance.now();
    if (now - this.lastLogged < LOG_PROGRESS_EVERY_MS) return;
    this.lastLogged = now;
    this.out.write(`[${this.elapsed()}]   ${text}\n`);
  }

  /** Finish a live progress line so the next output starts on a fresh line. */
  endProgress(): void {
    if (!this.progressShown) return;
    this.progressShown = false;
    this.out.write('\n');
  }

  private elapsed(): string {
    return `${((performance.now() - this.start) / 1000).toFixed(2).padStart(6)} s`;
  }
}

/**
 * The lines a viewer follows: numbered sections, steps stamped with the time since the start,
 * indented details, and a live progress line (rewritten in place on a terminal, printed at most
 * once every two seconds in a log, so a captured run stays readable).
 */
export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

const LOG_PROGRESS_EVERY_MS = 2000;

export class Narrator {
  private readonly start = performance.now();
  private section = 0;
  private progressShown = false;
  private lastProgress = '';
  private lastLogged = Number.NEGATIVE_INFINITY;

  constructor(private readonly out: Output) {}

  /** Seconds since the narrator was made. */
  get elapsedSeconds(): number {
    return (performance.now() - this.start) / 1000;
  }

  title(text: string): void {
    this.out.write(`${text}\n${'='.repeat(Math.min(text.length, 100))}\n`);
  }

  heading(text: string): void {
    this.endProgress();
    this.section += 1;
    this.out.write(`\n${this.section}. ${text}\n`);
  }

  step(text: string): void {
    this.endProgress();
    this.out.write(`[${this.elapsed()}] ${text}\n`);
  }

  detail(text: string): void {
    this.endProgress();
    this.out.write(`${' '.repeat(11)}${text}\n`);
  }

  warn(text: string): void {
    this.endProgress();
    this.out.write(`[${this.elapsed()}] !! ${text}\n`);
  }

  /** A live status line; repeated identical text is not printed again in a log. */
  progress(text: string): void {
    if (this.out.isTTY === true) {
      this.out.write(`\r\x1b[2K[${this.elapsed()}]   ${text}`);
      this.progressShown = true;
      return;
    }
    const now = performance.now();
    if (text === this.lastProgress || now - this.lastLogged < LOG_PROGRESS_EVERY_MS) return;
    this.lastLogged = now;
    this.lastProgress = text;
    this.out.write(`[${this.elapsed()}]   ${text}\n`);
  }

  /** Raw text (the summary block, the final JSON line). */
  raw(text: string): void {
    this.endProgress();
    this.out.write(text);
  }

  endProgress(): void {
    if (!this.progressShown) return;
    this.progressShown = false;
    this.out.write('\n');
  }

  private elapsed(): string {
    return `${this.elapsedSeconds.toFixed(1).padStart(6)} s`;
  }
}

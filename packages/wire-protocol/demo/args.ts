import { WireError } from '../src/errors.js';
import { MAX_BAUD_RATE, MIN_BAUD_RATE } from '../src/serial-transport.js';

/** Command line of the link demo. */
export interface DemoSettings {
  /** Line rate both ends pace their writes at (8N1). */
  readonly baud: number;
  /** Run the noisy-line segment. */
  readonly faults: boolean;
  /** socat executable (tests point it elsewhere to check the "missing" message). */
  readonly socatPath: string;
}

export const DEMO_USAGE = 'usage: link-demo [--baud N] [--no-faults] [--socat PATH]';

export function parseDemoArgs(argv: readonly string[]): DemoSettings {
  let baud = 115_200;
  let faults = true;
  let socatPath = 'socat';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--no-faults') {
      faults = false;
    } else if (arg === '--baud') {
      const text = argv[++i];
      const n = Number(text);
      if (text === undefined || !Number.isInteger(n) || n < MIN_BAUD_RATE || n > MAX_BAUD_RATE) {
        throw new WireError(
          'BAD_PARAMS',
          `link-demo/args: expected --baud an integer in ${MIN_BAUD_RATE}..${MAX_BAUD_RATE}, got ${String(text)}`,
        );
      }
      baud = n;
    } else if (arg === '--socat') {
      const text = argv[++i];
      if (text === undefined || text.length === 0) {
        throw new WireError(
          'BAD_PARAMS',
          'link-demo/args: expected a path after --socat, got none',
        );
      }
      socatPath = text;
    } else {
      throw new WireError(
        'BAD_PARAMS',
        `link-demo/args: expected --baud N, --no-faults or --socat PATH, got ${String(arg)} (${DEMO_USAGE})`,
      );
    }
  }
  return Object.freeze({ baud, faults, socatPath });
}

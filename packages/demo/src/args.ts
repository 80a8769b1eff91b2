/** The demo's command line, parsed with node:util and checked with zod, then frozen. */
import { parseArgs } from 'node:util';
import { z } from './deps.js';
import { DemoError } from './wait.js';

export const USAGE = `usage: pnpm demo [-- options]

  --once            run the scenario, print the summary, shut down, exit
                    (non-zero if any expected outcome did not happen)
  --keep            keep the work directory (keys, configs, databases, logs)
  --users N         users who deposit (10..200, default 30)
  --baud N          serial line rate the relays pace at (default 115200)
  --from-source     run keyline-signer / keyline-coordinator from their TypeScript
                    sources (tsx) instead of the built dist/
  --no-build        fail instead of running \`pnpm -r run build\` when a dist/ is missing
  --timeout S       give up on any single step after S seconds (default 120)
  --faults          inject line faults in every relay: bit errors at 1e-4, dropped bytes,
                    and a 5-second disconnect of signer-a's line once the scenario runs
  -h, --help        this text

Without --once the system keeps serving after the summary until Ctrl-C.`;

const settingsSchema = z.strictObject({
  once: z.boolean(),
  keep: z.boolean(),
  users: z.coerce.number().int().min(10).max(200),
  baud: z.coerce.number().int().min(1200).max(4_000_000),
  fromSource: z.boolean(),
  faults: z.boolean(),
  stepTimeoutMs: z.coerce
    .number()
    .int()
    .min(10)
    .max(3600)
    .transform((s) => s * 1000),
  help: z.boolean(),
});

export type DemoSettings = Readonly<z.infer<typeof settingsSchema>>;

export function parseDemoArgs(argv: readonly string[]): DemoSettings {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv].filter((a) => a !== '--'),
      options: {
        once: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        users: { type: 'string', default: '30' },
        baud: { type: 'string', default: '115200' },
        'from-source': { type: 'boolean', default: false },
        'no-build': { type: 'boolean', default: false },
        faults: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '120' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new DemoError(
      `demo/args: expected the options below, got ${e instanceof Error ? e.message : String(e)}\n${USAGE}`,
    );
  }
  const parsed = settingsSchema.safeParse({
    once: values.once,
    keep: values.keep,
    users: values.users,
    baud: values.baud,
    fromSource: values['from-source'],
    faults: values.faults,
    stepTimeoutMs: values.timeout,
    help: values.help,
  });
  if (!parsed.success) {
    throw new DemoError(
      `demo/args: expected valid options, got ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}\n${USAGE}`,
    );
  }
  return Object.freeze(parsed.data);
}

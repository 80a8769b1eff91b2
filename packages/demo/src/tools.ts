/**
 * Where the two command-line tools the demo drives come from: the launchers the packages ship
 * (`bin/keyline-signer.js`, `bin/keyline-coordinator.js`, which run the built `dist/`), or — with
 * `--from-source` — the same `main()` from the TypeScript sources through tsx, for a checkout whose
 * `dist/` is missing or older than its sources.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tool } from './processes.js';
import { DemoError } from './wait.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** packages/ */
export const PACKAGES_DIR = join(HERE, '..', '..');
export const DEMO_DIR = join(HERE, '..');

export interface Tools {
  readonly signer: Tool;
  readonly coordinator: Tool;
  readonly fromSource: boolean;
}

export function resolveTools(fromSource: boolean): Tools {
  const node = process.execPath;
  if (fromSource) {
    const entry = (name: string) => join(HERE, 'entries', name);
    return Object.freeze({
      fromSource,
      signer: {
        file: node,
        prefix: ['--import', 'tsx', entry('signer-cli.ts')],
        label: 'keyline-signer',
      },
      coordinator: {
        file: node,
        prefix: ['--import', 'tsx', entry('coordinator-cli.ts')],
        label: 'keyline-coordinator',
      },
    });
  }
  const bin = (pkg: string, name: string, dist: string) => {
    const launcher = join(PACKAGES_DIR, pkg, 'bin', name);
    if (!existsSync(join(PACKAGES_DIR, pkg, 'dist', dist))) {
      throw new DemoError(
        `demo/tools: expected the built ${pkg} (${join(pkg, 'dist', dist)}), got none; run \`pnpm build\` or pass --from-source`,
      );
    }
    return { file: node, prefix: [launcher], label: name.replace(/\.js$/, '') };
  };
  return Object.freeze({
    fromSource,
    signer: bin('signer-device', 'keyline-signer.js', 'cli/main.js'),
    coordinator: bin('coordinator', 'keyline-coordinator.js', 'cli/main.js'),
  });
}

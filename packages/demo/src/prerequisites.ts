/**
 * What must exist before the demo's modules load (node built-ins only here, so that the checks
 * run even on a fresh clone): `socat`, and the built `dist/` of the four packages the demo runs
 * or imports. `dist/` is not in git, so on a fresh clone (after `pnpm install`) the demo builds
 * the workspace once (`pnpm -r run build`, the root `pnpm build`). A `dist/` older than its
 * sources is only reported: rebuild, or pass --from-source to run the two CLIs from TypeScript.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Package → files of its dist the demo needs. */
const NEEDED: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'wire-protocol': ['index.js', 'serial-transport.js', 'testing.js'],
  devnet: ['index.js'],
  'signer-device': ['index.js', 'cli/main.js'],
  coordinator: ['index.js', 'cli/main.js'],
});

export function socatMissing(): boolean {
  const probe = spawnSync('socat', ['-V'], { stdio: 'ignore' });
  return (probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

export function missingDists(packagesDir: string): string[] {
  const missing: string[] = [];
  for (const [pkg, files] of Object.entries(NEEDED)) {
    for (const f of files) {
      const p = join(packagesDir, pkg, 'dist', f);
      if (!existsSync(p)) missing.push(join(pkg, 'dist', f));
    }
  }
  return missing;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, name.name);
    if (name.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (name.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/** Packages whose `src/` has a file newer than their built CLI or index. */
export function staleDists(packagesDir: string): string[] {
  const stale: string[] = [];
  for (const [pkg, files] of Object.entries(NEEDED)) {
    const built = Math.min(
      ...files.map((f) => statSync(join(packagesDir, pkg, 'dist', f)).mtimeMs),
    );
    if (newestMtime(join(packagesDir, pkg, 'src')) > built) stale.push(pkg);
  }
  return stale;
}

/** `pnpm -r run build` in the repository root, output shown; true on success. */
export function buildWorkspace(repoDir: string): boolean {
  const r = spawnSync('pnpm', ['-r', 'run', 'build'], { cwd: repoDir, stdio: 'inherit' });
  return r.status === 0;
}

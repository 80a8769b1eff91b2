import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// Repository-wide rules that no single package can check by itself.
const ROOT = join(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|js|mjs|cjs)$/.test(name)) out.push(full);
  }
  return out;
}

describe('repository rules', () => {
  it('imports serialport in exactly one file: the serial transport', () => {
    const importers = sourceFiles(join(ROOT, 'packages'))
      .filter((f) =>
        /from\s+['"]serialport['"]|require\(['"]serialport['"]\)/.test(readFileSync(f, 'utf8')),
      )
      .map((f) => relative(ROOT, f));
    expect(importers).toEqual(['packages/wire-protocol/src/serial-transport.ts']);
  });

  it('runs the README test command in CI', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
    expect(readme).toContain('pnpm test:all');
    expect(ci).toMatch(/^pnpm test:all$/m);
    expect(ci).toContain('pnpm install --frozen-lockfile');
    expect(ci).toMatch(/set -euo pipefail/);
  });

  it('pins every dependency to an exact version', () => {
    const manifests = [
      join(ROOT, 'package.json'),
      ...readdirSync(join(ROOT, 'packages')).map((p) => join(ROOT, 'packages', p, 'package.json')),
    ];
    for (const file of manifests) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string>>;
      for (const field of ['dependencies', 'devDependencies']) {
        for (const [name, range] of Object.entries(pkg[field] ?? {})) {
          expect(`${relative(ROOT, file)} ${name}@${range}`).toMatch(
            /@(\d+\.\d+\.\d+|workspace:\*)$/,
          );
        }
      }
    }
  });
});

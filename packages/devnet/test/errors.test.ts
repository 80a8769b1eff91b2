import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEVNET_ERROR_CODES } from '../src/errors.js';
import * as api from '../src/index.js';

describe('errors and public API', () => {
  it('documents every DevnetError code in README.md, and documents no code that does not exist', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Errors'));
    const documented = [...section.matchAll(/^\| `([A-Z_]+)`\s*\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(DEVNET_ERROR_CODES).sort());
  });

  it('exports startDevnet, DevnetNode and DevnetError', () => {
    expect(typeof api.startDevnet).toBe('function');
    expect(typeof api.DevnetNode).toBe('function');
    expect(new api.DevnetError('NOT_FOUND', 'x').code).toBe('NOT_FOUND');
    expect(api.REGTEST_GENESIS_HASH).toBe(
      '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
    );
  });
});

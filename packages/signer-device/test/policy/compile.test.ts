import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/policy/compile.js';
import { encodePolicyDocument, parsePolicyDocument } from '../../src/policy/document.js';
import { evaluatePolicy } from '../../src/policy/evaluate.js';
import { baseDoc, memory, NOW, script, summary } from './fixtures.js';

describe('compilePolicy', () => {
  it('a 50,000-entry deny list encodes, parses, compiles and evaluates', () => {
    const scripts = Array.from({ length: 50_000 }, (_, i) => script(10_000 + i));
    const bytes = encodePolicyDocument(baseDoc([{ type: 'denyDestinations', scripts }]));
    const policy = compilePolicy(parsePolicyDocument(bytes));
    const rule = policy.rules[0];
    expect(rule?.type === 'denyDestinations' && rule.scripts.size).toBe(50_000);
    const run = (s: Uint8Array) =>
      evaluatePolicy({
        summary: summary({ external: [{ script: s, amount: 1n }] }),
        intents: [],
        policy,
        memory: memory(),
        now: NOW,
      });
    expect(run(script(10_000 + 49_999))).toMatchObject({
      decision: 'refuse',
      reason: 'DESTINATION_DENIED',
    });
    expect(run(script(10_000 + 25_000))).toMatchObject({
      decision: 'refuse',
      reason: 'DESTINATION_DENIED',
    });
    expect(run(script(9_999)).decision).toBe('sign');
  });

  it('refuses more than 50,000 entries in one list', () => {
    const scripts = Array.from({ length: 50_001 }, (_, i) => script(i));
    expect(() => encodePolicyDocument(baseDoc([{ type: 'denyDestinations', scripts }]))).toThrow(
      /BAD|policy/,
    );
  });
});

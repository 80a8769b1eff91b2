/**
 * compilePolicy: built once per accepted policy, the form evaluation reads. Deny and allow lists
 * become hash-indexed sets keyed by the lower-case hex of the scriptPubKey, so a lookup costs one
 * hex conversion of the output script and one Set/Map probe, whatever the list's length.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { SignerError } from '../errors.js';
import { type PolicyDocument, validatePolicyDocument } from './document.js';
import type { PolicyRule } from './rules.js';

export type CompiledRule =
  | Exclude<PolicyRule, { type: 'denyDestinations' } | { type: 'allowDestinations' }>
  | { readonly type: 'denyDestinations'; readonly scripts: ReadonlySet<string> }
  | {
      readonly type: 'allowDestinations';
      /** script hex -> addedAt */
      readonly entries: ReadonlyMap<string, number>;
      readonly coolingOffSeconds: number;
    };

export interface CompiledPolicy {
  readonly document: PolicyDocument;
  readonly rules: readonly CompiledRule[];
  /** True when the rule list has `requireIntents`: intents are matched, withdrawals recorded. */
  readonly requiresIntents: boolean;
  /** True when the rule list has `maxReplacementFeeBump`: replacements may be signed. */
  readonly allowsReplacement: boolean;
}

/** Compile a document (validated again: the compiled form never holds an unchecked document). */
export function compilePolicy(document: PolicyDocument): CompiledPolicy {
  const place = 'policy/compile';
  const doc = validatePolicyDocument(place, document);
  const rules = doc.rules.map((rule, i): CompiledRule => {
    if (rule.type === 'denyDestinations') {
      return Object.freeze({ type: rule.type, scripts: new Set(rule.scripts.map(bytesToHex)) });
    }
    if (rule.type === 'allowDestinations') {
      const entries = new Map<string, number>();
      for (const e of rule.entries) {
        const key = bytesToHex(e.script);
        if (entries.has(key)) {
          throw new SignerError(
            'BAD_POLICY',
            `${place}: rules[${i}] allowDestinations: expected distinct scripts, got ${key} twice`,
          );
        }
        entries.set(key, e.addedAt);
      }
      return Object.freeze({ type: rule.type, entries, coolingOffSeconds: rule.coolingOffSeconds });
    }
    return Object.freeze({ ...rule });
  });
  return Object.freeze({
    document: doc,
    rules: Object.freeze(rules),
    requiresIntents: rules.some((r) => r.type === 'requireIntents'),
    allowsReplacement: rules.some((r) => r.type === 'maxReplacementFeeBump'),
  });
}

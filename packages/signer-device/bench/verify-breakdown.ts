/**
 * Diagnostic only: verifyPsbt's own steps timed one by one, by calling the exported step
 * functions in verifyPsbt's order (see src/psbt/verify-psbt.ts). Not part of the device path
 * total; it says which verification step carries the time.
 */
import { performance } from 'node:perf_hooks';
import { prescanPsbt } from '../src/psbt/parse-psbt.js';
import { Bip143Sighash } from '../src/psbt/sighash.js';
import { computeFee } from '../src/psbt/verify-fee.js';
import { checkInputs, OwnKeys } from '../src/psbt/verify-inputs.js';
import { checkOutputs } from '../src/psbt/verify-outputs.js';
import { parseWithLibrary } from '../src/psbt/verify-parse.js';
import { checkPrevouts } from '../src/psbt/verify-prevouts.js';
import type { VerifyContext } from '../src/psbt/verify-psbt.js';
import { checkStructure } from '../src/psbt/verify-structure.js';

export const VERIFY_STEPS = Object.freeze([
  'prescan',
  'parseWithLibrary',
  'checkStructure',
  'checkPrevouts',
  'checkInputs',
  'checkOutputs',
  'computeFee',
  'sighashes',
] as const);
export type VerifyStep = (typeof VERIFY_STEPS)[number];

/** One pass over `psbt` with a FRESH context (cold derivation cache); ms per step. */
export function verifyBreakdown(psbt: Uint8Array, ctx: VerifyContext): Record<VerifyStep, number> {
  const ms = Object.fromEntries(VERIFY_STEPS.map((s) => [s, 0])) as Record<VerifyStep, number>;
  let mark = performance.now();
  const lap = (s: VerifyStep): void => {
    const t = performance.now();
    ms[s] += t - mark;
    mark = t;
  };
  const pre = prescanPsbt(psbt, ctx.limits);
  lap('prescan');
  parseWithLibrary(pre);
  lap('parseWithLibrary');
  checkStructure(pre, ctx.txRules);
  lap('checkStructure');
  const prevouts = checkPrevouts(pre, ctx.limits);
  lap('checkPrevouts');
  const own = new OwnKeys(ctx.wallet, ctx.ownKeyIndex);
  const inputs = checkInputs(pre, prevouts, {
    wallet: ctx.wallet,
    ownKeyIndex: ctx.ownKeyIndex,
    own,
  });
  lap('checkInputs');
  const totalIn = inputs.reduce((a, f) => a + f.verified.amount, 0n);
  const outs = checkOutputs(pre, totalIn, ctx);
  lap('checkOutputs');
  computeFee(
    pre.tx,
    inputs.map((f) => f.witnessScript.length),
    totalIn,
    outs.totalOut,
  );
  lap('computeFee');
  const hasher = new Bip143Sighash({
    version: pre.tx.version,
    locktime: pre.tx.locktime,
    inputs: pre.tx.inputs,
    outputs: pre.tx.outputs,
  });
  for (const f of inputs) hasher.digest(f.verified.index, f.witnessScript, f.verified.amount);
  lap('sighashes');
  return ms;
}

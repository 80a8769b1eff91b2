/**
 * Standardness (src/policy/policy.cpp, v28): IsStandard (outputs), IsStandardTx, the dust rule,
 * AreInputsStandard and IsWitnessStandard. Regtest enforces them (fRequireStandard = true).
 */

import { CompactSize } from '@scure/btc-signer';
import { POLICY } from '../consensus/params.js';
import type { Tx, TxOut } from '../consensus/tx.js';
import { NO_SIGNATURE_CHECKER } from '../script/checker.js';
import { FLAGS } from '../script/flags.js';
import { evalScript } from '../script/interpreter.js';
import { isPushOnly } from '../script/opcodes.js';
import { sigOpCount } from '../script/sigops.js';
import {
  isPayToAnchor,
  isPayToScriptHash,
  isUnspendable,
  solve,
  type TxoutType,
  witnessProgram,
} from '../script/solver.js';
import { feeForSize } from './feerate.js';

/** IsStandard for one output script: the template and, for OP_RETURN and bare multisig, the limits. */
export function isStandardOutput(script: Uint8Array): { ok: boolean; type: TxoutType } {
  const { type, solutions } = solve(script);
  if (type === 'nonstandard') return { ok: false, type };
  if (type === 'multisig') {
    const m = solutions[0]?.[0] ?? 0;
    const n = solutions[solutions.length - 1]?.[0] ?? 0;
    if (n < 1 || n > 3 || m < 1 || m > n) return { ok: false, type };
  }
  if (type === 'nulldata' && script.length > POLICY.maxOpReturnRelay) return { ok: false, type };
  return { ok: true, type };
}

/** GetDustThreshold: the fee, at the dust relay rate, of creating and later spending the output. */
export function dustThreshold(
  out: TxOut,
  dustRelaySatPerKvB: bigint = POLICY.dustRelayFeeSatPerKvB,
): bigint {
  if (isUnspendable(out.script)) return 0n;
  let size = 8 + CompactSize.encode(BigInt(out.script.length)).length + out.script.length;
  size +=
    witnessProgram(out.script) !== null
      ? 32 + 4 + 1 + Math.floor(107 / 4) + 4
      : 32 + 4 + 1 + 107 + 4;
  return feeForSize(dustRelaySatPerKvB, size);
}

export function isDust(out: TxOut): boolean {
  return out.value < dustThreshold(out);
}

/** IsStandardTx: null when standard, else Core's reason ("version", "scriptpubkey", "dust", ...). */
export function isStandardTx(tx: Tx): string | null {
  if (tx.version > POLICY.txMaxStandardVersion || tx.version < 1) return 'version';
  if (tx.weight > POLICY.maxStandardTxWeight) return 'tx-size';
  for (const input of tx.inputs) {
    if (input.scriptSig.length > POLICY.maxStandardScriptSigSize) return 'scriptsig-size';
    if (!isPushOnly(input.scriptSig)) return 'scriptsig-not-pushonly';
  }
  let dataOutputs = 0;
  for (const out of tx.outputs) {
    const { ok, type } = isStandardOutput(out.script);
    if (!ok) return 'scriptpubkey';
    if (type === 'nulldata') dataOutputs++;
    else if (isDust(out)) return 'dust';
  }
  if (dataOutputs > 1) return 'multi-op-return';
  return null;
}

/** The stack a scriptSig leaves under EvalScript with no flags and no checker, or null on failure. */
function pushStack(scriptSig: Uint8Array): Uint8Array[] | null {
  const stack: Uint8Array[] = [];
  try {
    evalScript(stack, scriptSig, FLAGS.NONE, NO_SIGNATURE_CHECKER, 'base');
  } catch {
    return null;
  }
  return stack;
}

/** AreInputsStandard: no nonstandard or unknown-witness prevouts; P2SH redeem scripts ≤ 15 sigops. */
export function areInputsStandard(tx: Tx, spentScripts: readonly Uint8Array[]): boolean {
  if (tx.isCoinbase) return true;
  for (let i = 0; i < tx.inputs.length; i++) {
    const prev = spentScripts[i] as Uint8Array;
    const { type } = solve(prev);
    if (type === 'nonstandard' || type === 'witness_unknown') return false;
    if (type === 'scripthash') {
      const stack = pushStack((tx.inputs[i] as Tx['inputs'][number]).scriptSig);
      if (stack === null || stack.length === 0) return false;
      if (sigOpCount(stack[stack.length - 1] as Uint8Array, true) > POLICY.maxP2shSigops)
        return false;
    }
  }
  return true;
}

/** IsWitnessStandard: witness only where a witness program is spent, within the P2WSH and taproot limits. */
export function isWitnessStandard(tx: Tx, spentScripts: readonly Uint8Array[]): boolean {
  if (tx.isCoinbase) return true;
  for (let i = 0; i < tx.inputs.length; i++) {
    const input = tx.inputs[i] as Tx['inputs'][number];
    if (input.witness.length === 0) continue;
    let prev = spentScripts[i] as Uint8Array;
    const direct = witnessProgram(prev);
    if (direct !== null && isPayToAnchor(direct.version, direct.program)) return false;
    let p2sh = false;
    if (isPayToScriptHash(prev)) {
      const stack = pushStack(input.scriptSig);
      if (stack === null || stack.length === 0) return false;
      prev = stack[stack.length - 1] as Uint8Array;
      p2sh = true;
    }
    const wp = witnessProgram(prev);
    if (wp === null) return false;
    const w = input.witness;
    if (wp.version === 0 && wp.program.length === 32) {
      if ((w[w.length - 1] as Uint8Array).length > POLICY.maxStandardP2wshScriptSize) return false;
      if (w.length - 1 > POLICY.maxStandardP2wshStackItems) return false;
      for (let j = 0; j < w.length - 1; j++) {
        if ((w[j] as Uint8Array).length > POLICY.maxStandardP2wshStackItemSize) return false;
      }
    }
    if (wp.version === 1 && wp.program.length === 32 && !p2sh) {
      let stack = w;
      const last = stack[stack.length - 1] as Uint8Array;
      if (stack.length >= 2 && last.length > 0 && last[0] === 0x50) return false;
      if (stack.length >= 2) {
        const control = stack[stack.length - 1] as Uint8Array;
        stack = stack.slice(0, -2);
        if (control.length === 0) return false;
        if (((control[0] as number) & 0xfe) === 0xc0) {
          for (const item of stack)
            if (item.length > POLICY.maxStandardTapscriptStackItemSize) return false;
        }
      } else if (stack.length === 0) {
        return false;
      }
    }
  }
  return true;
}

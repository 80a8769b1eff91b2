/**
 * VerifyScript and VerifyWitnessProgram (src/script/interpreter.cpp, v28): scriptSig then
 * scriptPubKey on one stack, P2SH, bare and P2SH-wrapped witness programs (P2WPKH, P2WSH,
 * P2TR key path, P2A), CLEANSTACK and the unexpected-witness rule. Taproot script-path spends
 * are refused with a devnet error (documented limit), never accepted unchecked.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes } from '@scure/btc-signer/utils.js';
import type { SignatureChecker } from './checker.js';
import { type ScriptErrorCode, ScriptFailure } from './errors.js';
import { FLAGS } from './flags.js';
import { castToBool, evalScript } from './interpreter.js';
import { isPushOnly, MAX_SCRIPT_ELEMENT_SIZE, OP, pushData } from './opcodes.js';
import { isPayToAnchor, isPayToScriptHash, witnessProgram } from './solver.js';

const ANNEX_TAG = 0x50;

function executeWitnessScript(
  initial: readonly Uint8Array[],
  script: Uint8Array,
  flags: number,
  checker: SignatureChecker,
): ScriptErrorCode | null {
  const stack = initial.map((v) => Uint8Array.from(v));
  for (const item of stack) if (item.length > MAX_SCRIPT_ELEMENT_SIZE) return 'PUSH_SIZE';
  evalScript(stack, script, flags, checker, 'witness_v0');
  if (stack.length !== 1) return 'CLEANSTACK';
  if (!castToBool(stack[0] as Uint8Array)) return 'EVAL_FALSE';
  return null;
}

function verifyWitnessProgram(
  witness: readonly Uint8Array[],
  version: number,
  program: Uint8Array,
  flags: number,
  checker: SignatureChecker,
  isP2sh: boolean,
): ScriptErrorCode | null {
  if (version === 0) {
    if (program.length === 32) {
      if (witness.length === 0) return 'WITNESS_PROGRAM_WITNESS_EMPTY';
      const script = witness[witness.length - 1] as Uint8Array;
      if (!equalBytes(sha256(script), program)) return 'WITNESS_PROGRAM_MISMATCH';
      return executeWitnessScript(witness.slice(0, -1), script, flags, checker);
    }
    if (program.length === 20) {
      if (witness.length !== 2) return 'WITNESS_PROGRAM_MISMATCH';
      const script = concatBytes(
        Uint8Array.of(OP.DUP, OP.HASH160),
        pushData(program),
        Uint8Array.of(OP.EQUALVERIFY, OP.CHECKSIG),
      );
      return executeWitnessScript(witness, script, flags, checker);
    }
    return 'WITNESS_PROGRAM_WRONG_LENGTH';
  }
  if (version === 1 && program.length === 32 && !isP2sh) {
    if ((flags & FLAGS.TAPROOT) === 0) return null;
    if (witness.length === 0) return 'WITNESS_PROGRAM_WITNESS_EMPTY';
    let stack = witness;
    let annex: Uint8Array | undefined;
    const last = stack[stack.length - 1] as Uint8Array;
    if (stack.length >= 2 && last.length > 0 && last[0] === ANNEX_TAG) {
      annex = last;
      stack = stack.slice(0, -1);
    }
    if (stack.length === 1) return checker.checkSchnorr(stack[0] as Uint8Array, program, annex);
    return 'DEVNET_UNSUPPORTED';
  }
  if (!isP2sh && isPayToAnchor(version, program)) return null;
  if ((flags & FLAGS.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM) !== 0)
    return 'DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM';
  return null;
}

/** VerifyScript: null when the input's scripts pass under `flags`, else Core's script error. */
export function verifyScript(
  scriptSig: Uint8Array,
  scriptPubKey: Uint8Array,
  witness: readonly Uint8Array[],
  flags: number,
  checker: SignatureChecker,
): ScriptErrorCode | null {
  try {
    return verifyScriptInner(scriptSig, scriptPubKey, witness, flags, checker);
  } catch (err) {
    if (err instanceof ScriptFailure) return err.scriptError;
    return 'UNKNOWN_ERROR';
  }
}

function verifyScriptInner(
  scriptSig: Uint8Array,
  scriptPubKey: Uint8Array,
  witness: readonly Uint8Array[],
  flags: number,
  checker: SignatureChecker,
): ScriptErrorCode | null {
  let hadWitness = false;
  if ((flags & FLAGS.SIGPUSHONLY) !== 0 && !isPushOnly(scriptSig)) return 'SIG_PUSHONLY';
  let stack: Uint8Array[] = [];
  evalScript(stack, scriptSig, flags, checker, 'base');
  const stackCopy = (flags & FLAGS.P2SH) !== 0 ? stack.map((v) => v) : [];
  evalScript(stack, scriptPubKey, flags, checker, 'base');
  if (stack.length === 0 || !castToBool(stack[stack.length - 1] as Uint8Array)) return 'EVAL_FALSE';

  if ((flags & FLAGS.WITNESS) !== 0) {
    const wp = witnessProgram(scriptPubKey);
    if (wp !== null) {
      hadWitness = true;
      if (scriptSig.length !== 0) return 'WITNESS_MALLEATED';
      const err = verifyWitnessProgram(witness, wp.version, wp.program, flags, checker, false);
      if (err !== null) return err;
      stack = stack.slice(0, 1);
    }
  }

  if ((flags & FLAGS.P2SH) !== 0 && isPayToScriptHash(scriptPubKey)) {
    if (!isPushOnly(scriptSig)) return 'SIG_PUSHONLY';
    stack = stackCopy;
    const redeem = stack.pop() as Uint8Array;
    evalScript(stack, redeem, flags, checker, 'base');
    if (stack.length === 0 || !castToBool(stack[stack.length - 1] as Uint8Array))
      return 'EVAL_FALSE';
    if ((flags & FLAGS.WITNESS) !== 0) {
      const wp = witnessProgram(redeem);
      if (wp !== null) {
        hadWitness = true;
        if (!equalBytes(scriptSig, pushData(redeem))) return 'WITNESS_MALLEATED_P2SH';
        const err = verifyWitnessProgram(witness, wp.version, wp.program, flags, checker, true);
        if (err !== null) return err;
        stack = stack.slice(0, 1);
      }
    }
  }

  if ((flags & FLAGS.CLEANSTACK) !== 0 && stack.length !== 1) return 'CLEANSTACK';
  if ((flags & FLAGS.WITNESS) !== 0 && !hadWitness && witness.length > 0)
    return 'WITNESS_UNEXPECTED';
  return null;
}

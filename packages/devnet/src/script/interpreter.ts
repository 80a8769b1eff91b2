/**
 * The script interpreter for legacy and witness v0 scripts: Core's EvalScript
 * (src/script/interpreter.cpp, v28), opcode by opcode, with the same limits, the same flag-gated
 * rules and the same error for each failure. Tapscript is not run here (see verify.ts).
 */
import { ripemd160, sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes } from '@scure/btc-signer/utils.js';
import { hash160, sha256d } from '../consensus/hash.js';
import type { SignatureChecker, SigVersion } from './checker.js';
import { type EvalState, evalCheckMultisig, evalCheckSig } from './checksig.js';
import { fail, ScriptFailure } from './errors.js';
import { FLAGS } from './flags.js';
import {
  isMinimalPush,
  MAX_OPS_PER_SCRIPT,
  MAX_SCRIPT_ELEMENT_SIZE,
  MAX_SCRIPT_SIZE,
  MAX_STACK_SIZE,
  OP,
  OP_16,
  OP_PUSHDATA4,
  readOp,
} from './opcodes.js';
import { castToBool, FALSE, fromNum, TRUE, toInt, toNum } from './script-num.js';

export { findAndDelete } from './checksig.js';
export { castToBool } from './script-num.js';

const DISABLED = new Set<number>([
  OP.CAT,
  OP.SUBSTR,
  OP.LEFT,
  OP.RIGHT,
  OP.INVERT,
  OP.AND,
  OP.OR,
  OP.XOR,
  OP['2MUL'],
  OP['2DIV'],
  OP.MUL,
  OP.DIV,
  OP.MOD,
  OP.LSHIFT,
  OP.RSHIFT,
]);
/**
 * EvalScript: runs `script` on `stack` (mutated). Throws ScriptFailure with Core's error on the
 * first failure; returns normally otherwise (the caller judges the final stack).
 */
export function evalScript(
  stack: Uint8Array[],
  script: Uint8Array,
  flags: number,
  checker: SignatureChecker,
  sigversion: SigVersion,
): void {
  if (script.length > MAX_SCRIPT_SIZE) fail('SCRIPT_SIZE');
  const alt: Uint8Array[] = [];
  const vfExec: boolean[] = [];
  const requireMinimal = (flags & FLAGS.MINIMALDATA) !== 0;
  let codeHashStart = 0;
  let opCount = 0;
  const st: EvalState = {
    stack,
    script,
    flags,
    checker,
    sigversion,
    requireMinimal,
    codeHashStart,
    opCount,
  };
  const top = (i: number): Uint8Array => {
    const v = stack[stack.length + i];
    if (v === undefined) return fail('INVALID_STACK_OPERATION');
    return v;
  };
  const need = (n: number): void => {
    if (stack.length < n) fail('INVALID_STACK_OPERATION');
  };
  const pop = (): Uint8Array => stack.pop() ?? fail('INVALID_STACK_OPERATION');
  let pc = 0;

  try {
    while (pc < script.length) {
      const fExec = !vfExec.includes(false);
      const op = readOp(script, pc);
      if (op === null) fail('BAD_OPCODE');
      pc = op.end;
      const opcode = op.opcode;
      if (op.data.length > MAX_SCRIPT_ELEMENT_SIZE) fail('PUSH_SIZE');
      if (opcode > OP_16 && ++opCount > MAX_OPS_PER_SCRIPT) fail('OP_COUNT');
      if (DISABLED.has(opcode)) fail('DISABLED_OPCODE');
      if (
        opcode === OP.CODESEPARATOR &&
        sigversion === 'base' &&
        (flags & FLAGS.CONST_SCRIPTCODE) !== 0
      ) {
        fail('OP_CODESEPARATOR');
      }
      if (fExec && opcode <= OP_PUSHDATA4) {
        if (requireMinimal && !isMinimalPush(op.data, opcode)) fail('MINIMALDATA');
        stack.push(Uint8Array.from(op.data));
      } else if (fExec || (opcode >= OP.IF && opcode <= OP.ENDIF)) {
        switch (opcode) {
          case OP['1NEGATE']:
          case OP.OP_1:
          case OP.OP_2:
          case OP.OP_3:
          case OP.OP_4:
          case OP.OP_5:
          case OP.OP_6:
          case OP.OP_7:
          case OP.OP_8:
          case OP.OP_9:
          case OP.OP_10:
          case OP.OP_11:
          case OP.OP_12:
          case OP.OP_13:
          case OP.OP_14:
          case OP.OP_15:
          case OP.OP_16:
            stack.push(fromNum(BigInt(opcode - (OP.OP_1 - 1))));
            break;
          case OP.NOP:
            break;
          case OP.CHECKLOCKTIMEVERIFY: {
            if ((flags & FLAGS.CHECKLOCKTIMEVERIFY) === 0) {
              if ((flags & FLAGS.DISCOURAGE_UPGRADABLE_NOPS) !== 0)
                fail('DISCOURAGE_UPGRADABLE_NOPS');
              break;
            }
            need(1);
            const lockTime = toNum(top(-1), requireMinimal, 5);
            if (lockTime < 0n) fail('NEGATIVE_LOCKTIME');
            if (!checker.checkLockTime(lockTime)) fail('UNSATISFIED_LOCKTIME');
            break;
          }
          case OP.CHECKSEQUENCEVERIFY: {
            if ((flags & FLAGS.CHECKSEQUENCEVERIFY) === 0) {
              if ((flags & FLAGS.DISCOURAGE_UPGRADABLE_NOPS) !== 0)
                fail('DISCOURAGE_UPGRADABLE_NOPS');
              break;
            }
            need(1);
            const sequence = toNum(top(-1), requireMinimal, 5);
            if (sequence < 0n) fail('NEGATIVE_LOCKTIME');
            if ((sequence & 0x80000000n) !== 0n) break;
            if (!checker.checkSequence(sequence)) fail('UNSATISFIED_LOCKTIME');
            break;
          }
          case OP.NOP1:
          case OP.NOP4:
          case OP.NOP5:
          case OP.NOP6:
          case OP.NOP7:
          case OP.NOP8:
          case OP.NOP9:
          case OP.NOP10:
            if ((flags & FLAGS.DISCOURAGE_UPGRADABLE_NOPS) !== 0)
              fail('DISCOURAGE_UPGRADABLE_NOPS');
            break;
          case OP.IF:
          case OP.NOTIF: {
            let value = false;
            if (fExec) {
              if (stack.length < 1) fail('UNBALANCED_CONDITIONAL');
              const v = top(-1);
              if (sigversion === 'witness_v0' && (flags & FLAGS.MINIMALIF) !== 0) {
                if (v.length > 1 || (v.length === 1 && v[0] !== 1)) fail('MINIMALIF');
              }
              value = castToBool(v);
              if (opcode === OP.NOTIF) value = !value;
              pop();
            }
            vfExec.push(value);
            break;
          }
          case OP.ELSE:
            if (vfExec.length === 0) fail('UNBALANCED_CONDITIONAL');
            vfExec[vfExec.length - 1] = !vfExec[vfExec.length - 1];
            break;
          case OP.ENDIF:
            if (vfExec.length === 0) fail('UNBALANCED_CONDITIONAL');
            vfExec.pop();
            break;
          case OP.VERIFY:
            need(1);
            if (!castToBool(top(-1))) fail('VERIFY');
            pop();
            break;
          case OP.RETURN:
            fail('OP_RETURN');
            break;
          default:
            runOp(opcode);
        }
      }
      if (stack.length + alt.length > MAX_STACK_SIZE) fail('STACK_SIZE');
    }
    if (vfExec.length !== 0) fail('UNBALANCED_CONDITIONAL');
  } catch (err) {
    if (err instanceof ScriptFailure) throw err;
    fail('UNKNOWN_ERROR');
  }

  function runOp(opcode: number): void {
    switch (opcode) {
      case OP.TOALTSTACK:
        need(1);
        alt.push(pop());
        return;
      case OP.FROMALTSTACK: {
        const v = alt.pop();
        if (v === undefined) fail('INVALID_ALTSTACK_OPERATION');
        stack.push(v);
        return;
      }
      case OP['2DROP']:
        need(2);
        pop();
        pop();
        return;
      case OP['2DUP']:
        need(2);
        stack.push(top(-2), top(-1));
        return;
      case OP['3DUP']:
        need(3);
        stack.push(top(-3), top(-2), top(-1));
        return;
      case OP['2OVER']:
        need(4);
        stack.push(top(-4), top(-3));
        return;
      case OP['2ROT']: {
        need(6);
        const [a, b] = stack.splice(stack.length - 6, 2) as [Uint8Array, Uint8Array];
        stack.push(a, b);
        return;
      }
      case OP['2SWAP']: {
        need(4);
        const [a, b] = stack.splice(stack.length - 4, 2) as [Uint8Array, Uint8Array];
        stack.push(a, b);
        return;
      }
      case OP.IFDUP:
        need(1);
        if (castToBool(top(-1))) stack.push(top(-1));
        return;
      case OP.DEPTH:
        stack.push(fromNum(BigInt(stack.length)));
        return;
      case OP.DROP:
        need(1);
        pop();
        return;
      case OP.DUP:
        need(1);
        stack.push(top(-1));
        return;
      case OP.NIP:
        need(2);
        stack.splice(stack.length - 2, 1);
        return;
      case OP.OVER:
        need(2);
        stack.push(top(-2));
        return;
      case OP.PICK:
      case OP.ROLL: {
        need(2);
        const n = toInt(toNum(top(-1), requireMinimal));
        pop();
        if (n < 0 || n >= stack.length) fail('INVALID_STACK_OPERATION');
        const v = top(-n - 1);
        if (opcode === OP.ROLL) stack.splice(stack.length - n - 1, 1);
        stack.push(v);
        return;
      }
      case OP.ROT: {
        need(3);
        const [a] = stack.splice(stack.length - 3, 1) as [Uint8Array];
        stack.push(a);
        return;
      }
      case OP.SWAP: {
        need(2);
        const [a] = stack.splice(stack.length - 2, 1) as [Uint8Array];
        stack.push(a);
        return;
      }
      case OP.TUCK:
        need(2);
        stack.splice(stack.length - 2, 0, top(-1));
        return;
      case OP.SIZE:
        need(1);
        stack.push(fromNum(BigInt(top(-1).length)));
        return;
      case OP.EQUAL:
      case OP.EQUALVERIFY: {
        need(2);
        const equal = equalBytes(top(-2), top(-1));
        pop();
        pop();
        stack.push(equal ? TRUE : FALSE);
        if (opcode === OP.EQUALVERIFY) {
          if (!equal) fail('EQUALVERIFY');
          pop();
        }
        return;
      }
      case OP['1ADD']:
      case OP['1SUB']:
      case OP.NEGATE:
      case OP.ABS:
      case OP.NOT:
      case OP['0NOTEQUAL']: {
        need(1);
        let n = toNum(top(-1), requireMinimal);
        if (opcode === OP['1ADD']) n += 1n;
        else if (opcode === OP['1SUB']) n -= 1n;
        else if (opcode === OP.NEGATE) n = -n;
        else if (opcode === OP.ABS) n = n < 0n ? -n : n;
        else if (opcode === OP.NOT) n = n === 0n ? 1n : 0n;
        else n = n !== 0n ? 1n : 0n;
        pop();
        stack.push(fromNum(n));
        return;
      }
      case OP.ADD:
      case OP.SUB:
      case OP.BOOLAND:
      case OP.BOOLOR:
      case OP.NUMEQUAL:
      case OP.NUMEQUALVERIFY:
      case OP.NUMNOTEQUAL:
      case OP.LESSTHAN:
      case OP.GREATERTHAN:
      case OP.LESSTHANOREQUAL:
      case OP.GREATERTHANOREQUAL:
      case OP.MIN:
      case OP.MAX: {
        need(2);
        const a = toNum(top(-2), requireMinimal);
        const b = toNum(top(-1), requireMinimal);
        const bool = (x: boolean): bigint => (x ? 1n : 0n);
        const results: Record<number, bigint> = {
          [OP.ADD]: a + b,
          [OP.SUB]: a - b,
          [OP.BOOLAND]: bool(a !== 0n && b !== 0n),
          [OP.BOOLOR]: bool(a !== 0n || b !== 0n),
          [OP.NUMEQUAL]: bool(a === b),
          [OP.NUMEQUALVERIFY]: bool(a === b),
          [OP.NUMNOTEQUAL]: bool(a !== b),
          [OP.LESSTHAN]: bool(a < b),
          [OP.GREATERTHAN]: bool(a > b),
          [OP.LESSTHANOREQUAL]: bool(a <= b),
          [OP.GREATERTHANOREQUAL]: bool(a >= b),
          // biome-ignore lint/complexity/useMathMinMax: bigint values; Math.min does not take bigint.
          [OP.MIN]: a < b ? a : b,
          // biome-ignore lint/complexity/useMathMinMax: bigint values; Math.max does not take bigint.
          [OP.MAX]: a > b ? a : b,
        };
        const n = results[opcode] ?? 0n;
        pop();
        pop();
        stack.push(fromNum(n));
        if (opcode === OP.NUMEQUALVERIFY) {
          if (!castToBool(top(-1))) fail('NUMEQUALVERIFY');
          pop();
        }
        return;
      }
      case OP.WITHIN: {
        need(3);
        const x = toNum(top(-3), requireMinimal);
        const min = toNum(top(-2), requireMinimal);
        const max = toNum(top(-1), requireMinimal);
        pop();
        pop();
        pop();
        stack.push(min <= x && x < max ? TRUE : FALSE);
        return;
      }
      case OP.RIPEMD160:
        need(1);
        stack.push(ripemd160(pop()));
        return;
      case OP.SHA1:
        need(1);
        stack.push(sha1(pop()));
        return;
      case OP.SHA256:
        need(1);
        stack.push(sha256(pop()));
        return;
      case OP.HASH160:
        need(1);
        stack.push(hash160(pop()));
        return;
      case OP.HASH256:
        need(1);
        stack.push(sha256d(pop()));
        return;
      case OP.CODESEPARATOR:
        codeHashStart = pc;
        return;
      case OP.CHECKSIG:
      case OP.CHECKSIGVERIFY:
        st.codeHashStart = codeHashStart;
        evalCheckSig(st, opcode === OP.CHECKSIGVERIFY);
        return;
      case OP.CHECKMULTISIG:
      case OP.CHECKMULTISIGVERIFY:
        st.codeHashStart = codeHashStart;
        st.opCount = opCount;
        evalCheckMultisig(st, opcode === OP.CHECKMULTISIGVERIFY);
        opCount = st.opCount;
        return;
      default:
        fail('BAD_OPCODE');
    }
  }
}

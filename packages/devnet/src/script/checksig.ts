/**
 * The signature opcodes of the interpreter (src/script/interpreter.cpp): OP_CHECKSIG(VERIFY) and
 * OP_CHECKMULTISIG(VERIFY) with FindAndDelete for legacy scripts, the signature and key encoding
 * rules (DERSIG, LOW_S, STRICTENC, WITNESS_PUBKEYTYPE), NULLFAIL and NULLDUMMY.
 */
import { concatBytes, equalBytes } from '@scure/btc-signer/utils.js';
import type { SignatureChecker, SigVersion } from './checker.js';
import { fail } from './errors.js';
import { FLAGS } from './flags.js';
import { MAX_OPS_PER_SCRIPT, MAX_PUBKEYS_PER_MULTISIG, pushData, readOp } from './opcodes.js';
import { FALSE, TRUE, toInt, toNum } from './script-num.js';
import {
  hasLowS,
  isCompressedOrUncompressedPubKey,
  isCompressedPubKey,
  isDefinedHashtype,
  isValidSignatureEncoding,
} from './signature-encoding.js';

/** What the signature opcodes share with the interpreter loop. */
export interface EvalState {
  readonly stack: Uint8Array[];
  readonly script: Uint8Array;
  readonly flags: number;
  readonly checker: SignatureChecker;
  readonly sigversion: SigVersion;
  readonly requireMinimal: boolean;
  /** Offset after the last executed OP_CODESEPARATOR. */
  codeHashStart: number;
  opCount: number;
}

/** FindAndDelete: removes every op-aligned occurrence of `pattern`; returns the count. */
export function findAndDelete(
  script: Uint8Array,
  pattern: Uint8Array,
): { script: Uint8Array; found: number } {
  if (pattern.length === 0) return { script, found: 0 };
  const parts: Uint8Array[] = [];
  let found = 0;
  let pc = 0;
  let pc2 = 0;
  for (;;) {
    parts.push(script.subarray(pc2, pc));
    while (
      script.length - pc >= pattern.length &&
      equalBytes(script.subarray(pc, pc + pattern.length), pattern)
    ) {
      pc += pattern.length;
      found++;
    }
    pc2 = pc;
    const op = readOp(script, pc);
    if (op === null) break;
    pc = op.end;
  }
  if (found === 0) return { script, found: 0 };
  parts.push(script.subarray(pc2));
  return { script: concatBytes(...parts), found };
}

export function checkSignatureEncoding(sig: Uint8Array, flags: number): void {
  if (sig.length === 0) return;
  if (
    (flags & (FLAGS.DERSIG | FLAGS.LOW_S | FLAGS.STRICTENC)) !== 0 &&
    !isValidSignatureEncoding(sig)
  ) {
    fail('SIG_DER');
  }
  if ((flags & FLAGS.LOW_S) !== 0 && !hasLowS(sig)) fail('SIG_HIGH_S');
  if ((flags & FLAGS.STRICTENC) !== 0 && !isDefinedHashtype(sig)) fail('SIG_HASHTYPE');
}

export function checkPubKeyEncoding(key: Uint8Array, flags: number, sigversion: SigVersion): void {
  if ((flags & FLAGS.STRICTENC) !== 0 && !isCompressedOrUncompressedPubKey(key)) fail('PUBKEYTYPE');
  if (
    (flags & FLAGS.WITNESS_PUBKEYTYPE) !== 0 &&
    sigversion === 'witness_v0' &&
    !isCompressedPubKey(key)
  ) {
    fail('WITNESS_PUBKEYTYPE');
  }
}

/** OP_CHECKSIG / OP_CHECKSIGVERIFY (EvalChecksigPreTapscript). */
export function evalCheckSig(st: EvalState, verify: boolean): void {
  const { stack, script, flags, checker, sigversion, codeHashStart } = st;
  const top = (i: number): Uint8Array => stack[stack.length + i] ?? fail('INVALID_STACK_OPERATION');
  const need = (n: number): void => {
    if (stack.length < n) fail('INVALID_STACK_OPERATION');
  };
  const pop = (): Uint8Array => stack.pop() ?? fail('INVALID_STACK_OPERATION');
  need(2);
  const sig = top(-2);
  const key = top(-1);
  let code = script.subarray(codeHashStart);
  if (sigversion === 'base') {
    const r = findAndDelete(code, pushData(sig));
    if (r.found > 0 && (flags & FLAGS.CONST_SCRIPTCODE) !== 0) fail('SIG_FINDANDDELETE');
    code = r.script;
  }
  checkSignatureEncoding(sig, flags);
  checkPubKeyEncoding(key, flags, sigversion);
  const ok = checker.checkEcdsa(sig, key, code, sigversion);
  if (!ok && (flags & FLAGS.NULLFAIL) !== 0 && sig.length > 0) fail('SIG_NULLFAIL');
  pop();
  pop();
  stack.push(ok ? TRUE : FALSE);
  if (verify) {
    if (!ok) fail('CHECKSIGVERIFY');
    pop();
  }
}

/** OP_CHECKMULTISIG / OP_CHECKMULTISIGVERIFY, step for step as Core (key order, NULLFAIL, NULLDUMMY). */
export function evalCheckMultisig(st: EvalState, verify: boolean): void {
  const { stack, script, flags, checker, sigversion, codeHashStart, requireMinimal } = st;
  const top = (i: number): Uint8Array => stack[stack.length + i] ?? fail('INVALID_STACK_OPERATION');
  const pop = (): Uint8Array => stack.pop() ?? fail('INVALID_STACK_OPERATION');

  let i = 1;
  if (stack.length < i) fail('INVALID_STACK_OPERATION');
  let keysCount = toInt(toNum(top(-i), requireMinimal));
  if (keysCount < 0 || keysCount > MAX_PUBKEYS_PER_MULTISIG) fail('PUBKEY_COUNT');
  st.opCount += keysCount;
  if (st.opCount > MAX_OPS_PER_SCRIPT) fail('OP_COUNT');
  let ikey = ++i;
  let ikey2 = keysCount + 2;
  i += keysCount;
  if (stack.length < i) fail('INVALID_STACK_OPERATION');
  let sigsCount = toInt(toNum(top(-i), requireMinimal));
  if (sigsCount < 0 || sigsCount > keysCount) fail('SIG_COUNT');
  let isig = ++i;
  i += sigsCount;
  if (stack.length < i) fail('INVALID_STACK_OPERATION');
  let code = script.subarray(codeHashStart);
  for (let k = 0; k < sigsCount; k++) {
    if (sigversion === 'base') {
      const r = findAndDelete(code, pushData(top(-isig - k)));
      if (r.found > 0 && (flags & FLAGS.CONST_SCRIPTCODE) !== 0) fail('SIG_FINDANDDELETE');
      code = r.script;
    }
  }
  let success = true;
  while (success && sigsCount > 0) {
    const sig = top(-isig);
    const key = top(-ikey);
    checkSignatureEncoding(sig, flags);
    checkPubKeyEncoding(key, flags, sigversion);
    if (checker.checkEcdsa(sig, key, code, sigversion)) {
      isig++;
      sigsCount--;
    }
    ikey++;
    keysCount--;
    if (sigsCount > keysCount) success = false;
  }
  while (i-- > 1) {
    if (!success && (flags & FLAGS.NULLFAIL) !== 0 && ikey2 === 0 && top(-1).length > 0)
      fail('SIG_NULLFAIL');
    if (ikey2 > 0) ikey2--;
    pop();
  }
  if (stack.length < 1) fail('INVALID_STACK_OPERATION');
  if ((flags & FLAGS.NULLDUMMY) !== 0 && top(-1).length > 0) fail('SIG_NULLDUMMY');
  pop();
  stack.push(success ? TRUE : FALSE);
  if (verify) {
    if (!success) fail('CHECKMULTISIGVERIFY');
    pop();
  }
}

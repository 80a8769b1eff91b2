/**
 * ScriptToAsmStr (src/core_write.cpp): the `asm` field of decoded scripts. Small pushes print as
 * numbers, others as hex; in a scriptSig a push that is a valid signature prints its sighash
 * type in brackets, e.g. `3044...01` → `3044...[ALL]`.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { OPNames, ScriptNum } from '@scure/btc-signer/script.js';
import { OP, OP_1, OP_16, OP_PUSHDATA4, readOp } from './opcodes.js';
import { isDefinedHashtype, isValidSignatureEncoding } from './signature-encoding.js';
import { isUnspendable } from './solver.js';

const SIGHASH_NAMES: Readonly<Record<number, string>> = Object.freeze({
  1: 'ALL',
  129: 'ALL|ANYONECANPAY',
  2: 'NONE',
  130: 'NONE|ANYONECANPAY',
  3: 'SINGLE',
  131: 'SINGLE|ANYONECANPAY',
});

const NUM = ScriptNum(4, false);

/** GetOpName: Core's mnemonic for an opcode. */
export function opName(opcode: number): string {
  if (opcode === 0) return '0';
  if (opcode === OP['1NEGATE']) return '-1';
  if (opcode >= OP_1 && opcode <= OP_16) return String(opcode - (OP_1 - 1));
  const name = OPNames[opcode];
  if (opcode === OP.INVALID) return 'OP_INVALIDOPCODE';
  if (name === undefined) return 'OP_UNKNOWN';
  return `OP_${name}`;
}

/** CheckSignatureEncoding under STRICTENC, the test ScriptToAsmStr applies before decoding a type. */
function looksLikeSignature(data: Uint8Array): boolean {
  if (data.length === 0) return true;
  return isValidSignatureEncoding(data) && isDefinedHashtype(data);
}

export function scriptToAsm(script: Uint8Array, attemptSighashDecode = false): string {
  const parts: string[] = [];
  let pc = 0;
  while (pc < script.length) {
    const op = readOp(script, pc);
    if (op === null) {
      parts.push('[error]');
      break;
    }
    pc = op.end;
    if (op.opcode <= OP_PUSHDATA4) {
      if (op.data.length <= 4) {
        parts.push(NUM.decode(op.data).toString());
      } else if (attemptSighashDecode && !isUnspendable(script) && looksLikeSignature(op.data)) {
        const type = op.data[op.data.length - 1] as number;
        const name = SIGHASH_NAMES[type];
        parts.push(
          name === undefined
            ? bytesToHex(op.data)
            : `${bytesToHex(op.data.subarray(0, -1))}[${name}]`,
        );
      } else {
        parts.push(bytesToHex(op.data));
      }
    } else {
      parts.push(opName(op.opcode));
    }
  }
  return parts.join(' ');
}

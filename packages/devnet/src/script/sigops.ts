/**
 * Signature-operation counting (src/script/script.cpp GetSigOpCount, src/consensus/tx_verify.cpp
 * GetTransactionSigOpCost, src/script/interpreter.cpp CountWitnessSigOps). The cost is in weight
 * units: legacy and P2SH sigops count 4 each, witness sigops 1 each.
 */
import { CONSENSUS } from '../consensus/params.js';
import type { Tx } from '../consensus/tx.js';
import {
  decodeOpN,
  isPushOnly,
  MAX_PUBKEYS_PER_MULTISIG,
  OP,
  OP_1,
  OP_16,
  readOp,
} from './opcodes.js';
import { isPayToScriptHash, witnessProgram } from './solver.js';

export function sigOpCount(script: Uint8Array, accurate: boolean): number {
  let n = 0;
  let last = 0xff;
  let pc = 0;
  while (pc < script.length) {
    const op = readOp(script, pc);
    if (op === null) break;
    pc = op.end;
    if (op.opcode === OP.CHECKSIG || op.opcode === OP.CHECKSIGVERIFY) n++;
    else if (op.opcode === OP.CHECKMULTISIG || op.opcode === OP.CHECKMULTISIGVERIFY) {
      n += accurate && last >= OP_1 && last <= OP_16 ? decodeOpN(last) : MAX_PUBKEYS_PER_MULTISIG;
    }
    last = op.opcode;
  }
  return n;
}

/** The last push of a push-only scriptSig (the P2SH redeem script), or null. */
export function lastPush(scriptSig: Uint8Array): Uint8Array | null {
  if (!isPushOnly(scriptSig)) return null;
  let data: Uint8Array | null = null;
  let pc = 0;
  while (pc < scriptSig.length) {
    const op = readOp(scriptSig, pc);
    if (op === null) return null;
    data = op.data;
    pc = op.end;
  }
  return data;
}

function witnessSigOps(
  version: number,
  program: Uint8Array,
  witness: readonly Uint8Array[],
): number {
  if (version !== 0) return 0;
  if (program.length === 20) return 1;
  if (program.length === 32 && witness.length > 0) {
    return sigOpCount(witness[witness.length - 1] as Uint8Array, true);
  }
  return 0;
}

/** Legacy sigops of every scriptSig and scriptPubKey (inexact multisig count). */
export function legacySigOpCount(tx: Tx): number {
  let n = 0;
  for (const input of tx.inputs) n += sigOpCount(input.scriptSig, false);
  for (const output of tx.outputs) n += sigOpCount(output.script, false);
  return n;
}

/** GetTransactionSigOpCost with P2SH and witness counting (every regtest block flag is on). */
export function transactionSigOpCost(tx: Tx, spentScripts: readonly Uint8Array[]): number {
  let cost = legacySigOpCount(tx) * CONSENSUS.witnessScaleFactor;
  if (tx.isCoinbase) return cost;
  tx.inputs.forEach((input, i) => {
    const prev = spentScripts[i] ?? new Uint8Array(0);
    let program = witnessProgram(prev);
    if (isPayToScriptHash(prev)) {
      const redeem = lastPush(input.scriptSig);
      if (redeem !== null) {
        cost += sigOpCount(redeem, true) * CONSENSUS.witnessScaleFactor;
        program = witnessProgram(redeem);
      }
    }
    if (program !== null) cost += witnessSigOps(program.version, program.program, input.witness);
  });
  return cost;
}

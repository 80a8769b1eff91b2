/**
 * Output script templates (src/script/solver.cpp Solver, script.cpp IsWitnessProgram,
 * IsPayToScriptHash, IsPayToAnchor, IsUnspendable) and the type names Core prints.
 */
import { equalBytes } from '@scure/btc-signer/utils.js';
import { decodeOpN, isPushOnly, MAX_SCRIPT_SIZE, OP, OP_1, OP_16, parseScript } from './opcodes.js';

export type TxoutType =
  | 'nonstandard'
  | 'anchor'
  | 'pubkey'
  | 'pubkeyhash'
  | 'scripthash'
  | 'multisig'
  | 'nulldata'
  | 'witness_v0_keyhash'
  | 'witness_v0_scripthash'
  | 'witness_v1_taproot'
  | 'witness_unknown';

export interface Solution {
  readonly type: TxoutType;
  /** Template data: the key or hash, the multisig [m, keys..., n], the witness program. */
  readonly solutions: readonly Uint8Array[];
}

export function isPayToScriptHash(script: Uint8Array): boolean {
  return (
    script.length === 23 &&
    script[0] === OP.HASH160 &&
    script[1] === 0x14 &&
    script[22] === OP.EQUAL
  );
}

/** IsWitnessProgram: a version opcode then one 2..40-byte push, 4..42 bytes in all. */
export function witnessProgram(
  script: Uint8Array,
): { version: number; program: Uint8Array } | null {
  if (script.length < 4 || script.length > 42) return null;
  const first = script[0] as number;
  if (first !== 0 && (first < OP_1 || first > OP_16)) return null;
  if ((script[1] as number) + 2 !== script.length) return null;
  return { version: decodeOpN(first), program: script.subarray(2) };
}

const ANCHOR_PROGRAM = Uint8Array.of(0x4e, 0x73);

export function isPayToAnchor(version: number, program: Uint8Array): boolean {
  return version === 1 && equalBytes(program, ANCHOR_PROGRAM);
}

/** IsUnspendable: starts with OP_RETURN or is larger than MAX_SCRIPT_SIZE. */
export function isUnspendable(script: Uint8Array): boolean {
  return (script.length > 0 && script[0] === OP.RETURN) || script.length > MAX_SCRIPT_SIZE;
}

/** CPubKey::ValidSize on the bytes of a push: 33 with 02/03, 65 with 04/06/07. */
function validPubKeySize(key: Uint8Array): boolean {
  const f = key[0];
  if (f === 0x02 || f === 0x03) return key.length === 33;
  if (f === 0x04 || f === 0x06 || f === 0x07) return key.length === 65;
  return false;
}

function matchMultisig(script: Uint8Array): Uint8Array[] | null {
  const { ops, ok } = parseScript(script);
  if (!ok || ops.length < 4) return null;
  const last = ops[ops.length - 1];
  const mOp = ops[0];
  const nOp = ops[ops.length - 2];
  if (last?.opcode !== OP.CHECKMULTISIG || mOp === undefined || nOp === undefined) return null;
  const isSmallInt = (o: number): boolean => o >= OP_1 && o <= OP_16;
  if (!isSmallInt(mOp.opcode) || !isSmallInt(nOp.opcode)) return null;
  const keys = ops.slice(1, -2);
  for (const k of keys) if (k.opcode > 0x4e || !validPubKeySize(k.data)) return null;
  const m = decodeOpN(mOp.opcode);
  const n = decodeOpN(nOp.opcode);
  if (keys.length !== n || m > n) return null;
  return [Uint8Array.of(m), ...keys.map((k) => k.data), Uint8Array.of(n)];
}

export function solve(script: Uint8Array): Solution {
  if (isPayToScriptHash(script)) return { type: 'scripthash', solutions: [script.subarray(2, 22)] };
  const wp = witnessProgram(script);
  if (wp !== null) {
    if (wp.version === 0 && wp.program.length === 20)
      return { type: 'witness_v0_keyhash', solutions: [wp.program] };
    if (wp.version === 0 && wp.program.length === 32)
      return { type: 'witness_v0_scripthash', solutions: [wp.program] };
    if (wp.version === 1 && wp.program.length === 32)
      return { type: 'witness_v1_taproot', solutions: [wp.program] };
    if (isPayToAnchor(wp.version, wp.program)) return { type: 'anchor', solutions: [] };
    if (wp.version !== 0) {
      return { type: 'witness_unknown', solutions: [Uint8Array.of(wp.version), wp.program] };
    }
    return { type: 'nonstandard', solutions: [] };
  }
  if (script.length >= 1 && script[0] === OP.RETURN && isPushOnly(script, 1)) {
    return { type: 'nulldata', solutions: [] };
  }
  if (
    (script.length === 35 &&
      script[0] === 33 &&
      script[34] === OP.CHECKSIG &&
      validPubKeySize(script.subarray(1, 34))) ||
    (script.length === 67 &&
      script[0] === 65 &&
      script[66] === OP.CHECKSIG &&
      validPubKeySize(script.subarray(1, 66)))
  ) {
    return { type: 'pubkey', solutions: [script.subarray(1, script.length - 1)] };
  }
  if (
    script.length === 25 &&
    script[0] === OP.DUP &&
    script[1] === OP.HASH160 &&
    script[2] === 20 &&
    script[23] === OP.EQUALVERIFY &&
    script[24] === OP.CHECKSIG
  ) {
    return { type: 'pubkeyhash', solutions: [script.subarray(3, 23)] };
  }
  const multisig = matchMultisig(script);
  if (multisig !== null) return { type: 'multisig', solutions: multisig };
  return { type: 'nonstandard', solutions: [] };
}

/**
 * Script opcodes and the byte-level script reader (src/script/script.h, script.cpp GetScriptOp):
 * opcode values, the op iterator, push-only checks and the minimal push encoding Core's
 * `CScript() << data` produces. Opcode names come from @scure/btc-signer's OP table.
 */

import { concatBytes } from '@noble/hashes/utils.js';
import { OP } from '@scure/btc-signer';
import { ScriptNum } from '@scure/btc-signer/script.js';

export { OP };

export const OP_PUSHDATA1 = 0x4c;
export const OP_PUSHDATA2 = 0x4d;
export const OP_PUSHDATA4 = 0x4e;
export const OP_1NEGATE = 0x4f;
export const OP_RESERVED = 0x50;
export const OP_1 = 0x51;
export const OP_16 = 0x60;

/** Largest script the interpreter runs and the largest single push (MAX_SCRIPT_SIZE, MAX_SCRIPT_ELEMENT_SIZE). */
export const MAX_SCRIPT_SIZE = 10_000;
export const MAX_SCRIPT_ELEMENT_SIZE = 520;
export const MAX_OPS_PER_SCRIPT = 201;
export const MAX_PUBKEYS_PER_MULTISIG = 20;
export const MAX_STACK_SIZE = 1000;

export interface ScriptOp {
  readonly opcode: number;
  /** The pushed bytes for a push opcode (0x00..OP_PUSHDATA4), else empty. */
  readonly data: Uint8Array;
  /** Offset of the opcode byte and of the byte after the op. */
  readonly start: number;
  readonly end: number;
}

/**
 * Reads the op at `pc`, or null when the script is malformed there (a push that runs past the
 * end), exactly where Core's GetScriptOp fails.
 */
export function readOp(script: Uint8Array, pc: number): ScriptOp | null {
  if (pc >= script.length) return null;
  const opcode = script[pc] as number;
  let p = pc + 1;
  if (opcode > OP_PUSHDATA4) return { opcode, data: new Uint8Array(0), start: pc, end: p };
  let size: number;
  if (opcode < OP_PUSHDATA1) {
    size = opcode;
  } else if (opcode === OP_PUSHDATA1) {
    if (script.length - p < 1) return null;
    size = script[p] as number;
    p += 1;
  } else if (opcode === OP_PUSHDATA2) {
    if (script.length - p < 2) return null;
    size = (script[p] as number) | ((script[p + 1] as number) << 8);
    p += 2;
  } else {
    if (script.length - p < 4) return null;
    size =
      ((script[p] as number) |
        ((script[p + 1] as number) << 8) |
        ((script[p + 2] as number) << 16) |
        ((script[p + 3] as number) << 24)) >>>
      0;
    p += 4;
  }
  if (script.length - p < size) return null;
  return { opcode, data: script.subarray(p, p + size), start: pc, end: p + size };
}

/** All ops of a script; `ok` is false when it stops at a malformed op. */
export function parseScript(script: Uint8Array): { ops: ScriptOp[]; ok: boolean } {
  const ops: ScriptOp[] = [];
  let pc = 0;
  while (pc < script.length) {
    const op = readOp(script, pc);
    if (op === null) return { ops, ok: false };
    ops.push(op);
    pc = op.end;
  }
  return { ops, ok: true };
}

/** CScript::IsPushOnly: every op is at most OP_16 (OP_RESERVED counts) and the script parses. */
export function isPushOnly(script: Uint8Array, from = 0): boolean {
  let pc = from;
  while (pc < script.length) {
    const op = readOp(script, pc);
    if (op === null || op.opcode > OP_16) return false;
    pc = op.end;
  }
  return true;
}

/** OP_0..OP_16 → 0..16 (DecodeOP_N). */
export function decodeOpN(opcode: number): number {
  if (opcode === 0) return 0;
  return opcode - (OP_1 - 1);
}

/** The minimal push of `data`, as `CScript() << data` writes it. */
export function pushData(data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n < OP_PUSHDATA1) return concatBytes(Uint8Array.of(n), data);
  if (n <= 0xff) return concatBytes(Uint8Array.of(OP_PUSHDATA1, n), data);
  if (n <= 0xffff) return concatBytes(Uint8Array.of(OP_PUSHDATA2, n & 0xff, n >> 8), data);
  return concatBytes(
    Uint8Array.of(OP_PUSHDATA4, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff),
    data,
  );
}

/** `CScript() << n` for an integer: OP_0, OP_1NEGATE, OP_1..OP_16, else a CScriptNum push. */
export function pushInt(n: number): Uint8Array {
  if (n === 0) return Uint8Array.of(0);
  if (n === -1) return Uint8Array.of(OP_1NEGATE);
  if (n >= 1 && n <= 16) return Uint8Array.of(OP_1 - 1 + n);
  return pushData(ScriptNum().encode(BigInt(n)));
}

/** CheckMinimalPush: the push opcode is the smallest that can push `data`. */
export function isMinimalPush(data: Uint8Array, opcode: number): boolean {
  const n = data.length;
  if (n === 0) return opcode === 0;
  if (n === 1 && (data[0] as number) >= 1 && (data[0] as number) <= 16) return false;
  if (n === 1 && data[0] === 0x81) return false;
  if (n <= 75) return opcode === n;
  if (n <= 255) return opcode === OP_PUSHDATA1;
  if (n <= 65535) return opcode === OP_PUSHDATA2;
  return true;
}

/** CScript::HasValidOps: every op parses, is at most OP_NOP10 and pushes at most 520 bytes. */
export function hasValidOps(script: Uint8Array): boolean {
  let pc = 0;
  while (pc < script.length) {
    const op = readOp(script, pc);
    if (op === null || op.opcode > OP.NOP10 || op.data.length > MAX_SCRIPT_ELEMENT_SIZE)
      return false;
    pc = op.end;
  }
  return true;
}

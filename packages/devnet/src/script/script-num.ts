/**
 * Script numbers and booleans (src/script/script.h CScriptNum, interpreter.cpp CastToBool), on
 * @scure/btc-signer's ScriptNum coder. A number that is too long or not minimal (under
 * MINIMALDATA) stops the interpreter with SCRIPT_ERR_UNKNOWN_ERROR, as Core's scriptnum_error does.
 */
import { ScriptNum } from '@scure/btc-signer/script.js';
import { fail } from './errors.js';

const NUM_CODERS = new Map<string, ReturnType<typeof ScriptNum>>();

/** CScriptNum(v, requireMinimal, maxSize). */
export function toNum(v: Uint8Array, requireMinimal: boolean, maxSize = 4): bigint {
  const key = `${maxSize}:${requireMinimal}`;
  let coder = NUM_CODERS.get(key);
  if (coder === undefined) {
    coder = ScriptNum(maxSize, requireMinimal);
    NUM_CODERS.set(key, coder);
  }
  try {
    return coder.decode(v);
  } catch {
    return fail('UNKNOWN_ERROR');
  }
}

const NUM_ENCODER = ScriptNum();

export function fromNum(n: bigint): Uint8Array {
  return NUM_ENCODER.encode(n);
}

/** CScriptNum::getint: clamped to the int32 range. */
export function toInt(n: bigint): number {
  if (n > 2147483647n) return 2147483647;
  if (n < -2147483648n) return -2147483648;
  return Number(n);
}

export function castToBool(v: Uint8Array): boolean {
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== 0) return !(i === v.length - 1 && v[i] === 0x80);
  }
  return false;
}

export const TRUE = Uint8Array.of(1);
export const FALSE = new Uint8Array(0);

/**
 * RPC arguments as Core's RPCHelpMan checks them (src/rpc/util.cpp, src/rpc/server.cpp): named
 * parameters mapped to positions ("Unknown named parameter x", -8), the argument count (the
 * method's help as a -1 error), each argument's JSON type ("Wrong type passed", -3), and the
 * value parsers handlers use (ParseHashV, getInt, AmountFromValue).
 */
import { moneyRange, parseFixedPoint } from '../consensus/amount.js';
import { isHash256Hex } from '../consensus/hash.js';
import { RPC, RpcError } from './errors.js';
import { type JsonValue, jsonTypeName, writeJson } from './json.js';

export type ArgType = 'num' | 'str' | 'hex' | 'bool' | 'amount' | 'arr' | 'obj';

export interface ArgSpec {
  /** Name with aliases, "verbosity|verbose". */
  readonly names: string;
  readonly type: ArgType;
  readonly required: boolean;
  /** Core's RPCArgOptions.skip_type_check (e.g. verbosity that also takes a bool). */
  readonly skipTypeCheck?: boolean;
}

export interface MethodSpec<Ctx> {
  readonly name: string;
  readonly description: string;
  readonly args: readonly ArgSpec[];
  readonly handler: (params: readonly unknown[], ctx: Ctx) => JsonValue;
}

const EXPECTED: Readonly<Record<ArgType, string | null>> = Object.freeze({
  num: 'number',
  str: 'string',
  hex: 'string',
  bool: 'bool',
  amount: null,
  arr: 'array',
  obj: 'object',
});

/** The usage line of Core's help: `getblock "blockhash" ( verbosity )`. */
export function usage(spec: MethodSpec<unknown>): string {
  const shown = (a: ArgSpec): string => {
    const name = a.names.split('|')[0] as string;
    return a.type === 'str' || a.type === 'hex' ? `"${name}"` : name;
  };
  const required = spec.args.filter((a) => a.required).map(shown);
  const optional = spec.args.filter((a) => !a.required).map(shown);
  const parts = [spec.name, ...required];
  if (optional.length > 0) parts.push(`( ${optional.join(' ')} )`);
  return parts.join(' ');
}

/** transformNamedArguments: an object of named parameters → positional, holes as null. */
export function positionalParams(spec: MethodSpec<unknown>, params: unknown): unknown[] {
  if (Array.isArray(params)) return params;
  const named = { ...(params as Record<string, unknown>) };
  const out: unknown[] = [];
  let hole = 0;
  for (const arg of spec.args) {
    const key = arg.names.split('|').find((n) => Object.hasOwn(named, n));
    if (key !== undefined) {
      for (let i = 0; i < hole; i++) out.push(null);
      hole = 0;
      out.push(named[key]);
      delete named[key];
    } else {
      hole++;
    }
  }
  const unknown = Object.keys(named)[0];
  if (unknown !== undefined)
    throw new RpcError(RPC.INVALID_PARAMETER, `Unknown named parameter ${unknown}`);
  return out;
}

/** IsValidNumArgs then MatchesType for every argument, as RPCHelpMan::HandleRequest. */
export function checkArgs(spec: MethodSpec<unknown>, params: readonly unknown[]): void {
  const required = spec.args.reduce((n, a, i) => (a.required ? i + 1 : n), 0);
  if (params.length < required || params.length > spec.args.length) {
    throw new RpcError(RPC.MISC_ERROR, `${usage(spec)}\n\n${spec.description}\n`);
  }
  const mismatch: Record<string, JsonValue> = {};
  spec.args.forEach((arg, i) => {
    const value = params[i];
    if (arg.skipTypeCheck) return;
    if (!arg.required && (value === null || value === undefined)) return;
    const expected = EXPECTED[arg.type];
    if (expected === null) return;
    const got = jsonTypeName(value);
    if (got !== expected) {
      mismatch[`Position ${i + 1} (${arg.names})`] =
        `JSON value of type ${got} is not of expected type ${expected}`;
    }
  });
  if (Object.keys(mismatch).length > 0) {
    throw new RpcError(RPC.TYPE_ERROR, `Wrong type passed:\n${writeJson(mismatch, 4)}`);
  }
}

/** UniValue::getInt<int>: a number that is an integer in range, else "JSON integer out of range". */
export function getInt(value: unknown, bits = 32): number {
  if (typeof value !== 'number') {
    throw new RpcError(
      RPC.MISC_ERROR,
      `JSON value of type ${jsonTypeName(value)} is not of expected type number`,
    );
  }
  const limit = 2 ** (bits - 1);
  if (!Number.isInteger(value) || value < -limit || value >= limit) {
    throw new RpcError(RPC.MISC_ERROR, 'JSON integer out of range');
  }
  return value;
}

export function getBool(value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new RpcError(
      RPC.MISC_ERROR,
      `JSON value of type ${jsonTypeName(value)} is not of expected type bool`,
    );
  }
  return value;
}

export function getStr(value: unknown): string {
  if (typeof value !== 'string') {
    throw new RpcError(
      RPC.MISC_ERROR,
      `JSON value of type ${jsonTypeName(value)} is not of expected type string`,
    );
  }
  return value;
}

/** ParseHashV: 64 hex characters, lowercased; Core's two error texts otherwise (-8). */
export function parseHash(value: unknown, name: string): string {
  const text = getStr(value);
  if (isHash256Hex(text)) return text.toLowerCase();
  if (text.length !== 64) {
    throw new RpcError(
      RPC.INVALID_PARAMETER,
      `${name} must be of length 64 (not ${text.length}, for '${text}')`,
    );
  }
  throw new RpcError(RPC.INVALID_PARAMETER, `${name} must be hexadecimal string (not '${text}')`);
}

/** AmountFromValue: a JSON number or string of BTC → satoshis (-3 on any failure). */
export function amountFromValue(value: unknown, decimals = 8): bigint {
  if (typeof value !== 'number' && typeof value !== 'string') {
    throw new RpcError(RPC.TYPE_ERROR, 'Amount is not a number or string');
  }
  const amount = parseFixedPoint(String(value), decimals);
  if (amount === null) throw new RpcError(RPC.TYPE_ERROR, 'Invalid amount');
  if (!moneyRange(amount)) throw new RpcError(RPC.TYPE_ERROR, 'Amount out of range');
  return amount;
}

/** ParseFeeRate for maxfeerate: BTC/kvB below 1 BTC/kvB, in sat/kvB. */
export function parseFeeRate(value: unknown): bigint {
  const rate = amountFromValue(value);
  if (rate >= 100_000_000n) {
    throw new RpcError(
      RPC.INVALID_PARAMETER,
      'Fee rates larger than or equal to 1BTC/kvB are not accepted',
    );
  }
  return rate;
}

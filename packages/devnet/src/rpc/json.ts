/**
 * JSON as Core's UniValue writes it: amounts as numbers with exactly 8 decimals
 * (ValueFromAmount), floating-point values with 16 significant digits (setprecision(16)), and
 * the 4-space pretty form used inside "Wrong type passed" messages.
 */
import { amountToBtcString } from '../consensus/amount.js';

/** A satoshi amount, written as a BTC number with 8 decimals. */
export class Amount {
  readonly sats: bigint;
  constructor(sats: bigint) {
    this.sats = sats;
  }
}

/** A double written as C++ `ostream << setprecision(16)` writes it. */
export class JsonFloat {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}

export type JsonValue =
  | null
  | boolean
  | number
  | string
  | Amount
  | JsonFloat
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined };

/** printf("%.16g"): 16 significant digits, trailing zeros dropped, exponent of at least 2 digits. */
export function formatDouble(x: number): string {
  if (!Number.isFinite(x)) return 'null';
  if (x === 0) return '0';
  const [mantissa = '0', expText = '0'] = x.toExponential(15).split('e');
  const exponent = Number(expText);
  const trim = (s: string): string =>
    s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
  if (exponent < -4 || exponent >= 16) {
    const sign = exponent < 0 ? '-' : '+';
    return `${trim(mantissa)}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return trim(x.toFixed(Math.max(0, 15 - exponent)));
}

function writeValue(v: JsonValue, indent: number, level: number): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : formatDouble(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Amount) return amountToBtcString(v.sats);
  if (v instanceof JsonFloat) return formatDouble(v.value);
  const pad = (n: number): string => (indent > 0 ? ' '.repeat(indent * n) : '');
  const nl = indent > 0 ? '\n' : '';
  if (Array.isArray(v)) {
    const items = (v as readonly JsonValue[]).map(
      (x) => `${pad(level + 1)}${writeValue(x, indent, level + 1)}`,
    );
    return items.length === 0 ? '[]' : `[${nl}${items.join(`,${nl}`)}${nl}${pad(level)}]`;
  }
  const obj = v as { readonly [key: string]: JsonValue | undefined };
  const sep = indent > 0 ? ': ' : ':';
  const items = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .map(
      (k) =>
        `${pad(level + 1)}${JSON.stringify(k)}${sep}${writeValue(obj[k] as JsonValue, indent, level + 1)}`,
    );
  return items.length === 0 ? '{}' : `{${nl}${items.join(`,${nl}`)}${nl}${pad(level)}}`;
}

/** Serializes a result tree; `indent` > 0 gives UniValue's pretty form. */
export function writeJson(v: JsonValue, indent = 0): string {
  return writeValue(v, indent, 0);
}

/** UniValue's type name of a parsed JSON value (uvTypeName). */
export function jsonTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

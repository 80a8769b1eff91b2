/**
 * Amounts in satoshis (`bigint`) and Core's text forms of them: `ValueFromAmount` (JSON, always
 * 8 decimals), `FormatMoney` (reject messages, trailing zeros trimmed to 2 decimals) and
 * `ParseFixedPoint` (amounts given as JSON numbers or strings). src/util/moneystr.cpp,
 * src/util/strencodings.cpp, src/core_write.cpp.
 */
import { COIN, MAX_MONEY } from './params.js';

export function moneyRange(value: bigint): boolean {
  return value >= 0n && value <= MAX_MONEY;
}

/** `%s%d.%08d` with the sign in front, as ValueFromAmount writes a JSON number. */
export function amountToBtcString(sats: bigint): string {
  const sign = sats < 0n ? '-' : '';
  const abs = sats < 0n ? -sats : sats;
  return `${sign}${abs / COIN}.${(abs % COIN).toString().padStart(8, '0')}`;
}

/** Core's FormatMoney: 8 decimals, then trailing zeros trimmed down to two decimals. */
export function formatMoney(sats: bigint): string {
  let text = amountToBtcString(sats);
  const dot = text.indexOf('.');
  while (text.length - dot - 1 > 2 && text.endsWith('0')) text = text.slice(0, -1);
  return text;
}

const FIXED_POINT_RE = /^(-)?(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/;

/**
 * Core's ParseFixedPoint: a decimal (optionally with an exponent) → an integer scaled by
 * 10^decimals, or null when it has more precision than `decimals` or more than 18 digits.
 */
export function parseFixedPoint(text: string, decimals: number): bigint | null {
  const m = FIXED_POINT_RE.exec(text);
  if (!m) return null;
  const [, neg, intPart = '', frac = '', expText] = m;
  const digits = `${intPart}${frac}`.replace(/^0+(?=\d)/, '');
  if (digits.length > 18) return null;
  const exponent = expText === undefined ? 0 : Number.parseInt(expText, 10);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 36) return null;
  const shift = decimals - frac.length + exponent;
  let value = BigInt(digits);
  if (shift >= 0) {
    value *= 10n ** BigInt(shift);
  } else {
    const div = 10n ** BigInt(-shift);
    if (value % div !== 0n) return null;
    value /= div;
  }
  if (value > 999_999_999_999_999_999n) return null;
  return neg ? -value : value;
}

/**
 * Exact BTC ⇄ satoshi conversion for the amounts Bitcoin Core prints as JSON numbers.
 *
 * Core writes every amount with `ValueFromAmount` (src/rpc/util.cpp upstream): an integer number
 * of satoshis printed as a decimal literal with exactly 8 fraction digits (`0.00001000`,
 * `20999999.97690000`). `JSON.parse` turns that literal into the nearest double, and Node 20 has
 * no way to see the literal itself (no `JSON.parse` source-text access), so the conversion works
 * from the double — but never by multiplying it:
 *
 * - Up to 21e6 BTC the spacing of doubles is at most 2^-28 ≈ 3.7e-9 BTC, less than half a
 *   satoshi (5e-9). The double nearest to an 8-decimal literal is therefore closer to that
 *   literal than to any other 8-decimal value, and `toFixed(8)` (which rounds the double's exact
 *   binary value to 8 decimals, ECMA-262 Number.prototype.toFixed) gives the literal back.
 * - The decimal string is turned into satoshis by `Decimal` from @scure/btc-signer, a fixed-point
 *   parser (string → bigint), not by floating-point arithmetic.
 * - A number that does not survive `Number(x.toFixed(8)) === x` had more than 8 significant
 *   decimals and is refused (Core never prints one), as is anything beyond ±21e6 BTC.
 *
 * `test/chain/amount.test.ts` checks this for every satoshi value class with fast-check.
 */
import { Decimal } from '@scure/btc-signer';

/** 21 million BTC in satoshis: Core's MAX_MONEY (src/consensus/amount.h upstream). */
export const MAX_MONEY_SATS = 2_100_000_000_000_000n;

/** `x` (a BTC amount as JSON gave it) in satoshis, or a RangeError naming `where`. */
export function btcToSats(x: number, where: string): bigint {
  if (typeof x !== 'number' || !Number.isFinite(x)) {
    throw new TypeError(
      `${where}: expected a BTC amount as a finite JSON number, got ${String(x)}`,
    );
  }
  const fixed = x.toFixed(8);
  if (Number(fixed) !== x) {
    throw new RangeError(`${where}: expected at most 8 decimals of BTC, got ${String(x)}`);
  }
  const negative = fixed.startsWith('-');
  const sats = Decimal.decode(negative ? fixed.slice(1) : fixed);
  if (sats > MAX_MONEY_SATS) {
    throw new RangeError(`${where}: expected at most 21e6 BTC, got ${fixed}`);
  }
  return negative ? -sats : sats;
}

/** Satoshis as a BTC decimal string: `1n → "0.00000001"`, `100_000_000n → "1"`. */
export function satsToBtcString(sats: bigint, where: string): string {
  if (typeof sats !== 'bigint' || sats < 0n || sats > MAX_MONEY_SATS) {
    throw new RangeError(`${where}: expected 0..21e14 satoshis as a bigint, got ${String(sats)}`);
  }
  return Decimal.encode(sats);
}

/**
 * Satoshis as the JSON number to send for a Core AMOUNT argument (what bitcoin-cli sends).
 * Core reads the number's literal text with ParseFixedPoint (8 decimals, exponent allowed), and
 * `JSON.stringify` writes the shortest literal that reads back as the same double — which, by
 * the argument at the top of this file, is the 8-decimal value itself (or its exponent form,
 * e.g. `1e-8`). Checked for all values in test/chain/amount.test.ts.
 */
export function satsToBtcNumber(sats: bigint, where: string): number {
  return Number(satsToBtcString(sats, where));
}

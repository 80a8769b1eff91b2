/**
 * Checks on values that reach the storage layer from its callers. Each throws a
 * CoordinatorError whose message starts with the place and says what was expected and what
 * came: BAD_AMOUNT for amounts, BAD_REQUEST for everything else that is malformed.
 */
import { CoordinatorError } from '../errors.js';
import { MAX_MONEY_SATS } from './schema.js';

/** Asset codes: 2..16 uppercase letters or digits (`BTC`, `TBTC`). */
export const ASSET_CODE = /^[A-Z0-9]{2,16}$/;

/** A short description of a value for an error message (public data only reaches here). */
export function describe(x: unknown): string {
  if (typeof x === 'string') return x.length > 40 ? `a string of ${x.length} chars` : `'${x}'`;
  if (typeof x === 'bigint') return `${x}n`;
  if (x instanceof Uint8Array) return `${x.length} bytes`;
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (typeof x === 'object') return 'an object';
  return `${typeof x} ${String(x)}`;
}

function bad(place: string, expected: string, x: unknown): CoordinatorError {
  return new CoordinatorError('BAD_REQUEST', `${place}: expected ${expected}, got ${describe(x)}`);
}

export function text(place: string, x: unknown, min: number, max: number): string {
  if (typeof x !== 'string' || x.length < min || x.length > max) {
    throw bad(place, `a string of ${min}..${max} characters`, x);
  }
  return x;
}

export function assetCode(place: string, x: unknown): string {
  if (typeof x !== 'string' || !ASSET_CODE.test(x)) {
    throw bad(place, 'an asset code of 2..16 uppercase letters or digits', x);
  }
  return x;
}

/** A database row id: a positive bigint. */
export function rowId(place: string, x: unknown): bigint {
  if (typeof x !== 'bigint' || x <= 0n) throw bad(place, 'a positive bigint id', x);
  return x;
}

/** A positive amount of satoshis, at most 21e14. */
export function positiveSats(place: string, x: unknown): bigint {
  if (typeof x !== 'bigint' || x <= 0n || x > MAX_MONEY_SATS) {
    throw new CoordinatorError(
      'BAD_AMOUNT',
      `${place}: expected a bigint of satoshis in 1..${MAX_MONEY_SATS}, got ${describe(x)}`,
    );
  }
  return x;
}

/** A posting amount: a non-zero bigint with |amount| at most 21e14. */
export function postingSats(place: string, x: unknown): bigint {
  if (typeof x !== 'bigint' || x === 0n || x > MAX_MONEY_SATS || x < -MAX_MONEY_SATS) {
    throw new CoordinatorError(
      'BAD_AMOUNT',
      `${place}: expected a non-zero bigint of satoshis within ±${MAX_MONEY_SATS}, got ${describe(x)}`,
    );
  }
  return x;
}

/** A point in time as integer milliseconds since the epoch. */
export function timeMs(place: string, x: unknown): bigint {
  if (!(x instanceof Date) || !Number.isSafeInteger(x.getTime()) || x.getTime() < 0) {
    throw bad(place, 'a valid Date not before 1970', x);
  }
  return BigInt(x.getTime());
}

export function byteString(place: string, x: unknown, min: number, max: number): Uint8Array {
  if (!(x instanceof Uint8Array) || x.length < min || x.length > max) {
    throw bad(place, `${min}..${max} bytes`, x);
  }
  return x;
}

/** A value the database returned must be a bigint (integers are configured to come back so). */
export function dbBigint(place: string, x: unknown): bigint {
  if (typeof x !== 'bigint') {
    throw new CoordinatorError(
      'INTERNAL',
      `${place}: expected the database to return a bigint, got ${typeof x}`,
    );
  }
  return x;
}

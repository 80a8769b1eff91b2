/**
 * The chart of accounts, as data. A posting's amount is signed: positive = debit, negative =
 * credit. An account's stored balance is the plain sum of its postings (debit-positive); its
 * natural balance is that sum for a debit-normal account and its negation for a credit-normal one,
 * so that every balance a person reads is positive in the normal case. docs/ledger.md §1.
 */
import { CoordinatorError } from '../errors.js';

export const ASSETS = Object.freeze(['BTC'] as const);
export type Asset = (typeof ASSETS)[number];

/** 21e6 BTC in satoshis: no amount, and no balance, can be larger. */
export const MAX_SATS = 2_100_000_000_000_000n;

interface AccountKindSpec {
  /** Which side increases the account's natural balance. */
  readonly normal: 'debit' | 'credit';
  /** What `owner` names, or null when the account has no owner. */
  readonly owner: 'user id' | 'withdrawal id' | 'deposit id' | null;
  /** True when the natural balance may never go below zero (applyToBalances refuses). */
  readonly nonNegative: boolean;
  readonly meaning: string;
}

const k = (
  normal: AccountKindSpec['normal'],
  owner: AccountKindSpec['owner'],
  nonNegative: boolean,
  meaning: string,
): AccountKindSpec => Object.freeze({ normal, owner, nonNegative, meaning });

export const ACCOUNT_KINDS = Object.freeze({
  user: k('credit', 'user id', true, 'what the exchange owes one user, available to them'),
  pending_withdrawals: k(
    'credit',
    'withdrawal id',
    true,
    'reserved for one accepted withdrawal (amount, user fee, network fee) until it settles',
  ),
  deposits_in_flight: k(
    'credit',
    'deposit id',
    true,
    'one deposit seen on chain and not yet credited to its user (unconfirmed or delayed)',
  ),
  hot_wallet: k('debit', null, true, 'coins in confirmed outputs of the hot (2-of-3) wallet'),
  cold_wallet: k('debit', null, true, 'coins in the cold wallet'),
  external: k(
    'debit',
    null,
    false,
    'the outside world: coins in unconfirmed deposits on their way to the hot wallet',
  ),
  fees: k(
    'debit',
    null,
    false,
    "the exchange's fee result: network fees paid (debit) less withdrawal fees charged (credit)",
  ),
} as const satisfies Record<string, AccountKindSpec>);

export type AccountKind = keyof typeof ACCOUNT_KINDS;

export interface Account {
  readonly kind: AccountKind;
  readonly owner?: string;
  readonly asset: Asset;
}

/** Identifiers (user, withdrawal, deposit, references): 1..128 printable ASCII, no space. */
const ID = /^[\x21-\x7e]{1,128}$/;

export function assertId(place: string, what: string, value: unknown): string {
  if (typeof value !== 'string' || !ID.test(value)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected ${what} as 1..128 printable ASCII characters, got ${describe(value)}`,
    );
  }
  return value;
}

/** A satoshi amount: a bigint in 0..21e14 (`positive` also excludes 0). */
export function assertSats(place: string, what: string, value: unknown, positive = false): bigint {
  if (typeof value !== 'bigint' || value < (positive ? 1n : 0n) || value > MAX_SATS) {
    throw new CoordinatorError(
      'BAD_AMOUNT',
      `${place}: expected ${what} as a bigint of satoshis in ${positive ? 1 : 0}..${MAX_SATS}, got ${describe(value)}`,
    );
  }
  return value;
}

export function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

/** Validate an account value from outside; returns a frozen copy. */
export function assertAccount(place: string, value: unknown): Account {
  if (typeof value !== 'object' || value === null) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected an account, got ${describe(value)}`,
    );
  }
  const v = value as Record<string, unknown>;
  const extra = Object.keys(v).filter((key) => !['kind', 'owner', 'asset'].includes(key));
  if (extra.length > 0) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected account fields kind, owner, asset, got also ${extra.join(', ')}`,
    );
  }
  const kind = v.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(ACCOUNT_KINDS, kind)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected account kind one of ${Object.keys(ACCOUNT_KINDS).join(', ')}, got ${describe(kind)}`,
    );
  }
  if (!(ASSETS as readonly unknown[]).includes(v.asset)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected asset one of ${ASSETS.join(', ')}, got ${describe(v.asset)}`,
    );
  }
  const spec = ACCOUNT_KINDS[kind as AccountKind];
  if (spec.owner === null) {
    if (v.owner !== undefined) {
      throw new CoordinatorError(
        'BAD_REQUEST',
        `${place}: expected no owner on a ${kind} account, got ${describe(v.owner)}`,
      );
    }
    return Object.freeze({ kind: kind as AccountKind, asset: v.asset as Asset });
  }
  const owner = assertId(place, `the ${kind} account's owner (${spec.owner})`, v.owner);
  return Object.freeze({ kind: kind as AccountKind, owner, asset: v.asset as Asset });
}

/** The key of an account in a balance map: `kind/asset` or `kind/asset/owner`. */
export function accountKey(account: Account): string {
  return account.owner === undefined
    ? `${account.kind}/${account.asset}`
    : `${account.kind}/${account.asset}/${account.owner}`;
}

/** Inverse of `accountKey` (the owner may itself contain `/`). */
export function parseAccountKey(key: string): Account {
  const [kind, asset, ...rest] = key.split('/');
  const owner = rest.length === 0 ? undefined : rest.join('/');
  return assertAccount(
    'ledger/parseAccountKey',
    owner === undefined ? { kind, asset } : { kind, asset, owner },
  );
}

/** The balance as read by a person: positive on the account's normal side. */
export function naturalBalance(account: Account, stored: bigint): bigint {
  return ACCOUNT_KINDS[account.kind].normal === 'debit' ? stored : -stored;
}

const single = (kind: AccountKind) => (): Account => Object.freeze({ kind, asset: 'BTC' as const });
const owned =
  (kind: AccountKind, what: string) =>
  (owner: string): Account =>
    Object.freeze({ kind, owner: assertId(`ledger/${kind}`, what, owner), asset: 'BTC' as const });

export const accounts = Object.freeze({
  user: owned('user', 'a user id'),
  pending: owned('pending_withdrawals', 'a withdrawal id'),
  inFlight: owned('deposits_in_flight', 'a deposit id'),
  hotWallet: single('hot_wallet'),
  coldWallet: single('cold_wallet'),
  external: single('external'),
  fees: single('fees'),
});

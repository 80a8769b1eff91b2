/**
 * Journal entries: one business event as a set of postings that sums to zero per asset, and the
 * pure application of an entry to a balance map. docs/ledger.md §2, §4.
 */
import { CoordinatorError } from '../errors.js';
import {
  ACCOUNT_KINDS,
  type Account,
  accountKey,
  assertAccount,
  assertId,
  describe,
  MAX_SATS,
  naturalBalance,
} from './accounts.js';

/** Every kind of entry the ledger knows, with the event that produces it. */
export const ENTRY_KINDS = Object.freeze({
  deposit_seen: 'a deposit output to our wallet was seen on chain (unconfirmed)',
  deposit_credited: 'a deposit confirmed and passed risk: the user is credited',
  deposit_delayed: 'a deposit confirmed but risk delayed it: coins in, user not yet credited',
  deposit_cleared: 'a delayed deposit was cleared by review: the user is credited',
  deposit_reversed: 'a reorg removed a deposit: whatever was booked for it is undone',
  withdrawal_accepted: "a withdrawal was accepted: the user's funds are reserved",
  withdrawal_released: 'a withdrawal was rejected or cancelled before broadcast: reserve returned',
  withdrawal_broadcast: 'the withdrawal was broadcast: its share of the network fee is reserved',
  withdrawal_fee_bumped: 'a replacement (RBF) raised the network fee: the increase is reserved',
  withdrawal_confirmed: 'the withdrawal confirmed: the reserve settles against the hot wallet',
  sweep_to_cold: 'a sweep from the hot wallet to the cold wallet confirmed',
  refill_received: 'a refill from the cold wallet to the hot wallet confirmed',
} as const);

export type EntryKind = keyof typeof ENTRY_KINDS;

export interface Posting {
  readonly account: Account;
  /** Satoshis; positive = debit, negative = credit, never 0. */
  readonly amount: bigint;
}

export interface JournalEntry {
  readonly kind: EntryKind;
  /** The business id the entry belongs to; (kind, reference) is unique in the journal. */
  readonly reference: string;
  readonly postings: readonly Posting[];
}

/** Balances by `accountKey`, stored debit-positive. A missing key is a zero balance. */
export type Balances = ReadonlyMap<string, bigint>;

const MAX_POSTINGS = 64;

/**
 * Validate an entry's shape (kind, reference, accounts, amounts) and that it sums to zero per
 * asset. Throws BAD_REQUEST / BAD_AMOUNT for a malformed entry, UNBALANCED_ENTRY when the sums
 * are not zero. Returns a frozen copy.
 */
export function assertBalanced(entry: unknown): JournalEntry {
  const place = 'ledger/assertBalanced';
  if (typeof entry !== 'object' || entry === null) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected an entry, got ${describe(entry)}`,
    );
  }
  const e = entry as Record<string, unknown>;
  if (typeof e.kind !== 'string' || !Object.hasOwn(ENTRY_KINDS, e.kind)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected kind one of ${Object.keys(ENTRY_KINDS).join(', ')}, got ${describe(e.kind)}`,
    );
  }
  const reference = assertId(place, 'reference', e.reference);
  const raw = e.postings;
  if (!Array.isArray(raw) || raw.length < 2 || raw.length > MAX_POSTINGS) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place} ${e.kind}: expected 2..${MAX_POSTINGS} postings, got ${Array.isArray(raw) ? raw.length : describe(raw)}`,
    );
  }
  const sums = new Map<string, bigint>();
  const postings = raw.map((p: unknown, i): Posting => {
    const at = `${place} ${e.kind} posting ${i}`;
    if (typeof p !== 'object' || p === null) {
      throw new CoordinatorError('BAD_REQUEST', `${at}: expected a posting, got ${describe(p)}`);
    }
    const { account, amount } = p as Record<string, unknown>;
    const acc = assertAccount(at, account);
    if (typeof amount !== 'bigint' || amount === 0n || amount > MAX_SATS || amount < -MAX_SATS) {
      throw new CoordinatorError(
        'BAD_AMOUNT',
        `${at}: expected a non-zero bigint amount within ±${MAX_SATS}, got ${describe(amount)}`,
      );
    }
    sums.set(acc.asset, (sums.get(acc.asset) ?? 0n) + amount);
    return Object.freeze({ account: acc, amount });
  });
  for (const [asset, sum] of sums) {
    if (sum !== 0n) {
      throw new CoordinatorError(
        'UNBALANCED_ENTRY',
        `${place} ${e.kind} ${reference}: expected postings in ${asset} to sum to 0, got ${sum}`,
        { kind: e.kind, reference, asset, sum: sum.toString() },
      );
    }
  }
  return Object.freeze({
    kind: e.kind as EntryKind,
    reference,
    postings: Object.freeze(postings),
  });
}

/**
 * Apply a balanced entry to balances; returns a new map (the input is not touched). Refuses with
 * INSUFFICIENT_FUNDS when an account whose kind is `nonNegative` (user, pending withdrawal,
 * deposit in flight, hot and cold wallet) would end with a natural balance below zero: that stops
 * overdrafts, settling or releasing a withdrawal twice, and crediting a deposit twice.
 */
export function applyToBalances(balances: Balances, entry: JournalEntry): Map<string, bigint> {
  const checked = assertBalanced(entry);
  if (!(balances instanceof Map)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `ledger/applyToBalances: expected balances as a Map, got ${describe(balances)}`,
    );
  }
  const next = new Map(balances);
  const touched = new Map<string, Account>();
  for (const { account, amount } of checked.postings) {
    const key = accountKey(account);
    const before = next.get(key) ?? 0n;
    if (typeof before !== 'bigint') {
      throw new CoordinatorError(
        'BAD_REQUEST',
        `ledger/applyToBalances: expected the balance of ${key} as a bigint, got ${describe(before)}`,
      );
    }
    next.set(key, before + amount);
    touched.set(key, account);
  }
  for (const [key, account] of touched) {
    const natural = naturalBalance(account, next.get(key) ?? 0n);
    if (ACCOUNT_KINDS[account.kind].nonNegative && natural < 0n) {
      throw new CoordinatorError(
        'INSUFFICIENT_FUNDS',
        `ledger/applyToBalances ${checked.kind} ${checked.reference}: expected ${key} to stay at or above 0, got ${natural}`,
        { account: key, kind: checked.kind, reference: checked.reference },
      );
    }
  }
  return next;
}

/** The natural balance of one account in a balance map. */
export function balanceOf(balances: Balances, account: Account): bigint {
  return naturalBalance(account, balances.get(accountKey(account)) ?? 0n);
}

/** Build a frozen, balanced entry from postings, dropping zero amounts. */
export function entry(
  kind: EntryKind,
  reference: string,
  postings: readonly Posting[],
): JournalEntry {
  return assertBalanced({ kind, reference, postings: postings.filter((p) => p.amount !== 0n) });
}

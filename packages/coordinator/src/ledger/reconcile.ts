/**
 * Reconciliation: compare the ledger with what the chain and the records say, as a pure report.
 * docs/ledger.md §5.
 */
import { CoordinatorError } from '../errors.js';
import {
  type Account,
  type AccountKind,
  accounts,
  assertId,
  assertSats,
  describe,
  naturalBalance,
  parseAccountKey,
} from './accounts.js';
import type { Balances } from './journal.js';

export interface ChainSnapshot {
  /** Confirmed, unspent outputs of the hot wallet (as of one chain tip). */
  readonly confirmedUtxos: readonly { readonly outpoint: string; readonly amount: bigint }[];
  /** Deposit outputs to the wallet seen in the mempool or below the confirmation target. */
  readonly incomingDeposits: readonly { readonly depositId: string; readonly amount: bigint }[];
  /** Deposit records seen and not yet credited (incoming or delayed). */
  readonly uncreditedDeposits: readonly { readonly depositId: string; readonly amount: bigint }[];
  /** Withdrawal records not yet settled, with what their reserve should hold. */
  readonly openWithdrawals: readonly { readonly withdrawalId: string; readonly reserved: bigint }[];
}

export type ReconcileItem = 'hot_wallet' | 'incoming_deposits' | 'deposits_in_flight' | 'pending';

export interface ReconcileLine {
  readonly item: ReconcileItem;
  /** Ledger side (natural balance). */
  readonly ledger: bigint;
  /** Chain or record side. */
  readonly actual: bigint;
  /** ledger − actual; 0 when they agree. */
  readonly difference: bigint;
  /** Per-id disagreements (deposit or withdrawal id), for the items kept per id. */
  readonly ids: readonly {
    readonly id: string;
    readonly ledger: bigint;
    readonly actual: bigint;
  }[];
}

export interface ReconcileReport {
  readonly ok: boolean;
  readonly lines: readonly ReconcileLine[];
}

const PLACE = 'ledger/reconcile';

function sumList<T>(
  what: string,
  list: unknown,
  id: (x: T) => unknown,
  amount: (x: T) => unknown,
): Map<string, bigint> {
  if (!Array.isArray(list)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${PLACE}: expected ${what} as an array, got ${describe(list)}`,
    );
  }
  const out = new Map<string, bigint>();
  list.forEach((x: T, i) => {
    if (typeof x !== 'object' || x === null) {
      throw new CoordinatorError(
        'BAD_REQUEST',
        `${PLACE}: expected ${what}[${i}] as an object, got ${describe(x)}`,
      );
    }
    const key = assertId(`${PLACE} ${what}[${i}]`, 'an id', id(x));
    if (out.has(key)) {
      throw new CoordinatorError(
        'BAD_REQUEST',
        `${PLACE}: expected unique ids in ${what}, got ${key} twice`,
      );
    }
    out.set(key, assertSats(`${PLACE} ${what}[${i}]`, 'amount', amount(x)));
  });
  return out;
}

function ledgerByOwner(balances: Balances, kind: AccountKind): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [key, stored] of balances) {
    const account: Account = parseAccountKey(key);
    if (account.kind !== kind || account.owner === undefined) continue;
    const natural = naturalBalance(account, stored);
    if (natural !== 0n) out.set(account.owner, natural);
  }
  return out;
}

function total(m: ReadonlyMap<string, bigint>): bigint {
  let s = 0n;
  for (const v of m.values()) s += v;
  return s;
}

function line(
  item: ReconcileItem,
  ledger: ReadonlyMap<string, bigint>,
  actual: ReadonlyMap<string, bigint>,
  perId: boolean,
): ReconcileLine {
  const ids: { id: string; ledger: bigint; actual: bigint }[] = [];
  if (perId) {
    const all = [...new Set([...ledger.keys(), ...actual.keys()])].sort();
    for (const id of all) {
      const l = ledger.get(id) ?? 0n;
      const a = actual.get(id) ?? 0n;
      if (l !== a) ids.push(Object.freeze({ id, ledger: l, actual: a }));
    }
  }
  const l = total(ledger);
  const a = total(actual);
  return Object.freeze({ item, ledger: l, actual: a, difference: l - a, ids: Object.freeze(ids) });
}

/**
 * Compare: hot_wallet with the sum of confirmed wallet outputs; `external` with the incoming
 * deposits; each deposits_in_flight(d) with the uncredited deposit records; each
 * pending_withdrawals(w) with the open withdrawal records. `ok` only when every line agrees.
 */
export function reconcile(balances: Balances, snapshot: ChainSnapshot): ReconcileReport {
  if (!(balances instanceof Map)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${PLACE}: expected balances as a Map, got ${describe(balances)}`,
    );
  }
  if (typeof snapshot !== 'object' || snapshot === null) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${PLACE}: expected a snapshot, got ${describe(snapshot)}`,
    );
  }
  type U = { outpoint: string; amount: bigint };
  type D = { depositId: string; amount: bigint };
  type W = { withdrawalId: string; reserved: bigint };
  const utxos = sumList<U>(
    'confirmedUtxos',
    snapshot.confirmedUtxos,
    (x) => x.outpoint,
    (x) => x.amount,
  );
  const incoming = sumList<D>(
    'incomingDeposits',
    snapshot.incomingDeposits,
    (x) => x.depositId,
    (x) => x.amount,
  );
  const uncredited = sumList<D>(
    'uncreditedDeposits',
    snapshot.uncreditedDeposits,
    (x) => x.depositId,
    (x) => x.amount,
  );
  const open = sumList<W>(
    'openWithdrawals',
    snapshot.openWithdrawals,
    (x) => x.withdrawalId,
    (x) => x.reserved,
  );
  const single = (a: Account) =>
    new Map([['', naturalBalance(a, balances.get(`${a.kind}/${a.asset}`) ?? 0n)]]);
  const lines = Object.freeze([
    line('hot_wallet', single(accounts.hotWallet()), new Map([['', total(utxos)]]), false),
    line('incoming_deposits', single(accounts.external()), new Map([['', total(incoming)]]), false),
    line('deposits_in_flight', ledgerByOwner(balances, 'deposits_in_flight'), uncredited, true),
    line('pending', ledgerByOwner(balances, 'pending_withdrawals'), open, true),
  ]);
  return Object.freeze({
    ok: lines.every((l) => l.difference === 0n && l.ids.length === 0),
    lines,
  });
}

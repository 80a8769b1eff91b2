/**
 * Journal entries for moves between the hot and the cold wallet, booked when the move confirms
 * (the hot wallet account follows confirmed outputs). Table in docs/ledger.md §3.3.
 */
import { CoordinatorError } from '../errors.js';
import { accounts, assertSats, describe } from './accounts.js';
import { entry, type JournalEntry } from './journal.js';
import { assertTxid } from './withdrawal-entries.js';

export interface WalletMove {
  readonly txid: string;
  /** Received by the other wallet. */
  readonly amount: bigint;
  /** Paid to miners by the sending wallet. */
  readonly networkFee: bigint;
}

function parse(place: string, ev: unknown) {
  if (typeof ev !== 'object' || ev === null) {
    throw new CoordinatorError('BAD_REQUEST', `${place}: expected an event, got ${describe(ev)}`);
  }
  const e = ev as Record<string, unknown>;
  return {
    txid: assertTxid(place, e.txid),
    amount: assertSats(place, 'amount', e.amount, true),
    fee: assertSats(place, 'networkFee', e.networkFee),
  };
}

/** Dr cold_wallet amount, Dr fees networkFee / Cr hot_wallet (amount + networkFee). */
export function sweepToCold(ev: WalletMove): JournalEntry {
  const { txid, amount, fee } = parse('ledger/sweepToCold', ev);
  return entry('sweep_to_cold', txid, [
    { account: accounts.coldWallet(), amount },
    { account: accounts.fees(), amount: fee },
    { account: accounts.hotWallet(), amount: -(amount + fee) },
  ]);
}

/** Dr hot_wallet amount, Dr fees networkFee / Cr cold_wallet (amount + networkFee). */
export function refillReceived(ev: WalletMove): JournalEntry {
  const { txid, amount, fee } = parse('ledger/refillReceived', ev);
  return entry('refill_received', txid, [
    { account: accounts.hotWallet(), amount },
    { account: accounts.fees(), amount: fee },
    { account: accounts.coldWallet(), amount: -(amount + fee) },
  ]);
}

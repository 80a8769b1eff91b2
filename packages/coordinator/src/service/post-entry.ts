/**
 * The bridge from the pure ledger (ledger/: postings signed debit-positive, balanced per entry)
 * to the stored journal (storage/ledger.ts: postings signed so that a positive amount RAISES a
 * user's balance, user balances never below zero). A user account is credit-normal, so the
 * bridge stores every posting of an entry NEGATED: the entry still sums to zero, a credit to a
 * user raises its stored sum, and a debit that would overdraw it is refused by storage
 * (INSUFFICIENT_FUNDS). The natural balance of any account is then `naturalBalance(account,
 * -storedSum)`. System accounts without an owner are stored under their kind as owner.
 */
import type { Transaction } from 'kysely';
import type { Account } from '../ledger/accounts.js';
import type { JournalEntry } from '../ledger/journal.js';
import { ensureAccount, type PostResult, postJournalEntry } from '../storage/ledger.js';
import type { Schema } from '../storage/schema.js';

export function storedOwner(account: Account): string {
  return account.owner ?? account.kind;
}

export async function postEntry(
  trx: Transaction<Schema>,
  entry: JournalEntry,
  at: Date,
): Promise<PostResult> {
  const postings = [];
  for (const p of entry.postings) {
    const acc = await ensureAccount(
      trx,
      { kind: p.account.kind, owner: storedOwner(p.account), asset: p.account.asset },
      at,
    );
    postings.push({ accountId: acc.id, asset: p.account.asset, amount: -p.amount });
  }
  return postJournalEntry(trx, { kind: entry.kind, reference: entry.reference, at, postings });
}

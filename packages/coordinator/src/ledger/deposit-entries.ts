/**
 * Journal entries for deposits, one pure builder per event. Table in docs/ledger.md §3.1.
 * `epoch` counts earlier reversals of the same deposit (a reorg can remove a deposit and a later
 * block include it again): the reference is `depositId` for epoch 0, `depositId#epoch` after.
 */
import { CoordinatorError } from '../errors.js';
import { accounts, assertId, assertSats, describe } from './accounts.js';
import { entry, type JournalEntry } from './journal.js';

export interface DepositEvent {
  readonly depositId: string;
  readonly amount: bigint;
  readonly epoch?: number;
}

export interface UserDepositEvent extends DepositEvent {
  readonly userId: string;
}

/** How far a deposit had got when a reorg removed it. */
export type DepositStage = 'seen' | 'delayed' | 'credited';

function reference(place: string, ev: DepositEvent): string {
  const id = assertId(place, 'depositId', ev.depositId);
  const epoch = ev.epoch ?? 0;
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected epoch as a non-negative integer, got ${describe(epoch)}`,
    );
  }
  return epoch === 0 ? id : `${id}#${epoch}`;
}

function parse(place: string, ev: unknown): { ref: string; id: string; amount: bigint } {
  if (typeof ev !== 'object' || ev === null) {
    throw new CoordinatorError('BAD_REQUEST', `${place}: expected an event, got ${describe(ev)}`);
  }
  const d = ev as DepositEvent;
  const ref = reference(place, d);
  return { ref, id: d.depositId, amount: assertSats(place, 'amount', d.amount, true) };
}

/** Dr external / Cr deposits_in_flight(deposit). */
export function depositSeen(ev: DepositEvent): JournalEntry {
  const { ref, id, amount } = parse('ledger/depositSeen', ev);
  return entry('deposit_seen', ref, [
    { account: accounts.external(), amount },
    { account: accounts.inFlight(id), amount: -amount },
  ]);
}

/** Coins arrive (Dr hot_wallet / Cr external) and the user is credited (Dr in flight / Cr user). */
export function depositCredited(ev: UserDepositEvent): JournalEntry {
  const place = 'ledger/depositCredited';
  const { ref, id, amount } = parse(place, ev);
  const user = accounts.user(assertId(place, 'userId', ev.userId));
  return entry('deposit_credited', ref, [
    { account: accounts.hotWallet(), amount },
    { account: accounts.external(), amount: -amount },
    { account: accounts.inFlight(id), amount },
    { account: user, amount: -amount },
  ]);
}

/** Coins arrive (Dr hot_wallet / Cr external); the deposit stays in flight, the user waits. */
export function depositDelayed(ev: DepositEvent): JournalEntry {
  const { ref, amount } = parse('ledger/depositDelayed', ev);
  return entry('deposit_delayed', ref, [
    { account: accounts.hotWallet(), amount },
    { account: accounts.external(), amount: -amount },
  ]);
}

/** A delayed deposit is cleared: Dr deposits_in_flight(deposit) / Cr user. */
export function depositCleared(ev: UserDepositEvent): JournalEntry {
  const place = 'ledger/depositCleared';
  const { ref, id, amount } = parse(place, ev);
  const user = accounts.user(assertId(place, 'userId', ev.userId));
  return entry('deposit_cleared', ref, [
    { account: accounts.inFlight(id), amount },
    { account: user, amount: -amount },
  ]);
}

/**
 * A reorg removed the deposit: undo what `stage` booked. From `credited` it debits the user; if
 * the user already spent the coins, applyToBalances refuses (INSUFFICIENT_FUNDS) and the caller
 * must escalate (freeze the account, book the loss by hand) rather than drive a balance negative.
 */
export function depositReversed(
  ev: DepositEvent & { readonly stage: DepositStage; readonly userId?: string },
): JournalEntry {
  const place = 'ledger/depositReversed';
  const { ref, id, amount } = parse(place, ev);
  switch (ev.stage) {
    case 'seen':
      return entry('deposit_reversed', ref, [
        { account: accounts.inFlight(id), amount },
        { account: accounts.external(), amount: -amount },
      ]);
    case 'delayed':
      return entry('deposit_reversed', ref, [
        { account: accounts.inFlight(id), amount },
        { account: accounts.hotWallet(), amount: -amount },
      ]);
    case 'credited':
      return entry('deposit_reversed', ref, [
        { account: accounts.user(assertId(place, 'userId', ev.userId)), amount },
        { account: accounts.hotWallet(), amount: -amount },
      ]);
    default:
      throw new CoordinatorError(
        'BAD_REQUEST',
        `${place}: expected stage seen, delayed or credited, got ${describe(ev.stage)}`,
      );
  }
}

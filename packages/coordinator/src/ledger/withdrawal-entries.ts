/**
 * Journal entries for withdrawals, one pure builder per event. Table in docs/ledger.md §3.2.
 * A withdrawal's reserve lives in `pending_withdrawals(withdrawalId)`: amount + user fee at
 * acceptance, plus the network fee at broadcast and every fee bump; it returns to 0 when the
 * withdrawal confirms (settle) or is released (rejected or cancelled before broadcast).
 */
import { CoordinatorError } from '../errors.js';
import { accounts, assertId, assertSats, describe } from './accounts.js';
import { entry, type JournalEntry } from './journal.js';

export interface WithdrawalReserve {
  readonly withdrawalId: string;
  readonly userId: string;
  /** Paid to the destination. */
  readonly amount: bigint;
  /** Charged to the user by the exchange (may be 0). */
  readonly userFee: bigint;
}

const TXID = /^[0-9a-f]{64}$/;

function obj(place: string, ev: unknown): Record<string, unknown> {
  if (typeof ev !== 'object' || ev === null) {
    throw new CoordinatorError('BAD_REQUEST', `${place}: expected an event, got ${describe(ev)}`);
  }
  return ev as Record<string, unknown>;
}

export function assertTxid(place: string, value: unknown): string {
  if (typeof value !== 'string' || !TXID.test(value)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected a txid as 64 lowercase hex characters, got ${describe(value)}`,
    );
  }
  return value;
}

function reserve(place: string, ev: unknown) {
  const e = obj(place, ev);
  const withdrawalId = assertId(place, 'withdrawalId', e.withdrawalId);
  const userId = assertId(place, 'userId', e.userId);
  const amount = assertSats(place, 'amount', e.amount, true);
  const userFee = assertSats(place, 'userFee', e.userFee);
  return { withdrawalId, user: accounts.user(userId), total: amount + userFee };
}

/** Reserve: Dr user (amount + userFee) / Cr pending_withdrawals(w). */
export function withdrawalAccepted(ev: WithdrawalReserve): JournalEntry {
  const { withdrawalId, user, total } = reserve('ledger/withdrawalAccepted', ev);
  return entry('withdrawal_accepted', withdrawalId, [
    { account: user, amount: total },
    { account: accounts.pending(withdrawalId), amount: -total },
  ]);
}

/** Release (rejected or cancelled before broadcast): Dr pending_withdrawals(w) / Cr user. */
export function withdrawalReleased(ev: WithdrawalReserve): JournalEntry {
  const { withdrawalId, user, total } = reserve('ledger/withdrawalReleased', ev);
  return entry('withdrawal_released', withdrawalId, [
    { account: accounts.pending(withdrawalId), amount: total },
    { account: user, amount: -total },
  ]);
}

/** Broadcast: the withdrawal's share of the network fee is reserved. Dr fees / Cr pending(w). */
export function withdrawalBroadcast(ev: {
  readonly withdrawalId: string;
  readonly networkFee: bigint;
}): JournalEntry {
  const place = 'ledger/withdrawalBroadcast';
  const e = obj(place, ev);
  const withdrawalId = assertId(place, 'withdrawalId', e.withdrawalId);
  const fee = assertSats(place, 'networkFee', e.networkFee, true);
  return entry('withdrawal_broadcast', withdrawalId, [
    { account: accounts.fees(), amount: fee },
    { account: accounts.pending(withdrawalId), amount: -fee },
  ]);
}

/** RBF replacement `replacementTxid` raised the fee: Dr fees / Cr pending(w) by the increase. */
export function withdrawalFeeBumped(ev: {
  readonly withdrawalId: string;
  readonly replacementTxid: string;
  readonly feeIncrease: bigint;
}): JournalEntry {
  const place = 'ledger/withdrawalFeeBumped';
  const e = obj(place, ev);
  const withdrawalId = assertId(place, 'withdrawalId', e.withdrawalId);
  const txid = assertTxid(place, e.replacementTxid);
  const inc = assertSats(place, 'feeIncrease', e.feeIncrease, true);
  return entry('withdrawal_fee_bumped', `${withdrawalId}/${txid}`, [
    { account: accounts.fees(), amount: inc },
    { account: accounts.pending(withdrawalId), amount: -inc },
  ]);
}

/**
 * Settle: Dr pending(w) (amount + userFee + reservedNetworkFee) / Cr hot_wallet (amount +
 * paidNetworkFee) / Cr fees (userFee + reservedNetworkFee − paidNetworkFee). `paidNetworkFee` is
 * the fee of the version that confirmed (an earlier, cheaper one can win against a replacement).
 */
export function withdrawalConfirmed(ev: {
  readonly withdrawalId: string;
  readonly amount: bigint;
  readonly userFee: bigint;
  readonly reservedNetworkFee: bigint;
  readonly paidNetworkFee: bigint;
}): JournalEntry {
  const place = 'ledger/withdrawalConfirmed';
  const e = obj(place, ev);
  const withdrawalId = assertId(place, 'withdrawalId', e.withdrawalId);
  const amount = assertSats(place, 'amount', e.amount, true);
  const userFee = assertSats(place, 'userFee', e.userFee);
  const reserved = assertSats(place, 'reservedNetworkFee', e.reservedNetworkFee);
  const paid = assertSats(place, 'paidNetworkFee', e.paidNetworkFee);
  return entry('withdrawal_confirmed', withdrawalId, [
    { account: accounts.pending(withdrawalId), amount: amount + userFee + reserved },
    { account: accounts.hotWallet(), amount: -(amount + paid) },
    { account: accounts.fees(), amount: -(userFee + reserved - paid) },
  ]);
}

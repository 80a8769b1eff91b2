/**
 * Hot/cold rebalancing as a pure decision: above `sweepAbove` sweep down to `target`, below
 * `refillBelow` ask for a refill up to `target`, otherwise nothing. docs/ledger.md §6.
 */
import { CoordinatorError } from '../errors.js';
import { assertSats, describe } from './accounts.js';

export interface HotWalletThresholds {
  readonly refillBelow: bigint;
  readonly target: bigint;
  readonly sweepAbove: bigint;
  /** Moves smaller than this are not worth a transaction (default 0: any move). */
  readonly minMove?: bigint;
}

export type HotWalletAction =
  | { readonly action: 'sweep'; readonly amount: bigint }
  | { readonly action: 'refill'; readonly amount: bigint }
  | { readonly action: 'none' };

const PLACE = 'ledger/hotWalletAction';

export function hotWalletAction(balance: bigint, thresholds: HotWalletThresholds): HotWalletAction {
  const bal = assertSats(PLACE, 'balance', balance);
  if (typeof thresholds !== 'object' || thresholds === null) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `${PLACE}: expected thresholds, got ${describe(thresholds)}`,
    );
  }
  const low = assertSats(PLACE, 'refillBelow', thresholds.refillBelow);
  const target = assertSats(PLACE, 'target', thresholds.target);
  const high = assertSats(PLACE, 'sweepAbove', thresholds.sweepAbove);
  const minMove = assertSats(PLACE, 'minMove', thresholds.minMove ?? 0n);
  if (!(low <= target && target <= high)) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `${PLACE}: expected refillBelow <= target <= sweepAbove, got ${low}, ${target}, ${high}`,
    );
  }
  if (bal > high && bal - target >= minMove) {
    return Object.freeze({ action: 'sweep', amount: bal - target });
  }
  if (bal < low && target - bal >= minMove) {
    return Object.freeze({ action: 'refill', amount: target - bal });
  }
  return Object.freeze({ action: 'none' });
}

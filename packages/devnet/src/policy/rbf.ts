/**
 * BIP125 replacement rules as Core v28 enforces them (src/policy/rbf.cpp), each returning Core's
 * debug text on failure: the replacement pays a higher fee rate than every direct conflict
 * (rule 6), evicts at most 100 transactions (rule 5), adds no new unconfirmed input (rule 2),
 * pays at least the fees it evicts (rule 3) plus its own relay at the incremental fee (rule 4).
 */
import { formatMoney } from '../consensus/amount.js';
import { POLICY, SEQUENCE } from '../consensus/params.js';
import type { Tx } from '../consensus/tx.js';
import { feeForSize, feeRateOf, feeRateToString } from './feerate.js';

/** SignalsOptInRBF: some input has a sequence at or below 0xfffffffd. */
export function signalsOptInRbf(tx: Tx): boolean {
  return tx.inputs.some((i) => i.sequence <= SEQUENCE.maxBip125Rbf);
}

export interface ConflictInfo {
  readonly txid: string;
  readonly fee: bigint;
  readonly vsize: number;
}

/** PaysMoreThanConflicts (rule 6). */
export function paysMoreThanConflicts(
  direct: readonly ConflictInfo[],
  fee: bigint,
  vsize: number,
  txid: string,
): string | null {
  const replacementRate = feeRateOf(fee, vsize);
  for (const c of direct) {
    const originalRate = feeRateOf(c.fee, c.vsize);
    if (replacementRate <= originalRate) {
      return `rejecting replacement ${txid}; new feerate ${feeRateToString(replacementRate)} <= old feerate ${feeRateToString(originalRate)}`;
    }
  }
  return null;
}

/** GetEntriesForConflicts' limit (rule 5); the text ends with a newline, as Core's does. */
export function tooManyReplacements(count: number, txid: string): string | null {
  if (count > POLICY.maxReplacementCandidates) {
    return `rejecting replacement ${txid}; too many potential replacements (${count} > ${POLICY.maxReplacementCandidates})\n`;
  }
  return null;
}

/** HasNoNewUnconfirmed (rule 2). */
export function hasNoNewUnconfirmed(
  tx: Tx,
  allConflicts: readonly Tx[],
  inMempool: (txid: string) => boolean,
): string | null {
  const parents = new Set<string>();
  for (const c of allConflicts) for (const i of c.inputs) parents.add(i.prevTxid);
  for (const [j, input] of tx.inputs.entries()) {
    if (!parents.has(input.prevTxid) && inMempool(input.prevTxid)) {
      return `replacement ${tx.txid} adds unconfirmed input, idx ${j}`;
    }
  }
  return null;
}

/** PaysForRBF (rules 3 and 4). */
export function paysForRbf(
  originalFees: bigint,
  fee: bigint,
  vsize: number,
  txid: string,
): string | null {
  if (fee < originalFees) {
    return `rejecting replacement ${txid}, less fees than conflicting txs; ${formatMoney(fee)} < ${formatMoney(originalFees)}`;
  }
  const additional = fee - originalFees;
  const relay = feeForSize(POLICY.incrementalRelayFeeSatPerKvB, vsize);
  if (additional < relay) {
    return `rejecting replacement ${txid}, not enough additional fees to relay; ${formatMoney(additional)} < ${formatMoney(relay)}`;
  }
  return null;
}

/**
 * testmempoolaccept (src/rpc/mempool.cpp, src/validation.cpp ProcessNewPackage with
 * test_accept): one transaction, or a package checked for shape (IsWellFormedPackage) and then
 * accepted in order on a trial mempool that is restored afterwards. As in Core, when one
 * transaction fails the others report only their ids, and the first fee above maxfeerate stops
 * the report ("max-fee-exceeded").
 */
import { POLICY } from '../consensus/params.js';
import type { Tx } from '../consensus/tx.js';
import { feeForSize } from '../policy/feerate.js';
import type { Mempool } from './mempool.js';
import type { AcceptResult } from './mempool-accept.js';

export interface TestAcceptOutcome {
  readonly txid: string;
  readonly wtxid: string;
  /** Absent when validation stopped before this transaction (an earlier one failed). */
  readonly allowed?: boolean;
  readonly vsize?: number;
  readonly fee?: bigint;
  readonly rejectReason?: string;
  readonly packageError?: string;
}

/** Largest total weight of a package (MAX_PACKAGE_WEIGHT). */
const MAX_PACKAGE_WEIGHT = 404_000;

/** IsWellFormedPackage's failures, or null. */
export function packageError(txs: readonly Tx[]): string | null {
  if (txs.length <= 1) return null;
  if (txs.length > POLICY.maxPackageCount) return 'package-too-many-transactions';
  if (txs.reduce((n, t) => n + t.weight, 0) > MAX_PACKAGE_WEIGHT) return 'package-too-large';
  if (new Set(txs.map((t) => t.txid)).size !== txs.length) return 'package-contains-duplicates';
  const later = new Set(txs.map((t) => t.txid));
  for (const tx of txs) {
    later.delete(tx.txid);
    if (tx.inputs.some((i) => later.has(i.prevTxid))) return 'package-not-sorted';
  }
  const spent = new Set<string>();
  for (const tx of txs) {
    for (const i of tx.inputs) {
      const key = `${i.prevTxid}:${i.vout}`;
      if (spent.has(key)) return 'conflict-in-package';
      spent.add(key);
    }
  }
  return null;
}

export function testAcceptPackage(
  txs: readonly Tx[],
  mempool: Mempool,
  accept: (tx: Tx, testOnly: boolean) => AcceptResult,
  maxFeeRateSatPerKvB: bigint,
): TestAcceptOutcome[] {
  const shape = packageError(txs);
  if (shape !== null)
    return txs.map((t) => ({ txid: t.txid, wtxid: t.wtxid, packageError: shape }));
  const results: AcceptResult[] = [];
  if (txs.length === 1) {
    results.push(accept(txs[0] as Tx, true));
  } else {
    const snap = mempool.snapshot();
    try {
      for (const tx of txs) {
        const r = accept(tx, false);
        results.push(r);
        if (!r.ok) break;
      }
    } finally {
      mempool.restore(snap);
    }
  }
  const failedAt = results.findIndex((r) => !r.ok);
  const out: TestAcceptOutcome[] = [];
  let exitEarly = false;
  txs.forEach((tx, i) => {
    const base = { txid: tx.txid, wtxid: tx.wtxid };
    const r = results[i];
    if (exitEarly || r === undefined || (failedAt !== -1 && i !== failedAt)) {
      out.push(base);
      return;
    }
    if (!r.ok) {
      const reason = r.state.result === 'missing-inputs' ? 'missing-inputs' : r.state.reason;
      out.push({ ...base, allowed: false, rejectReason: reason });
      return;
    }
    const maxFee = feeForSize(maxFeeRateSatPerKvB, r.vsize);
    if (maxFee > 0n && r.fee > maxFee) {
      out.push({ ...base, allowed: false, rejectReason: 'max-fee-exceeded' });
      exitEarly = true;
      return;
    }
    out.push({ ...base, allowed: true, vsize: r.vsize, fee: r.fee });
  });
  return out;
}

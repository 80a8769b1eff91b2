/**
 * Withdrawal matching and replay analysis for `requireIntents` (docs/policy.md §5), pure.
 *
 * Each external output must be covered by exactly one distinct intent with the same
 * scriptPubKey and amount. A withdrawal id already in memory may be paid again only by a
 * transaction that conflicts with (shares an input with) EVERY earlier transaction for that id
 * and pays the identical output: at most one of them can ever confirm.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { SpendRecord, WithdrawalRecord } from '../device-memory.js';
import type { TxSummary } from '../tx-summary.js';
import type { VerifiedIntent } from './intent.js';
import type { RefusalReason } from './reasons.js';

export interface WithdrawalMatch {
  readonly withdrawalId: string;
  readonly outputIndex: number;
  /** `scriptPubKeyhex:amount`, as WithdrawalRecord.output. */
  readonly output: string;
  /** The record of an earlier payment of this id, if any. */
  readonly prior: WithdrawalRecord | null;
  /** True when this very transaction (same txid) was signed before for the id. */
  readonly sameTx: boolean;
}

export type WithdrawalAnalysis =
  | { readonly ok: true; readonly matches: readonly WithdrawalMatch[] }
  | {
      readonly ok: false;
      readonly reason: RefusalReason;
      readonly output: number | null;
      readonly detail: string;
    };

/** `txid:vout` with the txid in display order (reversed), as SpendRecord.outpoints. */
export function outpointKey(txid: Uint8Array, vout: number): string {
  return `${bytesToHex(Uint8Array.from(txid).reverse())}:${vout}`;
}

export function outputKey(script: Uint8Array, amount: bigint): string {
  return `${bytesToHex(script)}:${amount}`;
}

const fail = (
  reason: RefusalReason,
  output: number | null,
  detail: string,
): WithdrawalAnalysis => ({ ok: false, reason, output, detail });

/** Group distinct intents by output key; a withdrawal id carried by two different intents fails. */
function groupIntents(
  intents: readonly VerifiedIntent[],
): Map<string, VerifiedIntent[]> | WithdrawalAnalysis {
  const byId = new Map<string, string>();
  const groups = new Map<string, VerifiedIntent[]>();
  for (const it of intents) {
    const key = outputKey(it.scriptPubKey, it.amount);
    const identity = `${key}:${it.expiresAt}`;
    const seen = byId.get(it.withdrawalId);
    if (seen !== undefined) {
      if (seen === identity) continue; // the same intent twice counts once
      return fail(
        'DUPLICATE_WITHDRAWAL_ID',
        null,
        `withdrawal id ${JSON.stringify(it.withdrawalId)} is carried by two different intents`,
      );
    }
    byId.set(it.withdrawalId, identity);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [it]);
    else group.push(it);
  }
  for (const group of groups.values()) {
    group.sort((a, b) =>
      a.withdrawalId < b.withdrawalId ? -1 : a.withdrawalId > b.withdrawalId ? 1 : 0,
    );
  }
  return groups;
}

/** Replay rules for one matched id with an earlier payment; null when it may be signed. */
function checkReplay(
  m: WithdrawalMatch,
  prior: WithdrawalRecord,
  outpoints: ReadonlySet<string>,
  spendsByTxid: ReadonlyMap<string, SpendRecord>,
  allowsReplacement: boolean,
): WithdrawalAnalysis | null {
  if (!m.sameTx) {
    for (const txid of prior.txids) {
      const earlier = spendsByTxid.get(txid);
      if (earlier === undefined) {
        return fail(
          'REPLACEMENT_UNVERIFIABLE',
          m.outputIndex,
          `withdrawal ${JSON.stringify(m.withdrawalId)}: earlier transaction ${txid} is not in memory`,
        );
      }
      if (!earlier.outpoints.some((o) => outpoints.has(o))) {
        return fail(
          'DOUBLE_PAYMENT',
          m.outputIndex,
          `withdrawal ${JSON.stringify(m.withdrawalId)} was paid by ${txid}, which this transaction does not conflict with`,
        );
      }
    }
  }
  if (prior.output !== m.output) {
    return fail(
      'REPLACEMENT_OUTPUT_MISMATCH',
      m.outputIndex,
      `withdrawal ${JSON.stringify(m.withdrawalId)} was paid to another output than this one`,
    );
  }
  if (!m.sameTx && !allowsReplacement) {
    return fail(
      'REPLACEMENT_NOT_ALLOWED',
      m.outputIndex,
      `withdrawal ${JSON.stringify(m.withdrawalId)} is already paid and the policy allows no replacement`,
    );
  }
  return null;
}

/**
 * Match intents to the external outputs of `summary` and check every id against memory.
 * `txid` and `outpoints` are this transaction's, in the forms memory stores.
 */
export function analyseWithdrawals(args: {
  readonly summary: TxSummary;
  readonly intents: readonly VerifiedIntent[];
  readonly withdrawals: Readonly<Record<string, WithdrawalRecord>>;
  readonly spendsByTxid: ReadonlyMap<string, SpendRecord>;
  readonly txid: string;
  readonly outpoints: ReadonlySet<string>;
  readonly allowsReplacement: boolean;
  readonly now: number;
}): WithdrawalAnalysis {
  const grouped = groupIntents(args.intents);
  if (!(grouped instanceof Map)) return grouped;
  const external = args.summary.outputs.filter((o) => o.kind === 'external');
  const needed = new Map<string, number>();
  for (const o of external) {
    const key = outputKey(o.scriptPubKey, o.amount);
    needed.set(key, (needed.get(key) ?? 0) + 1);
  }
  const used = new Map<string, number>();
  const matches: WithdrawalMatch[] = [];
  for (const o of external) {
    const key = outputKey(o.scriptPubKey, o.amount);
    const group = grouped.get(key) ?? [];
    const need = needed.get(key) ?? 0;
    if (group.length > need) {
      return fail(
        'INTENT_AMBIGUOUS',
        o.index,
        `${group.length} intents match ${need} output(s) with this script and amount`,
      );
    }
    const k = used.get(key) ?? 0;
    used.set(key, k + 1);
    const it = group[k];
    if (it === undefined) {
      return fail(
        'INTENT_MISSING',
        o.index,
        `no withdrawal intent pays ${o.amount} sat to this script`,
      );
    }
    if (args.now >= it.expiresAt) {
      return fail(
        'INTENT_EXPIRED',
        o.index,
        `intent ${JSON.stringify(it.withdrawalId)} expired at ${it.expiresAt}, now ${args.now}`,
      );
    }
    const prior = Object.hasOwn(args.withdrawals, it.withdrawalId)
      ? (args.withdrawals[it.withdrawalId] ?? null)
      : null;
    matches.push({
      withdrawalId: it.withdrawalId,
      outputIndex: o.index,
      output: key,
      prior,
      sameTx: prior?.txids.includes(args.txid) === true,
    });
  }
  for (const m of matches) {
    if (m.prior === null) continue;
    const refused = checkReplay(
      m,
      m.prior,
      args.outpoints,
      args.spendsByTxid,
      args.allowsReplacement,
    );
    if (refused !== null) return refused;
  }
  return { ok: true, matches };
}

/** The withdrawal record after signing `m` in a transaction with `txid`, `outpoints`, `fee`. */
export function nextWithdrawalRecord(
  m: WithdrawalMatch,
  txid: string,
  outpoints: readonly string[],
  fee: bigint,
): WithdrawalRecord {
  const prior = m.prior;
  if (prior === null) {
    return {
      withdrawalId: m.withdrawalId,
      txids: [txid],
      outpoints: [...outpoints],
      output: m.output,
      maxFee: fee,
      replacements: 0,
    };
  }
  if (m.sameTx) return prior;
  const union = new Set([...prior.outpoints, ...outpoints]);
  return {
    withdrawalId: m.withdrawalId,
    txids: [...prior.txids, txid],
    outpoints: [...union].sort(),
    output: prior.output,
    maxFee: fee > prior.maxFee ? fee : prior.maxFee,
    replacements: prior.replacements + 1,
  };
}

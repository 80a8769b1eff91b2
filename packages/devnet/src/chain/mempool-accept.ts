/**
 * AcceptToMemoryPool for one transaction (src/validation.cpp MemPoolAccept, v28), in Core's
 * order: PreChecks (well-formed, standard, final, not known, conflicts, inputs, BIP68, amounts,
 * standard inputs and witness, sigops, min relay fee, chain limits), ReplacementChecks (BIP125),
 * PolicyScriptChecks (every input's scripts under the standard flags), then Finalize.
 * `testAccept` stops before Finalize and changes nothing.
 */
import { checkSequenceLocks, checkTransaction, isFinalTx } from '../consensus/check-tx.js';
import { POLICY } from '../consensus/params.js';
import type { Tx } from '../consensus/tx.js';
import { invalid, type TxValidationState } from '../consensus/validation-state.js';
import { feeForSize, virtualSize } from '../policy/feerate.js';
import {
  hasNoNewUnconfirmed,
  paysForRbf,
  paysMoreThanConflicts,
  signalsOptInRbf,
  tooManyReplacements,
} from '../policy/rbf.js';
import { areInputsStandard, isStandardTx, isWitnessStandard } from '../policy/standard.js';
import { STANDARD_FLAGS } from '../script/flags.js';
import { transactionSigOpCost } from '../script/sigops.js';
import type { Chainstate } from './chainstate.js';
import { type Coin, MEMPOOL_HEIGHT } from './coins.js';
import { checkInputScripts, checkTxInputs, type ScriptCache } from './input-checks.js';
import type { Mempool, MempoolEntry } from './mempool.js';

export interface AcceptEnv {
  readonly chain: Chainstate;
  readonly mempool: Mempool;
  readonly scriptCache: ScriptCache;
  readonly minRelayFeeSatPerKvB: bigint;
  /** -mempoolfullrbf: replace without the original signalling BIP125. */
  readonly fullRbf: boolean;
}

export interface AcceptOptions {
  readonly testAccept: boolean;
  /** Skip the min relay fee (transactions returning from disconnected blocks). */
  readonly bypassLimits: boolean;
  /** Entry time, seconds. */
  readonly time: number;
  readonly unbroadcast: boolean;
}

export interface AcceptSuccess {
  readonly ok: true;
  readonly tx: Tx;
  readonly fee: bigint;
  readonly vsize: number;
  /** Mempool transactions this one replaced (evicted with their descendants). */
  readonly replaced: readonly string[];
}

export type AcceptResult =
  | AcceptSuccess
  | { readonly ok: false; readonly state: TxValidationState };

const reject = (state: TxValidationState): AcceptResult => ({ ok: false, state });

function chainLimits(env: AcceptEnv, tx: Tx, vsize: number, ancestors: Set<string>): string | null {
  const mp = env.mempool;
  const parents = new Set(tx.inputs.map((i) => i.prevTxid).filter((t) => mp.has(t)));
  if (parents.size + 1 > POLICY.ancestorLimit)
    return `too many unconfirmed parents [limit: ${POLICY.ancestorLimit}]`;
  let ancestorSize = vsize;
  for (const a of ancestors) {
    const entry = mp.get(a) as MempoolEntry;
    ancestorSize += entry.vsize;
    const desc = mp.descendants(a);
    let descSize = entry.vsize;
    for (const d of desc) descSize += (mp.get(d) as MempoolEntry).vsize;
    if (descSize + vsize > POLICY.descendantSizeLimitVbytes) {
      return `exceeds descendant size limit for tx ${a} [limit: ${POLICY.descendantSizeLimitVbytes}]`;
    }
    if (desc.size + 1 + 1 > POLICY.descendantLimit)
      return `too many descendants for tx ${a} [limit: ${POLICY.descendantLimit}]`;
  }
  if (ancestorSize > POLICY.ancestorSizeLimitVbytes)
    return `exceeds ancestor size limit [limit: ${POLICY.ancestorSizeLimitVbytes}]`;
  if (ancestors.size + 1 > POLICY.ancestorLimit)
    return `too many unconfirmed ancestors [limit: ${POLICY.ancestorLimit}]`;
  return null;
}

function replacementChecks(
  env: AcceptEnv,
  tx: Tx,
  fee: bigint,
  vsize: number,
  conflicts: Set<string>,
): { state: TxValidationState } | { all: string[] } {
  const mp = env.mempool;
  const direct = [...conflicts].map((t) => mp.get(t) as MempoolEntry);
  const rate = paysMoreThanConflicts(
    direct.map((e) => ({ txid: e.tx.txid, fee: e.fee, vsize: e.vsize })),
    fee,
    vsize,
    tx.txid,
  );
  if (rate !== null) return { state: invalid('reconsiderable', 'insufficient fee', rate) };
  const all = new Set<string>();
  for (const c of conflicts) {
    all.add(c);
    for (const d of mp.descendants(c)) all.add(d);
  }
  const many = tooManyReplacements(all.size, tx.txid);
  if (many !== null)
    return { state: invalid('mempool-policy', 'too many potential replacements', many) };
  const allEntries = [...all].map((t) => mp.get(t) as MempoolEntry);
  const unconfirmed = hasNoNewUnconfirmed(
    tx,
    allEntries.map((e) => e.tx),
    (t) => mp.has(t),
  );
  if (unconfirmed !== null)
    return { state: invalid('mempool-policy', 'replacement-adds-unconfirmed', unconfirmed) };
  const originalFees = allEntries.reduce((n, e) => n + e.fee, 0n);
  const pays = paysForRbf(originalFees, fee, vsize, tx.txid);
  if (pays !== null) return { state: invalid('reconsiderable', 'insufficient fee', pays) };
  return { all: [...all] };
}

export function acceptToMempool(env: AcceptEnv, tx: Tx, opts: AcceptOptions): AcceptResult {
  const { chain, mempool } = env;
  const bad = checkTransaction(tx);
  if (bad !== null) return reject(bad);
  if (tx.isCoinbase) return reject(invalid('consensus', 'coinbase'));
  const nonStandard = isStandardTx(tx);
  if (nonStandard !== null) return reject(invalid('not-standard', nonStandard));
  if (tx.strippedSize < POLICY.minStandardTxNonWitnessSize)
    return reject(invalid('not-standard', 'tx-size-small'));
  const nextHeight = chain.height + 1;
  if (!isFinalTx(tx, nextHeight, chain.tip.mtp))
    return reject(invalid('premature-spend', 'non-final'));
  if (mempool.hasWtxid(tx.wtxid)) return reject(invalid('conflict', 'txn-already-in-mempool'));
  if (mempool.has(tx.txid))
    return reject(invalid('conflict', 'txn-same-nonwitness-data-in-mempool'));

  const conflicts = new Set<string>();
  for (const input of tx.inputs) {
    const spender = mempool.spender(input.prevTxid, input.vout);
    if (spender === undefined || conflicts.has(spender)) continue;
    const original = mempool.get(spender) as MempoolEntry;
    if (!env.fullRbf && !signalsOptInRbf(original.tx))
      return reject(invalid('mempool-policy', 'txn-mempool-conflict'));
    conflicts.add(spender);
  }

  const coins: Coin[] = [];
  for (const input of tx.inputs) {
    const coin =
      mempool.getCoin(input.prevTxid, input.vout) ?? chain.getCoin(input.prevTxid, input.vout);
    if (coin === undefined) {
      if (tx.outputs.some((_, vout) => chain.getCoin(tx.txid, vout) !== undefined)) {
        return reject(invalid('conflict', 'txn-already-known'));
      }
      return reject(invalid('missing-inputs', 'bad-txns-inputs-missingorspent'));
    }
    coins.push(coin);
  }

  const lockInputs = coins.map((c) => {
    const h = c.height === MEMPOOL_HEIGHT ? nextHeight : c.height;
    return { coinHeight: h, coinPrevMtp: chain.activeMtp(Math.max(h - 1, 0)) };
  });
  if (!checkSequenceLocks(tx, lockInputs, nextHeight, chain.tip.mtp)) {
    return reject(invalid('premature-spend', 'non-BIP68-final'));
  }
  const amounts = checkTxInputs(tx, coins, nextHeight);
  if ('reason' in amounts) return reject(amounts);
  const fee = amounts.fee;
  const scripts = coins.map((c) => c.script);
  if (!areInputsStandard(tx, scripts))
    return reject(invalid('inputs-not-standard', 'bad-txns-nonstandard-inputs'));
  if (tx.hasWitness && !isWitnessStandard(tx, scripts))
    return reject(invalid('witness-mutated', 'bad-witness-nonstandard'));
  const sigOpCost = transactionSigOpCost(tx, scripts);
  if (sigOpCost > POLICY.maxStandardTxSigopsCost) {
    return reject(invalid('not-standard', 'bad-txns-too-many-sigops', String(sigOpCost)));
  }
  const vsize = virtualSize(tx.weight, sigOpCost, POLICY.bytesPerSigop);
  if (!opts.bypassLimits) {
    const minFee = feeForSize(env.minRelayFeeSatPerKvB, vsize);
    if (fee < minFee)
      return reject(invalid('reconsiderable', 'min relay fee not met', `${fee} < ${minFee}`));
  }
  const ancestors = mempool.ancestorsOfInputs(tx);
  const limits = chainLimits(env, tx, vsize, ancestors);
  if (limits !== null) return reject(invalid('mempool-policy', 'too-long-mempool-chain', limits));
  for (const a of ancestors) {
    if (conflicts.has(a)) {
      return reject(
        invalid(
          'consensus',
          'bad-txns-spends-conflicting-tx',
          `${tx.txid} spends conflicting transaction ${a}`,
        ),
      );
    }
  }
  let replaced: string[] = [];
  if (conflicts.size > 0) {
    const rbf = replacementChecks(env, tx, fee, vsize, conflicts);
    if ('state' in rbf) return reject(rbf.state);
    replaced = rbf.all;
  }
  const scriptFailure = checkInputScripts(tx, coins, STANDARD_FLAGS, env.scriptCache);
  if (scriptFailure !== null) return reject(scriptFailure);
  if (opts.testAccept) return { ok: true, tx, fee, vsize, replaced };

  for (const c of conflicts) mempool.removeRecursive(c);
  mempool.add({
    tx,
    fee,
    vsize,
    sigOpCost,
    time: opts.time,
    height: chain.height,
    spendsCoinbase: coins.some((c) => c.coinbase),
    unbroadcast: opts.unbroadcast,
    order: mempool.nextOrder(),
  });
  return { ok: true, tx, fee, vsize, replaced };
}

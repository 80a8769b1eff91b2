/**
 * The input rules shared by the mempool and block connection: CheckTxInputs
 * (src/consensus/tx_verify.cpp) and CheckInputScripts with Core's mandatory / non-mandatory split
 * (src/validation.cpp): a failure under the standard flags that passes under the consensus flags
 * is "non-mandatory-script-verify-flag (...)", otherwise "mandatory-script-verify-flag-failed (...)".
 */
import { formatMoney, moneyRange } from '../consensus/amount.js';
import { CONSENSUS } from '../consensus/params.js';
import type { Tx } from '../consensus/tx.js';
import { invalid, type TxValidationState } from '../consensus/validation-state.js';
import { TransactionChecker, TxSignatureContext } from '../script/checker.js';
import { SCRIPT_ERRORS, type ScriptErrorCode } from '../script/errors.js';
import { STANDARD_NOT_MANDATORY_FLAGS } from '../script/flags.js';
import { verifyScript } from '../script/verify.js';
import type { Coin } from './coins.js';

/** CheckTxInputs: maturity of coinbase spends and the amounts; returns the fee or the failure. */
export function checkTxInputs(
  tx: Tx,
  coins: readonly Coin[],
  spendHeight: number,
): { fee: bigint } | TxValidationState {
  let valueIn = 0n;
  for (const coin of coins) {
    if (coin.coinbase && spendHeight - coin.height < CONSENSUS.coinbaseMaturity) {
      return invalid(
        'premature-spend',
        'bad-txns-premature-spend-of-coinbase',
        `tried to spend coinbase at depth ${spendHeight - coin.height}`,
      );
    }
    valueIn += coin.value;
    if (!moneyRange(coin.value) || !moneyRange(valueIn)) {
      return invalid('consensus', 'bad-txns-inputvalues-outofrange');
    }
  }
  const valueOut = tx.outputs.reduce((n, o) => n + o.value, 0n);
  if (valueIn < valueOut) {
    return invalid(
      'consensus',
      'bad-txns-in-belowout',
      `value in (${formatMoney(valueIn)}) < value out (${formatMoney(valueOut)})`,
    );
  }
  const fee = valueIn - valueOut;
  if (!moneyRange(fee)) return invalid('consensus', 'bad-txns-fee-outofrange');
  return { fee };
}

/**
 * Wtxids whose scripts passed, with the flags they passed under (Core's script execution cache).
 * Script rules only ever add restrictions, so a pass under a superset of flags (the mempool's
 * standard flags) is a pass under the consensus flags a block uses.
 */
export class ScriptCache {
  readonly #passed = new Map<string, number[]>();
  has(wtxid: string, flags: number): boolean {
    return (this.#passed.get(wtxid) ?? []).some((f) => (f & flags) === flags);
  }
  add(wtxid: string, flags: number): void {
    const list = this.#passed.get(wtxid) ?? [];
    list.push(flags);
    this.#passed.set(wtxid, list);
  }
}

function firstFailure(
  tx: Tx,
  ctx: TxSignatureContext,
  flags: number,
): { index: number; error: ScriptErrorCode } | null {
  for (let i = 0; i < tx.inputs.length; i++) {
    const input = tx.inputs[i] as Tx['inputs'][number];
    const spent = ctx.spent[i] as Coin | undefined;
    if (spent === undefined) return { index: i, error: 'UNKNOWN_ERROR' };
    const error = verifyScript(
      input.scriptSig,
      spent.script,
      input.witness,
      flags,
      new TransactionChecker(ctx, i),
    );
    if (error !== null) return { index: i, error };
  }
  return null;
}

/**
 * CheckInputScripts for every input. With standard flags, a failing input is re-checked with the
 * consensus flags only, to tell a policy failure from a consensus one, as Core does.
 */
export function checkInputScripts(
  tx: Tx,
  coins: readonly Coin[],
  flags: number,
  cache?: ScriptCache,
): TxValidationState | null {
  if (tx.isCoinbase || cache?.has(tx.wtxid, flags)) return null;
  const ctx = new TxSignatureContext(tx, coins);
  const failure = firstFailure(tx, ctx, flags);
  if (failure === null) {
    cache?.add(tx.wtxid, flags);
    return null;
  }
  const text = SCRIPT_ERRORS[failure.error];
  if (failure.error === 'DEVNET_UNSUPPORTED') {
    return invalid('unsupported', 'devnet-unsupported', `input ${failure.index}: ${text}`);
  }
  if ((flags & STANDARD_NOT_MANDATORY_FLAGS) !== 0) {
    const input = tx.inputs[failure.index] as Tx['inputs'][number];
    const spent = coins[failure.index] as Coin;
    const mandatoryOnly = flags & ~STANDARD_NOT_MANDATORY_FLAGS;
    const again = verifyScript(
      input.scriptSig,
      spent.script,
      input.witness,
      mandatoryOnly,
      new TransactionChecker(ctx, failure.index),
    );
    if (again === null)
      return invalid('not-standard', `non-mandatory-script-verify-flag (${text})`);
  }
  return invalid('consensus', `mandatory-script-verify-flag-failed (${text})`);
}

/**
 * The plan of a payout as it was built, read back from its stored PSBT: what a replacement (RBF)
 * must keep — the same inputs in the same order, the same payments — and the change output's
 * index so the replacement pays change to the same address. The PSBT is our own (built by
 * build-psbt.ts and stored), so this reads it, and checks it still matches what the payout
 * records: every payment at its recorded output index.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { Transaction } from '@scure/btc-signer';
import { CoordinatorError } from '../errors.js';
import type { Payment, SpendableUtxo, TxPlan } from './plan.js';
import { CHANGE_OUTPUT_WEIGHT, outputWeight, txWeight, vsizeOf } from './tx-weight.js';

const PLACE = 'vault/planFromPsbt';
const bad = (what: string) =>
  new CoordinatorError('INTERNAL', `${PLACE}: expected ${what}, got other`);

export interface StoredPlan {
  readonly plan: TxPlan;
  /** Address index of the change output on the change branch, or null without change. */
  readonly changeIndex: number | null;
}

export function planFromPsbt(
  psbt: Uint8Array,
  payments: readonly { readonly withdrawalId: string; readonly outputIndex: number }[],
): StoredPlan {
  const tx = Transaction.fromPSBT(psbt);
  const inputs: SpendableUtxo[] = [];
  let totalIn = 0n;
  for (let i = 0; i < tx.inputsLength; i++) {
    const input = tx.getInput(i);
    const path = input.bip32Derivation?.[0]?.[1].path;
    const utxo = input.witnessUtxo;
    if (
      input.txid === undefined ||
      input.index === undefined ||
      utxo === undefined ||
      path === undefined
    ) {
      throw bad(`input ${i} with txid, vout, witness_utxo and a BIP32 derivation`);
    }
    const branch = path.at(-2);
    const index = path.at(-1);
    if ((branch !== 0 && branch !== 1) || index === undefined)
      throw bad(`input ${i} on branch 0 or 1`);
    inputs.push({
      txid: bytesToHex(input.txid),
      vout: input.index,
      value: utxo.amount,
      height: null,
      branch,
      index,
      script: utxo.script,
    });
    totalIn += utxo.amount;
  }
  const byIndex = new Map(payments.map((p) => [p.outputIndex, p.withdrawalId]));
  const out: Payment[] = [];
  let change: bigint | null = null;
  let changeIndex: number | null = null;
  let totalOut = 0n;
  let paymentsWeight = 0;
  for (let o = 0; o < tx.outputsLength; o++) {
    const output = tx.getOutput(o);
    if (output.script === undefined || output.amount === undefined)
      throw bad(`output ${o} with a script and an amount`);
    totalOut += output.amount;
    const id = byIndex.get(o);
    if (id !== undefined) {
      out.push({ withdrawalId: id, scriptPubKey: output.script, amount: output.amount });
      paymentsWeight += outputWeight(output.script.length);
      continue;
    }
    const path = output.bip32Derivation?.[0]?.[1].path;
    if (path === undefined || path.at(-2) !== 1 || change !== null)
      throw bad(`output ${o} to be a recorded payment or the one change output`);
    change = output.amount;
    changeIndex = path.at(-1) ?? null;
  }
  if (out.length !== payments.length)
    throw bad(`${payments.length} payments at their recorded outputs`);
  const weight = txWeight(
    inputs.length,
    tx.outputsLength,
    paymentsWeight + (change === null ? 0 : CHANGE_OUTPUT_WEIGHT),
  );
  return {
    plan: {
      inputs,
      payments: out,
      change,
      fee: totalIn - totalOut,
      weight,
      vsize: vsizeOf(weight),
      totalIn,
      totalOut,
    },
    changeIndex,
  };
}

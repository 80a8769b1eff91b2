/**
 * Step 5 of verify-psbt: the amount and script each input spends, proven by the full previous
 * transaction (PSBT_IN_NON_WITNESS_UTXO) whose txid — double SHA-256 of the exact bytes given,
 * without witness — must be the prevout's. A PSBT_IN_WITNESS_UTXO, if present, must be exactly that
 * output: a lying one is the SegWit fee attack. Runs on the prescan's exact bytes; the library
 * parse never sees these two records (see verify-parse.ts).
 */
import { equalBytes } from '@noble/ciphers/utils.js';
import { MAX_MONEY, type PsbtLimits } from './limits.js';
import {
  badPsbt,
  type PrescannedPsbt,
  parseTx,
  type RawTxOutput,
  Reader,
  singleValue,
} from './parse-psbt.js';
import { refuse, VERIFY_REASONS } from './verify-reasons.js';

const IN_NON_WITNESS_UTXO = 0x00;
const IN_WITNESS_UTXO = 0x01;

function parseWitnessUtxo(value: Uint8Array, place: string, limits: PsbtLimits): RawTxOutput {
  const r = new Reader(value, place);
  const amount = r.u64('witness utxo amount');
  const script = r.bytesOf(
    r.compactSize('witness utxo script length', limits.maxScriptBytes),
    'witness utxo script',
  );
  if (r.remaining !== 0) {
    throw badPsbt(
      place,
      `expected the witness utxo to end at byte ${r.pos}, got ${r.remaining} more`,
      VERIFY_REASONS.TRAILING_BYTES,
    );
  }
  return { amount, script };
}

/** Returns the proven previous output of every input, in input order. */
export function checkPrevouts(pre: PrescannedPsbt, limits: PsbtLimits): readonly RawTxOutput[] {
  let total = 0;
  return pre.tx.inputs.map((inp, i) => {
    const place = `input ${i}`;
    const map = pre.inputs[i] ?? [];
    const raw = singleValue(map, IN_NON_WITNESS_UTXO, place);
    if (raw === undefined) {
      throw refuse(
        place,
        'expected PSBT_IN_NON_WITNESS_UTXO (the full previous transaction), got none',
        VERIFY_REASONS.MISSING_NON_WITNESS_UTXO,
        { input: i },
      );
    }
    if (raw.length > limits.maxPrevTxBytes) {
      throw badPsbt(
        place,
        `expected a previous transaction of at most ${limits.maxPrevTxBytes} bytes, got ${raw.length}`,
        VERIFY_REASONS.PREV_TX_TOO_LARGE,
        { input: i },
      );
    }
    total += raw.length;
    if (total > limits.maxPrevTxTotalBytes) {
      throw badPsbt(
        place,
        `expected previous transactions of at most ${limits.maxPrevTxTotalBytes} bytes in all, got more`,
        VERIFY_REASONS.PREV_TX_TOO_LARGE,
        { input: i },
      );
    }
    const prev = parseTx(raw, `${place}/non_witness_utxo`, {
      maxInputs: limits.maxPrevTxIo,
      maxOutputs: limits.maxPrevTxIo,
      maxScriptBytes: limits.maxScriptBytes,
      tooManyInputs: VERIFY_REASONS.BAD_PREV_TX,
      tooManyOutputs: VERIFY_REASONS.BAD_PREV_TX,
    });
    if (!equalBytes(prev.txid, inp.txid)) {
      throw refuse(
        place,
        'expected a non_witness_utxo whose txid is the prevout txid, got another transaction',
        VERIFY_REASONS.NON_WITNESS_UTXO_MISMATCH,
        { input: i },
      );
    }
    const out = prev.outputs[inp.vout];
    if (out === undefined) {
      throw refuse(
        place,
        `expected output ${inp.vout} in the previous transaction, got ${prev.outputs.length} outputs`,
        VERIFY_REASONS.NON_WITNESS_UTXO_MISMATCH,
        { input: i },
      );
    }
    if (out.amount > MAX_MONEY) {
      throw refuse(
        place,
        `expected a previous output of at most ${MAX_MONEY} sat, got ${out.amount}`,
        VERIFY_REASONS.AMOUNT_OVERFLOW,
        { input: i },
      );
    }
    const wv = singleValue(map, IN_WITNESS_UTXO, place);
    if (wv !== undefined) {
      const w = parseWitnessUtxo(wv, `${place}/witness_utxo`, limits);
      if (w.amount !== out.amount || !equalBytes(w.script, out.script)) {
        throw refuse(
          place,
          `expected witness_utxo to equal the proven previous output (${out.amount} sat), got ${w.amount} sat${equalBytes(w.script, out.script) ? '' : ' and another script'}`,
          VERIFY_REASONS.WITNESS_UTXO_MISMATCH,
          { input: i },
        );
      }
    }
    return out;
  });
}

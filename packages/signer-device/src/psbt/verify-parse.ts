/**
 * Step 3 of verify-psbt: the PSBT through @scure/btc-signer's parser, which applies BIP174's own
 * typed-field rules (key data lengths, public key validity, value shapes). Its result is only a
 * gate and a cross-check: the transaction the device signs is the prescan's, and the two parsers
 * must agree on it field by field. Any throw from the library is BAD_PSBT.
 *
 * The library is given the PSBT re-encoded from the prescan WITHOUT the two UTXO records
 * (PSBT_IN_NON_WITNESS_UTXO, PSBT_IN_WITNESS_UTXO, key without key data): the device proves those
 * itself in checkPrevouts with its own reasons (a lying UTXO is a refusal with a precise reason,
 * not "the library threw"), and malformed records of those types (with key data) still reach it.
 */

import { equalBytes } from '@noble/ciphers/utils.js';
import { Transaction } from '@scure/btc-signer';
import { badPsbt, type PrescannedPsbt, type RawMap } from './parse-psbt.js';
import { VERIFY_REASONS } from './verify-reasons.js';

const reversed = (b: Uint8Array): Uint8Array => b.slice().reverse();

function compactSize(n: number, out: number[]): void {
  if (n < 0xfd) out.push(n);
  else if (n <= 0xffff) out.push(0xfd, n & 255, n >>> 8);
  else out.push(0xfe, n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24);
}

const isUtxoRecord = (key: Uint8Array): boolean =>
  key.length === 1 && (key[0] === 0x00 || key[0] === 0x01);

/** The prescanned PSBT serialized again, UTXO records of the inputs left out. */
export function withoutUtxoRecords(pre: PrescannedPsbt): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.from([0x70, 0x73, 0x62, 0x74, 0xff])];
  const map = (m: RawMap, drop: (k: Uint8Array) => boolean) => {
    for (const e of m) {
      if (drop(e.key)) continue;
      const head: number[] = [];
      compactSize(e.key.length, head);
      parts.push(Uint8Array.from(head), e.key);
      const vlen: number[] = [];
      compactSize(e.value.length, vlen);
      parts.push(Uint8Array.from(vlen), e.value);
    }
    parts.push(Uint8Array.of(0));
  };
  map(pre.global, () => false);
  for (const m of pre.inputs) map(m, isUtxoRecord);
  for (const m of pre.outputs) map(m, () => false);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function parseWithLibrary(pre: PrescannedPsbt): void {
  let tx: Transaction;
  try {
    tx = Transaction.fromPSBT(withoutUtxoRecords(pre), {
      allowUnknownOutputs: true,
      allowUnknownVersion: true,
      disableScriptCheck: true,
    });
  } catch (e) {
    const what = e instanceof Error ? e.message.slice(0, 160) : 'an error';
    throw badPsbt(
      'parse',
      `expected a PSBT the BIP174 parser accepts, got: ${what}`,
      VERIFY_REASONS.LIBRARY_REJECTED,
    );
  }
  const disagree = (what: string): never => {
    throw badPsbt(
      'parse',
      `expected both parsers to agree, got a different ${what}`,
      VERIFY_REASONS.PARSER_DISAGREEMENT,
    );
  };
  const { tx: own } = pre;
  if (tx.version !== own.version) disagree('version');
  if (tx.lockTime !== own.locktime) disagree('locktime');
  if (tx.inputsLength !== own.inputs.length) disagree('input count');
  if (tx.outputsLength !== own.outputs.length) disagree('output count');
  own.inputs.forEach((inp, i) => {
    const lib = tx.getInput(i);
    // btc-signer keeps txids in display order.
    if (lib.txid === undefined || !equalBytes(reversed(lib.txid), inp.txid))
      disagree(`input ${i} txid`);
    if (lib.index !== inp.vout) disagree(`input ${i} vout`);
    if ((lib.sequence ?? 0xffffffff) !== inp.sequence) disagree(`input ${i} sequence`);
  });
  own.outputs.forEach((out, j) => {
    const lib = tx.getOutput(j);
    if (lib.amount !== out.amount) disagree(`output ${j} amount`);
    if (lib.script === undefined || !equalBytes(lib.script, out.script))
      disagree(`output ${j} script`);
  });
}

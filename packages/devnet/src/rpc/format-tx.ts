/**
 * Transactions and scripts as Core's TxToUniv / ScriptToUniv write them (src/core_write.cpp,
 * v28): field order, amounts with 8 decimals, `asm`, `desc`, `address`, `type`, and with undo
 * data the `fee` and (verbosity 2 / 3) each input's `prevout`.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Coin } from '../chain/coins.js';
import type { Tx } from '../consensus/tx.js';
import { scriptToAsm } from '../script/asm.js';
import { solve } from '../script/solver.js';
import { scriptToAddress } from '../wallet/address.js';
import { inferDescriptor } from './descriptor.js';
import { Amount, type JsonValue } from './json.js';

/** ScriptToUniv(script, include_hex = true, include_address = true). */
export function scriptPubKeyJson(script: Uint8Array): Record<string, JsonValue> {
  const { type } = solve(script);
  const out: Record<string, JsonValue> = {
    asm: scriptToAsm(script),
    desc: inferDescriptor(script),
    hex: bytesToHex(script),
  };
  const address = type === 'pubkey' ? null : scriptToAddress(script);
  if (address !== null) out.address = address;
  out.type = type;
  return out;
}

/**
 * TxToUniv. `spent` (undo data: the coins each input spent) adds `fee`, and with
 * `withPrevout` each input's `prevout`; a coinbase has none.
 */
export function txToJson(
  tx: Tx,
  spent: readonly Coin[] | null,
  withPrevout: boolean,
): Record<string, JsonValue> {
  const vin = tx.inputs.map((input, i) => {
    const entry: Record<string, JsonValue> = {};
    if (tx.isCoinbase) {
      entry.coinbase = bytesToHex(input.scriptSig);
    } else {
      entry.txid = input.prevTxid;
      entry.vout = input.vout;
      entry.scriptSig = {
        asm: scriptToAsm(input.scriptSig, true),
        hex: bytesToHex(input.scriptSig),
      };
    }
    if (input.witness.length > 0) entry.txinwitness = input.witness.map((w) => bytesToHex(w));
    const coin = spent?.[i];
    if (coin !== undefined && withPrevout) {
      entry.prevout = {
        generated: coin.coinbase,
        height: coin.height,
        value: new Amount(coin.value),
        scriptPubKey: scriptPubKeyJson(coin.script),
      };
    }
    entry.sequence = input.sequence;
    return entry;
  });
  const vout = tx.outputs.map((out, n) => ({
    value: new Amount(out.value),
    n,
    scriptPubKey: scriptPubKeyJson(out.script),
  }));
  const json: Record<string, JsonValue> = {
    txid: tx.txid,
    hash: tx.wtxid,
    version: tx.version,
    size: tx.size,
    vsize: tx.vsize,
    weight: tx.weight,
    locktime: tx.lockTime,
    vin,
    vout,
  };
  if (spent !== null && !tx.isCoinbase) {
    const valueIn = spent.reduce((n, c) => n + c.value, 0n);
    const valueOut = tx.outputs.reduce((n, o) => n + o.value, 0n);
    json.fee = new Amount(valueIn - valueOut);
  }
  json.hex = bytesToHex(tx.raw);
  return json;
}

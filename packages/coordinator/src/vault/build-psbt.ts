/**
 * Turns a transaction plan into the unsigned PSBT (BIP174 version 0) the devices verify: version
 * 2, locktime 0 unless given, every input sequence 0xfffffffd (RBF), and per input everything a
 * device needs to prove it — the full previous transaction (`non_witness_utxo`, against the SegWit
 * fee attack), the `witness_utxo`, the witness script and the BIP32 derivations of all three keys
 * (fingerprint + m/48'/coin'/0'/2'/branch/index); the change output carries its witness script
 * and the three derivations at branch 1. Output order: the payments in plan order, then the change.
 *
 * Nothing is taken on the caller's word: each input's script is recomputed from the descriptor at
 * its branch/index, and each previous transaction is parsed and must hash to the input's txid and
 * hold exactly that value and script at that vout. Pure. docs/vault.md §4.
 */
import { dsha256 } from '@keyline/signer-device/wallet';
import { MAX_PSBT_BYTES } from '@keyline/wire-protocol';
import { equalBytes } from '@noble/curves/utils.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { base64 } from '@scure/base';
import { RawPSBTV0 } from '@scure/btc-signer/psbt.js';
import { RawOldTx, RawTx } from '@scure/btc-signer/script.js';
import { CoordinatorError } from '../errors.js';
import { checkPlan, type SpendableUtxo, type TxPlan } from './plan.js';
import { displayHex, MAX_PREV_TX_TOTAL_BYTES, parseRawTx } from './raw-tx.js';
import { outputWeight, txWeight, vsizeOf } from './tx-weight.js';
import {
  CHANGE,
  deriveAddress,
  type KeyDerivation,
  MAX_ADDRESS_INDEX,
  type VaultWallet,
  type WalletAddress,
} from './wallet.js';

const PLACE = 'vault/build-psbt';

/** Every input signals BIP125 replaceability (and allows no relative locktime). */
export const RBF_SEQUENCE = 0xfffffffd;
export const TX_VERSION = 2;
/** Locktimes at or above this are unix times; the devices accept block heights only. */
export const LOCKTIME_THRESHOLD = 500_000_000;

/** Full previous transactions by txid (display hex). */
export type PrevTxProvider =
  | ReadonlyMap<string, Uint8Array>
  | ((txid: string) => Uint8Array | undefined);

export interface BuildRequest {
  readonly wallet: VaultWallet;
  readonly plan: TxPlan;
  /** The change address (branch 1) allocated for this transaction; required iff plan.change. */
  readonly changeIndex: number | null;
  readonly prevTxs: PrevTxProvider;
  /** nLockTime: 0 (default) or a block height, e.g. the tip (anti fee sniping). */
  readonly locktime?: number;
  /** Dust threshold the plan was made with (default 546). */
  readonly dustThreshold?: bigint;
}

export type SummaryOutput =
  | {
      readonly index: number;
      readonly kind: 'payment';
      readonly withdrawalId: string;
      readonly script: Uint8Array;
      readonly amount: bigint;
    }
  | {
      readonly index: number;
      readonly kind: 'change';
      readonly changeIndex: number;
      readonly address: string;
      readonly script: Uint8Array;
      readonly amount: bigint;
    };

export interface PsbtSummary {
  /** The transaction id (display hex); segwit: signing does not change it. */
  readonly txid: string;
  readonly version: number;
  readonly locktime: number;
  readonly inputs: readonly {
    readonly txid: string;
    readonly vout: number;
    readonly value: bigint;
    readonly branch: 0 | 1;
    readonly index: number;
  }[];
  readonly outputs: readonly SummaryOutput[];
  readonly totalIn: bigint;
  readonly totalOut: bigint;
  readonly fee: bigint;
  /** Of the signed transaction, upper bound (73-byte signatures). */
  readonly weight: number;
  readonly vsize: number;
  /** fee × 1000 / vsize, rounded down: at least the feerate the plan was made for. */
  readonly feerateSatPerKvB: bigint;
}

export interface BuiltPsbt {
  readonly psbt: Uint8Array;
  readonly base64: string;
  readonly summary: PsbtSummary;
}

function bad(place: string, message: string, detail: Record<string, unknown> = {}) {
  return new CoordinatorError('BAD_REQUEST', `${PLACE}/${place}: ${message}`, detail);
}

const asDerivations = (ds: readonly KeyDerivation[]) =>
  ds.map(
    (d) =>
      [d.pubkey, { fingerprint: d.fingerprint, path: [...d.path] }] as [
        Uint8Array,
        { fingerprint: number; path: number[] },
      ],
  );

function lookup(provider: PrevTxProvider, txid: string): Uint8Array | undefined {
  return typeof provider === 'function' ? provider(txid) : provider.get(txid);
}

/** The input's own script at its branch/index, and its previous transaction, both proven. */
function proveInput(
  wallet: VaultWallet,
  u: SpendableUtxo,
  i: number,
  provider: PrevTxProvider,
): { addr: WalletAddress; raw: Uint8Array } {
  const place = `input ${i}`;
  const addr = deriveAddress(wallet, u.branch, u.index);
  if (!equalBytes(addr.script, u.script)) {
    throw bad(
      place,
      `expected the UTXO script to be the wallet's at ${u.branch}/${u.index}, got another script`,
      { input: i, outpoint: `${u.txid}:${u.vout}` },
    );
  }
  const raw = lookup(provider, u.txid);
  if (raw === undefined) {
    throw new CoordinatorError(
      'NOT_FOUND',
      `${PLACE}/${place}: expected the previous transaction ${u.txid}, got none`,
      { input: i, txid: u.txid },
    );
  }
  const prev = parseRawTx(raw, `${PLACE}/${place} previous transaction`);
  if (displayHex(prev.txid) !== u.txid) {
    throw bad(
      place,
      `expected a previous transaction hashing to ${u.txid}, got ${displayHex(prev.txid)}`,
      {
        input: i,
      },
    );
  }
  const out = prev.outputs[u.vout];
  if (out === undefined || out.amount !== u.value || !equalBytes(out.script, u.script)) {
    throw bad(
      place,
      `expected output ${u.vout} of ${u.txid} to be ${u.value} sat to the wallet's script, got ${out === undefined ? 'no such output' : `${out.amount} sat to ${equalBytes(out.script, u.script) ? 'it' : 'another script'}`}`,
      { input: i },
    );
  }
  return { addr, raw };
}

function checkRequest(req: BuildRequest): number {
  if (typeof req !== 'object' || req === null) throw bad('request', 'expected a request object');
  checkPlan(`${PLACE}/plan`, req.plan, req.dustThreshold ?? 546n);
  const locktime = req.locktime ?? 0;
  if (!Number.isInteger(locktime) || locktime < 0 || locktime >= LOCKTIME_THRESHOLD) {
    throw bad(
      'request',
      `expected a block-height locktime 0..${LOCKTIME_THRESHOLD - 1}, got ${String(locktime)}`,
    );
  }
  if ((req.plan.change === null) !== (req.changeIndex === null)) {
    throw bad('request', 'expected a change index exactly when the plan has change');
  }
  const ci = req.changeIndex;
  if (ci !== null && !(Number.isInteger(ci) && ci >= 0 && ci <= MAX_ADDRESS_INDEX)) {
    throw bad('request', `expected a change index 0..${MAX_ADDRESS_INDEX}, got ${String(ci)}`);
  }
  if (req.plan.inputs.length > 1000 || req.plan.payments.length + (ci === null ? 0 : 1) > 1000) {
    throw bad('request', 'expected at most 1000 inputs and 1000 outputs (the devices’ limits)');
  }
  return locktime;
}

/** The unsigned transaction, legacy serialization (what PSBT_GLOBAL_UNSIGNED_TX holds). */
function unsignedTx(plan: TxPlan, locktime: number, outs: readonly SummaryOutput[]): Uint8Array {
  return RawOldTx.encode({
    version: TX_VERSION,
    lockTime: locktime,
    inputs: plan.inputs.map((u) => ({
      txid: hexToBytes(u.txid), // display order: the coder writes it reversed
      index: u.vout,
      finalScriptSig: new Uint8Array(0),
      sequence: RBF_SEQUENCE,
    })),
    outputs: outs.map((o) => ({ script: o.script, amount: o.amount })),
  });
}

/**
 * Steps: 1 request and plan → 2 each input proven (script from the descriptor, previous
 * transaction hashed and matched) → 3 outputs: payments in plan order, then the change → 4 the
 * weight recomputed → 5 encoded with @scure/btc-signer's BIP174 v0 coder, bounded.
 * (The coder directly, not its `Transaction` class: same bytes, a quarter of the time — the
 * class re-validates every public key several times, NOTES.md.)
 */
export function buildPsbt(req: BuildRequest): BuiltPsbt {
  const locktime = checkRequest(req); //                                  1
  const { wallet, plan } = req;
  let prevBytes = 0;
  const decoded = new Map<string, ReturnType<typeof RawTx.decode>>();
  const inputs = plan.inputs.map((u, i) => {
    const { addr, raw } = proveInput(wallet, u, i, req.prevTxs); //       2
    let prev = decoded.get(u.txid);
    if (prev === undefined) {
      prevBytes += raw.length;
      prev = RawTx.decode(raw);
      decoded.set(u.txid, prev);
    }
    return {
      nonWitnessUtxo: prev,
      witnessUtxo: { script: u.script, amount: u.value },
      witnessScript: addr.witnessScript,
      bip32Derivation: asDerivations(addr.derivations),
    };
  });
  if (prevBytes > MAX_PREV_TX_TOTAL_BYTES) {
    throw bad(
      'inputs',
      `expected previous transactions of at most ${MAX_PREV_TX_TOTAL_BYTES} bytes in all, got ${prevBytes}`,
    );
  }
  const outputs: SummaryOutput[] = plan.payments.map((p, index) =>
    Object.freeze({
      index, //                                                            3
      kind: 'payment' as const,
      withdrawalId: p.withdrawalId,
      script: p.scriptPubKey.slice(),
      amount: p.amount,
    }),
  );
  const outputMaps: object[] = plan.payments.map(() => ({}));
  if (plan.change !== null && req.changeIndex !== null) {
    const change = deriveAddress(wallet, CHANGE, req.changeIndex);
    outputMaps.push({
      witnessScript: change.witnessScript,
      bip32Derivation: asDerivations(change.derivations),
    });
    outputs.push(
      Object.freeze({
        index: outputs.length,
        kind: 'change' as const,
        changeIndex: req.changeIndex,
        address: change.address,
        script: change.script,
        amount: plan.change,
      }),
    );
  }
  const weight = txWeight(
    plan.inputs.length,
    outputs.length,
    outputs.reduce((w, o) => w + outputWeight(o.script.length), 0),
  );
  if (weight !== plan.weight) {
    throw bad(
      'plan',
      `expected the plan's weight to be the transaction's ${weight}, got ${plan.weight}`,
    ); //                                                                    4
  }
  const unsigned = unsignedTx(plan, locktime, outputs);
  const psbt = RawPSBTV0.encode({
    global: { unsignedTx: RawOldTx.decode(unsigned) },
    inputs,
    outputs: outputMaps,
  } as Parameters<typeof RawPSBTV0.encode>[0]); //                           5
  if (psbt.length > MAX_PSBT_BYTES) {
    throw bad(
      'encode',
      `expected a PSBT of at most ${MAX_PSBT_BYTES} bytes (the devices' limit), got ${psbt.length}`,
    );
  }
  const vsize = vsizeOf(weight);
  const summary: PsbtSummary = Object.freeze({
    txid: displayHex(dsha256(unsigned)),
    version: TX_VERSION,
    locktime,
    inputs: Object.freeze(
      plan.inputs.map((u) =>
        Object.freeze({
          txid: u.txid,
          vout: u.vout,
          value: u.value,
          branch: u.branch,
          index: u.index,
        }),
      ),
    ),
    outputs: Object.freeze(outputs),
    totalIn: plan.totalIn,
    totalOut: plan.totalOut,
    fee: plan.fee,
    weight: plan.weight,
    vsize,
    feerateSatPerKvB: (plan.fee * 1000n) / BigInt(vsize),
  });
  return Object.freeze({ psbt, base64: base64.encode(psbt), summary });
}

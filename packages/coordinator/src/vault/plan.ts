/**
 * The shapes passed between the vault's steps: a spendable UTXO of the wallet, a payment (one
 * approved withdrawal), and a transaction plan (inputs, payments, change, fee) that coin
 * selection and RBF produce and build-psbt turns into a PSBT. With the checks every step runs
 * on them. Pure. docs/vault.md §3.
 */
import { OutScript } from '@scure/btc-signer';
import { CoordinatorError } from '../errors.js';
import { MAX_MONEY_SATS } from '../storage/schema.js';
import type { Branch } from './wallet.js';

/** Standard output types a withdrawal may pay (the devices refuse anything else). */
const PAYABLE_TYPES: ReadonlySet<string> = new Set(['pkh', 'sh', 'wpkh', 'wsh', 'tr']);
const TXID_HEX = /^[0-9a-f]{64}$/;

/** A UTXO of the vault wallet that may be spent. */
export interface SpendableUtxo {
  /** 64 lower-case hex characters, display order (as Core prints). */
  readonly txid: string;
  readonly vout: number;
  readonly value: bigint;
  /** Block height that confirmed it, or null while unconfirmed. */
  readonly height: number | null;
  /** 0: a deposit to a receive address; 1: our own change. */
  readonly branch: Branch;
  readonly index: number;
  /** Its scriptPubKey (recomputed from the descriptor and compared when building). */
  readonly script: Uint8Array;
}

/** One approved withdrawal to pay. */
export interface Payment {
  readonly withdrawalId: string;
  readonly scriptPubKey: Uint8Array;
  readonly amount: bigint;
}

export interface TxPlan {
  /** In transaction order. */
  readonly inputs: readonly SpendableUtxo[];
  /** In transaction order; the change output, if any, follows them. */
  readonly payments: readonly Payment[];
  /** Change amount, or null when there is no change output (the remainder went to the fee). */
  readonly change: bigint | null;
  readonly fee: bigint;
  /** Weight and vsize of the signed transaction (upper bound: 73-byte signatures). */
  readonly weight: number;
  readonly vsize: number;
  readonly totalIn: bigint;
  /** Payments plus change. */
  readonly totalOut: bigint;
}

export const outpointKey = (u: { txid: string; vout: number }): string => `${u.txid}:${u.vout}`;

function bad(place: string, message: string, detail: Record<string, unknown> = {}) {
  return new CoordinatorError('BAD_REQUEST', `${place}: ${message}`, detail);
}

export function isPayableScript(script: Uint8Array): boolean {
  if (!(script instanceof Uint8Array) || script.length > 520) return false;
  try {
    return PAYABLE_TYPES.has(OutScript.decode(script).type);
  } catch {
    return false;
  }
}

/** A payment's fields: id 1..64 chars, a standard script, dust ≤ amount ≤ 21e14 (BAD_AMOUNT). */
export function checkPayment(place: string, p: Payment, dust: bigint): void {
  if (typeof p !== 'object' || p === null) throw bad(place, 'expected a payment object');
  if (typeof p.withdrawalId !== 'string' || p.withdrawalId.length < 1 || p.withdrawalId.length > 64)
    throw bad(place, 'expected a withdrawal id of 1..64 characters');
  if (!isPayableScript(p.scriptPubKey)) {
    throw bad(
      place,
      'expected a standard scriptPubKey (P2PKH, P2SH, P2WPKH, P2WSH, P2TR), got another',
      { withdrawalId: p.withdrawalId },
    );
  }
  if (typeof p.amount !== 'bigint' || p.amount < dust || p.amount > MAX_MONEY_SATS) {
    throw new CoordinatorError(
      'BAD_AMOUNT',
      `${place}: expected an amount of ${dust}..${MAX_MONEY_SATS} sat as a bigint, got ${typeof p.amount === 'bigint' ? `${p.amount}` : typeof p.amount}`,
      { withdrawalId: p.withdrawalId },
    );
  }
}

/** A UTXO's fields (no derivation: build-psbt recomputes the script). */
export function checkUtxo(place: string, u: SpendableUtxo): void {
  if (typeof u !== 'object' || u === null) throw bad(place, 'expected a UTXO object');
  if (typeof u.txid !== 'string' || !TXID_HEX.test(u.txid))
    throw bad(place, 'expected a txid of 64 lower-case hex characters');
  if (!Number.isInteger(u.vout) || u.vout < 0 || u.vout > 0xffffffff)
    throw bad(place, `expected a vout 0..2^32-1, got ${String(u.vout)}`);
  if (typeof u.value !== 'bigint' || u.value <= 0n || u.value > MAX_MONEY_SATS) {
    throw new CoordinatorError(
      'BAD_AMOUNT',
      `${place}: expected a value of 1..${MAX_MONEY_SATS} sat as a bigint, got ${typeof u.value === 'bigint' ? `${u.value}` : typeof u.value}`,
    );
  }
  if (u.height !== null && !(Number.isInteger(u.height) && u.height >= 0))
    throw bad(place, `expected a height >= 0 or null, got ${String(u.height)}`);
  if (u.branch !== 0 && u.branch !== 1)
    throw bad(place, `expected branch 0 or 1, got ${String(u.branch)}`);
  if (!Number.isInteger(u.index) || u.index < 0 || u.index >= 0x80000000)
    throw bad(place, `expected an index 0..2^31-1, got ${String(u.index)}`);
  if (!(u.script instanceof Uint8Array)) throw bad(place, 'expected script bytes');
}

/** Plan arithmetic: Σ inputs = Σ payments + change + fee, each part in range, no duplicates. */
export function checkPlan(place: string, plan: TxPlan, dust: bigint): void {
  if (typeof plan !== 'object' || plan === null) throw bad(place, 'expected a plan object');
  if (!Array.isArray(plan.inputs) || plan.inputs.length === 0)
    throw bad(place, 'expected at least one input');
  if (!Array.isArray(plan.payments)) throw bad(place, 'expected a payments array');
  if (plan.payments.length === 0 && plan.change === null)
    throw bad(place, 'expected at least one output');
  const seen = new Set<string>();
  let totalIn = 0n;
  plan.inputs.forEach((u, i) => {
    checkUtxo(`${place}/input ${i}`, u);
    const key = outpointKey(u);
    if (seen.has(key))
      throw bad(`${place}/input ${i}`, `expected distinct outpoints, got ${key} twice`);
    seen.add(key);
    totalIn += u.value;
  });
  const ids = new Set<string>();
  let totalOut = 0n;
  plan.payments.forEach((p, i) => {
    checkPayment(`${place}/payment ${i}`, p, dust);
    if (ids.has(p.withdrawalId))
      throw bad(
        `${place}/payment ${i}`,
        `expected distinct withdrawal ids, got '${p.withdrawalId}' twice`,
      );
    ids.add(p.withdrawalId);
    totalOut += p.amount;
  });
  if (plan.change !== null) {
    if (typeof plan.change !== 'bigint' || plan.change < dust || plan.change > MAX_MONEY_SATS) {
      throw new CoordinatorError(
        'BAD_AMOUNT',
        `${place}: expected change of at least ${dust} sat (dust) or none, got ${String(plan.change)}`,
      );
    }
    totalOut += plan.change;
  }
  if (typeof plan.fee !== 'bigint' || plan.fee < 0n)
    throw new CoordinatorError('BAD_AMOUNT', `${place}: expected a fee >= 0 as a bigint`);
  if (totalIn > MAX_MONEY_SATS || totalOut > MAX_MONEY_SATS)
    throw new CoordinatorError(
      'BAD_AMOUNT',
      `${place}: expected totals at most ${MAX_MONEY_SATS} sat`,
    );
  if (totalIn !== totalOut + plan.fee || plan.totalIn !== totalIn || plan.totalOut !== totalOut) {
    throw new CoordinatorError(
      'BAD_AMOUNT',
      `${place}: expected inputs (${totalIn}) = outputs (${totalOut}) + fee (${plan.fee}), got a plan that does not add up`,
    );
  }
}

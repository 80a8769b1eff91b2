/**
 * The vault as the payout pipeline sees it (`PayoutVault`, src/service/payouts.ts): the pure
 * steps (coin selection, PSBT building, signature checks, finalization) joined to the vault's
 * storage inside the pipeline's database transaction. Adapter only: no rule lives here.
 *
 *   plan     available UTXOs → selectCoins → a fresh change address → stored previous txs →
 *            buildPsbt; `reserve` then reserves the inputs for the payout id (same transaction)
 *   release  the payout's reservations go back to available
 *   verify   one device's signatures (finalize.ts verifyDeviceReply)
 *   finalize two verified replies → raw signed transaction and txid
 *   settle   the payout's reserved inputs are spent by its txid
 *
 * docs/vault.md §7.
 */
import { Transaction } from '@scure/btc-signer';
import type { Kysely } from 'kysely';
import { isCoordinatorError } from '../errors.js';
import type { PayoutVault, PlannedPayout } from '../service/payouts.js';
import type { SignatureReply } from '../signing/orchestrator.js';
import type { Schema } from '../storage/schema.js';
import {
  allocateAddress,
  getPrevTxs,
  listSpendableUtxos,
  markUtxosSpent,
  releaseUtxos,
  reserveUtxos,
  utxosReservedBy,
} from '../storage/vault.js';
import type { Withdrawal } from '../storage/withdrawals.js';
import { buildPsbt } from './build-psbt.js';
import { type SelectionLimits, selectCoins } from './coin-selection.js';
import { finalizeTransaction, verifyDeviceReply } from './finalize.js';
import { planFromPsbt } from './plan-from-psbt.js';
import { replaceByFee } from './rbf.js';
import { CHANGE, deriveAddress, type VaultWallet } from './wallet.js';

export interface PayoutVaultOptions {
  readonly wallet: VaultWallet;
  readonly limits?: Partial<SelectionLimits>;
  /** nLockTime: 0, or the tip height (anti fee sniping). Default 'zero'. */
  readonly locktime?: 'zero' | 'tip';
  /** The clock for the rows' timestamps. */
  readonly now: () => Date;
}

export function createPayoutVault(o: PayoutVaultOptions): PayoutVault {
  const { wallet } = o;
  const derive = (branch: 0 | 1, index: number) => deriveAddress(wallet, branch, index);

  async function plan(
    trx: Kysely<Schema>,
    approved: readonly Withdrawal[],
    feeRate: bigint,
    tipHeight: number,
  ): Promise<PlannedPayout | null> {
    const utxos = await listSpendableUtxos(trx, wallet.idHex);
    let selection: ReturnType<typeof selectCoins>;
    try {
      selection = selectCoins({
        utxos,
        withdrawals: approved.map((w) => ({
          withdrawalId: w.id,
          scriptPubKey: w.destinationScript,
          amount: w.amount,
        })),
        feerateSatPerKvB: feeRate,
        tipHeight,
        ...(o.limits === undefined ? {} : { limits: o.limits }),
      });
    } catch (err) {
      if (isCoordinatorError(err, 'INSUFFICIENT_FUNDS')) return null;
      throw err;
    }
    const at = o.now();
    const change =
      selection.change === null
        ? null
        : await allocateAddress(
            trx,
            { walletId: wallet.idHex, branch: CHANGE, userId: null, at },
            derive,
          );
    const prevTxs = await getPrevTxs(
      trx,
      selection.inputs.map((u) => u.txid),
    );
    const built = buildPsbt({
      wallet,
      plan: selection,
      changeIndex: change === null ? null : change.index,
      prevTxs,
      locktime: o.locktime === 'tip' ? tipHeight : 0,
      ...(o.limits?.dustThreshold === undefined ? {} : { dustThreshold: o.limits.dustThreshold }),
    });
    return Object.freeze({
      psbt: built.psbt,
      fee: built.summary.fee,
      vsize: BigInt(built.summary.vsize),
      feeRate: built.summary.feerateSatPerKvB,
      outputs: Object.freeze(
        selection.payments.map((p, outputIndex) =>
          Object.freeze({ withdrawalId: p.withdrawalId, outputIndex }),
        ),
      ),
      reserve: async (t: Kysely<Schema>, payoutId: bigint) => {
        await reserveUtxos(t, selection.inputs, payoutId, o.now());
      },
    });
  }

  /**
   * A replacement (RBF) of a broadcast payout: its stored PSBT read back, the same inputs and
   * payments, more fee taken from the change only (rbf.ts: BIP125 rules 3, 4 and 6), the change to
   * the same address. The inputs stay reserved by the original payout. Null when the change
   * cannot pay the higher fee (INSUFFICIENT_FUNDS from rbf.ts) or there is no change.
   */
  async function replace(
    trx: Kysely<Schema>,
    original: { psbt: Uint8Array; rawTx: Uint8Array },
    outputs: readonly { withdrawalId: string; outputIndex: number }[],
    feeRate: bigint,
  ) {
    const stored = planFromPsbt(original.psbt, outputs);
    let next: ReturnType<typeof replaceByFee>;
    try {
      next = replaceByFee({
        original: stored.plan,
        originalVsize: Transaction.fromRaw(original.rawTx, { allowUnknownOutputs: true }).vsize,
        feerateSatPerKvB: feeRate,
        ...(o.limits?.dustThreshold === undefined ? {} : { dustThreshold: o.limits.dustThreshold }),
      });
    } catch (err) {
      if (isCoordinatorError(err, 'INSUFFICIENT_FUNDS')) return null;
      throw err;
    }
    const prevTxs = await getPrevTxs(
      trx,
      next.inputs.map((u) => u.txid),
    );
    const built = buildPsbt({
      wallet,
      plan: next,
      changeIndex: next.change === null ? null : stored.changeIndex,
      prevTxs,
      ...(o.limits?.dustThreshold === undefined ? {} : { dustThreshold: o.limits.dustThreshold }),
    });
    return Object.freeze({
      psbt: built.psbt,
      fee: built.summary.fee,
      vsize: BigInt(built.summary.vsize),
      feeRate: built.summary.feerateSatPerKvB,
    });
  }

  return Object.freeze({
    plan,
    replace,
    release: async (trx: Kysely<Schema>, payoutId: bigint) => {
      await releaseUtxos(trx, payoutId, o.now());
    },
    verify: (psbt: Uint8Array, deviceId: string, signatures: SignatureReply) => {
      verifyDeviceReply(wallet, psbt, { deviceId, signatures });
    },
    finalize: (
      psbt: Uint8Array,
      replies: readonly { deviceId: string; signatures: SignatureReply }[],
    ) => {
      const f = finalizeTransaction(wallet, psbt, replies);
      return { rawTx: f.raw, txid: f.txid };
    },
    settle: async (trx: Kysely<Schema>, payoutId: bigint, txid: string) => {
      const inputs = await utxosReservedBy(trx, payoutId);
      if (inputs.length > 0) await markUtxosSpent(trx, inputs, txid, o.now());
    },
  });
}

/**
 * The gateway's consumer: what a connected or disconnected block does to the coordinator's
 * records, written with the transaction that also moves the gateway cursor (storage/
 * gateway-store.ts), so every block is booked exactly once and reversed exactly once.
 *
 *   connected:    each output paying us  → a UTXO (raw transaction kept for non_witness_utxo);
 *                                           on a receive address, a deposit (deposits.ts)
 *                 each spend of our UTXO → the UTXO is spent
 *                 our payout confirmed   → its block height is recorded (settled at depth later)
 *                 then: pending deposits at depth are credited
 *   disconnected: the same, undone — deposits reversed, UTXOs of the block's transactions removed,
 *                 spends undone, payout heights cleared (it is back in the mempool)
 */
import type { Transaction } from 'kysely';
import type { ChainBackend } from '../chain/interface.js';
import { CoordinatorError } from '../errors.js';
import type { BlockEvent } from '../gateway/follower.js';
import { denyListsOf } from '../risk/config.js';
import type { Schema } from '../storage/schema.js';
import { payoutByTxid, setPayoutBlockHeight } from '../storage/signing.js';
import {
  addUtxo,
  getAddressByScript,
  markUtxosSpent,
  removeUtxosOfTx,
  unspendUtxos,
} from '../storage/vault.js';
import { displayHex, parseRawTx } from '../vault/raw-tx.js';
import {
  creditIfDeep,
  type DepositDeps,
  depositDisconnected,
  depositSeenInBlock,
} from './deposits.js';

export interface ChainEventDeps extends DepositDeps {
  readonly backend: ChainBackend;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

/** The scripts a transaction's inputs spent (for the deposit source deny list). */
async function sourceScripts(backend: ChainBackend, raw: Uint8Array): Promise<Uint8Array[]> {
  const tx = parseRawTx(raw, 'chain-events/source');
  const out: Uint8Array[] = [];
  for (const input of tx.inputs) {
    const prevTxid = displayHex(input.txid);
    const prevRaw = await backend.transaction(prevTxid);
    if (prevRaw === null) {
      throw new CoordinatorError(
        'CHAIN_UNAVAILABLE',
        `chain-events/source: expected the node to have ${prevTxid} (needs txindex), got none`,
      );
    }
    const prev = parseRawTx(prevRaw, 'chain-events/source prev');
    const o = prev.outputs[input.vout];
    if (o !== undefined) out.push(o.script);
  }
  return out;
}

export async function handleBlockEvent(
  deps: ChainEventDeps,
  event: BlockEvent,
  trx: Transaction<Schema>,
): Promise<void> {
  const at = new Date(deps.now());
  if (event.type === 'block_connected') {
    const raws = new Map(event.block.transactions.map((t) => [t.txid, t.raw]));
    const checkSources = denyListsOf(deps.risk).depositSource.size > 0;
    for (const o of event.effects.received) {
      const raw = raws.get(o.txid);
      if (raw === undefined) {
        throw new CoordinatorError(
          'INTERNAL',
          `chain-events: expected ${o.txid} in block ${event.hash}, got none`,
        );
      }
      const address = await getAddressByScript(trx, o.scriptPubKey);
      if (address === undefined) continue; // watched elsewhere (e.g. a cold address)
      await addUtxo(trx, { rawTx: raw, vout: o.vout, height: event.height, at });
      const ours = await payoutByTxid(trx, o.txid);
      if (address.branch === 0 && address.userId !== null && ours === null && !o.coinbase) {
        await depositSeenInBlock(
          trx,
          deps,
          {
            txid: o.txid,
            vout: o.vout,
            value: o.value,
            userId: address.userId,
            address: address.address,
            sourceScripts: checkSources ? await sourceScripts(deps.backend, raw) : [],
          },
          event.height,
          event.hash,
          event.height,
        );
      }
    }
    const bySpender = new Map<string, { txid: string; vout: number }[]>();
    for (const s of event.effects.spent) {
      const list = bySpender.get(s.spendingTxid) ?? [];
      list.push({ txid: s.output.txid, vout: s.output.vout });
      bySpender.set(s.spendingTxid, list);
    }
    for (const [spender, list] of bySpender) await markUtxosSpent(trx, list, spender, at);
    for (const txid of event.effects.confirmedTracked) {
      const payout = await payoutByTxid(trx, txid);
      if (payout !== null) await setPayoutBlockHeight(trx, payout.id, BigInt(event.height));
    }
    await creditIfDeep(trx, deps, event.height);
    return;
  }
  // block_disconnected: undo, newest effects first.
  for (const txid of event.reversed.confirmedTracked) {
    const payout = await payoutByTxid(trx, txid);
    if (payout === null) continue;
    if (payout.state === 'confirmed') {
      deps.log?.('confirmed_payout_reorged', {
        payoutId: String(payout.id),
        txid,
        height: event.height,
      });
    }
    await setPayoutBlockHeight(trx, payout.id, null);
  }
  const spenders = new Set(event.reversed.spent.map((s) => s.spendingTxid));
  for (const spender of spenders) await unspendUtxos(trx, spender, at);
  const txids = new Set<string>();
  for (const o of [...event.reversed.received].reverse()) {
    await depositDisconnected(trx, deps, o.txid, o.vout);
    txids.add(o.txid);
  }
  for (const txid of txids) await removeUtxosOfTx(trx, txid);
}

/**
 * The built-in mining wallet (the faucet): P2WPKH keys, the coins the UTXO set and the mempool
 * hold for them, and payments (sendtoaddress) built and signed with @scure/btc-signer's own
 * signer — a different implementation from the validator that then checks them. Coinbase coins
 * are spent only at 101 confirmations, as Core's wallet does. Keys are devnet keys: they are kept
 * in memory and in the data file in the clear.
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { p2wpkh, Transaction } from '@scure/btc-signer';
import * as tiny from 'tiny-secp256k1';
import type { Chainstate } from '../chain/chainstate.js';
import type { Mempool } from '../chain/mempool.js';
import { CONSENSUS, SEQUENCE } from '../consensus/params.js';
import { decodeTx, type Tx } from '../consensus/tx.js';
import { DevnetError } from '../errors.js';
import { feeForSize } from '../policy/feerate.js';
import { dustThreshold } from '../policy/standard.js';
import { scriptToAddress } from './address.js';

export interface WalletKey {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly script: Uint8Array;
  readonly address: string;
}

export interface WalletCoin {
  readonly txid: string;
  readonly vout: number;
  readonly value: bigint;
  readonly script: Uint8Array;
  readonly key: WalletKey;
}

export interface WalletState {
  readonly keys: readonly string[];
  readonly sent: readonly string[];
}

/** Confirmations Core's wallet wants before it spends a coinbase output (COINBASE_MATURITY + 1). */
const COINBASE_SPEND_DEPTH = CONSENSUS.coinbaseMaturity + 1;

function keyFromPrivate(privateKey: Uint8Array): WalletKey {
  if (!tiny.isPrivate(privateKey))
    throw new DevnetError('BAD_OPTIONS', 'wallet/key: expected a valid secp256k1 private key');
  const publicKey = tiny.pointFromScalar(privateKey, true);
  if (publicKey === null)
    throw new DevnetError('INTERNAL', 'wallet/key: no public key for the private key');
  const script = p2wpkh(publicKey).script;
  const address = scriptToAddress(script);
  if (address === null)
    throw new DevnetError('INTERNAL', 'wallet/key: no address for a P2WPKH script');
  return Object.freeze({ privateKey, publicKey, script, address });
}

function randomKey(): WalletKey {
  for (;;) {
    const candidate = new Uint8Array(randomBytes(32));
    if (tiny.isPrivate(candidate)) return keyFromPrivate(candidate);
  }
}

/** Weight of a signed P2WPKH spend's parts, upper bounds (72-byte signatures). */
const TX_OVERHEAD_WEIGHT = 42;
const P2WPKH_INPUT_WEIGHT = 272;

function outputWeight(script: Uint8Array): number {
  return 4 * (8 + 1 + script.length);
}

export class MiningWallet {
  readonly #keys: WalletKey[] = [];
  readonly #byScript = new Map<string, WalletKey>();
  /** Transactions this wallet created (their unconfirmed change is trusted). */
  readonly #sent = new Set<string>();

  constructor(state?: WalletState) {
    for (const k of state?.keys ?? []) this.#add(keyFromPrivate(hexToBytes(k)));
    for (const t of state?.sent ?? []) this.#sent.add(t);
    if (this.#keys.length === 0) this.#add(randomKey());
  }

  #add(key: WalletKey): WalletKey {
    this.#keys.push(key);
    this.#byScript.set(bytesToHex(key.script), key);
    return key;
  }

  /** The address coinbases pay when no other is given. */
  get miningKey(): WalletKey {
    return this.#keys[0] as WalletKey;
  }

  newKey(): WalletKey {
    return this.#add(randomKey());
  }

  isMine(script: Uint8Array): boolean {
    return this.#byScript.has(bytesToHex(script));
  }

  state(): WalletState {
    return { keys: this.#keys.map((k) => bytesToHex(k.privateKey)), sent: [...this.#sent] };
  }

  /** Coins the wallet may spend now: mature, and not already spent by a mempool transaction. */
  spendable(chain: Chainstate, mempool: Mempool): WalletCoin[] {
    const coins: WalletCoin[] = [];
    for (const [key, coin] of chain.utxos()) {
      const owner = this.#byScript.get(bytesToHex(coin.script));
      if (owner === undefined) continue;
      if (coin.coinbase && chain.height - coin.height + 1 < COINBASE_SPEND_DEPTH) continue;
      const [txid = '', vout = '0'] = key.split(':');
      if (mempool.spender(txid, Number(vout)) !== undefined) continue;
      coins.push({ txid, vout: Number(vout), value: coin.value, script: coin.script, key: owner });
    }
    for (const entry of mempool.entries()) {
      if (!this.#sent.has(entry.tx.txid)) continue;
      entry.tx.outputs.forEach((out, vout) => {
        const owner = this.#byScript.get(bytesToHex(out.script));
        if (owner === undefined || mempool.spender(entry.tx.txid, vout) !== undefined) return;
        coins.push({ txid: entry.tx.txid, vout, value: out.value, script: out.script, key: owner });
      });
    }
    return coins.sort((a, b) => (a.value === b.value ? 0 : a.value > b.value ? -1 : 1));
  }

  balance(chain: Chainstate, mempool: Mempool): bigint {
    return this.spendable(chain, mempool).reduce((n, c) => n + c.value, 0n);
  }

  /**
   * Builds and signs a payment of `amount` to `script` at `feeRate` (sat/kvB), change back to
   * the mining key; with `subtractFee` the recipient pays the fee. Signals BIP125 (sequence
   * 0xfffffffd) and sets nLockTime to the tip height, as Core's wallet does.
   */
  createPayment(
    chain: Chainstate,
    mempool: Mempool,
    script: Uint8Array,
    amount: bigint,
    feeRate: bigint,
    subtractFee: boolean,
  ): Tx {
    if (amount <= 0n)
      throw new DevnetError('BAD_AMOUNT', `wallet/send: expected a positive amount, got ${amount}`);
    if (amount < dustThreshold({ value: amount, script })) {
      throw new DevnetError('BAD_AMOUNT', 'wallet/send: Transaction amount too small', {
        rpcCode: -4,
        rpcMessage: 'Transaction amount too small',
      });
    }
    const available = this.spendable(chain, mempool);
    const change = this.miningKey.script;
    const chosen: WalletCoin[] = [];
    let total = 0n;
    for (const coin of available) {
      chosen.push(coin);
      total += coin.value;
      const weight =
        TX_OVERHEAD_WEIGHT +
        chosen.length * P2WPKH_INPUT_WEIGHT +
        outputWeight(script) +
        outputWeight(change);
      const fee = feeForSize(feeRate, Math.ceil(weight / 4));
      const need = subtractFee ? amount : amount + fee;
      if (total < need) continue;
      const pay = subtractFee ? amount - fee : amount;
      if (pay <= 0n) break;
      const rest = total - pay - fee;
      const tx = new Transaction({ version: 2, lockTime: chain.height, allowUnknownOutputs: true });
      for (const c of chosen) {
        tx.addInput({
          txid: c.txid,
          index: c.vout,
          sequence: SEQUENCE.maxBip125Rbf,
          witnessUtxo: { script: c.script, amount: c.value },
        });
      }
      tx.addOutput({ script, amount: pay });
      if (rest >= dustThreshold({ value: rest, script: change }))
        tx.addOutput({ script: change, amount: rest });
      for (const c of chosen) tx.signIdx(c.key.privateKey, chosen.indexOf(c));
      tx.finalize();
      const signed = decodeTx(tx.extract());
      this.#sent.add(signed.txid);
      return signed;
    }
    throw new DevnetError(
      'INSUFFICIENT_FUNDS',
      `wallet/send: expected at least ${amount} sat of mature coins, got ${total}`,
      {
        rpcCode: -6,
        rpcMessage: 'Insufficient funds',
      },
    );
  }

  forget(txid: string): void {
    this.#sent.delete(txid);
  }
}

/**
 * Test fixtures for the vault: a regtest 2-of-3 wallet from three fixed test seeds (test keys
 * only), raw funding transactions paying its addresses, UTXOs and payments, and a signer that
 * signs a BIP143 digest with a cosigner's child key (what a device does), for finalize tests.
 */

import { dsha256 } from '@keyline/signer-device/wallet';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { HDKey } from '@scure/bip32';
import { RawTx } from '@scure/btc-signer';
import type { Payment, SpendableUtxo } from '../../src/vault/plan.js';
import {
  buildWallet,
  deriveAddress,
  type EnrolledKey,
  type VaultWallet,
} from '../../src/vault/wallet.js';

const TEST_VERSIONS = { private: 0x04358394, public: 0x043587cf };
export const ACCOUNT_PATH = "m/48'/1'/0'/2'";

export interface TestCosigner {
  readonly master: HDKey;
  readonly account: HDKey;
  readonly enrolled: EnrolledKey;
}

export function cosigner(seedByte: number): TestCosigner {
  const master = HDKey.fromMasterSeed(new Uint8Array(32).fill(seedByte), TEST_VERSIONS);
  const account = master.derive(ACCOUNT_PATH);
  const fp = master.fingerprint;
  const fingerprint = Uint8Array.from([fp >>> 24, (fp >>> 16) & 255, (fp >>> 8) & 255, fp & 255]);
  return {
    master,
    account,
    enrolled: { fingerprint, path: ACCOUNT_PATH, xpub: account.publicExtendedKey },
  };
}

export const COSIGNERS = Object.freeze([cosigner(1), cosigner(2), cosigner(3)]);
export const STRANGER = cosigner(9);
export const WALLET: VaultWallet = buildWallet(
  COSIGNERS.map((c) => c.enrolled),
  'regtest',
);

/** A destination of each standard type. */
export const DEST = Object.freeze({
  p2wpkh: Uint8Array.from([0x00, 0x14, ...new Uint8Array(20).fill(0x11)]),
  p2tr: Uint8Array.from([0x51, 0x20, ...new Uint8Array(32).fill(0x22)]),
  p2pkh: Uint8Array.from([0x76, 0xa9, 0x14, ...new Uint8Array(20).fill(0x33), 0x88, 0xac]),
  p2sh: Uint8Array.from([0xa9, 0x14, ...new Uint8Array(20).fill(0x44), 0x87]),
  p2wsh: Uint8Array.from([0x00, 0x20, ...new Uint8Array(32).fill(0x55)]),
});

/** A witness-serialized transaction paying `outputs`, spending a made-up outpoint (`salt`). */
export function fundingTx(
  outputs: readonly { script: Uint8Array; amount: bigint }[],
  salt: string,
): Uint8Array {
  return RawTx.encode({
    version: 2,
    segwitFlag: true,
    inputs: [
      {
        txid: sha256(new TextEncoder().encode(salt)),
        index: 0,
        finalScriptSig: new Uint8Array(0),
        sequence: 0xfffffffd,
      },
    ],
    outputs: outputs.map((o) => ({ script: o.script, amount: o.amount })),
    witnesses: [[new Uint8Array(72).fill(7), new Uint8Array(33).fill(2)]],
    lockTime: 0,
  });
}

/** Display-order txid of a raw transaction (double SHA-256 of its non-witness serialization). */
export function txidOf(raw: Uint8Array): string {
  const tx = RawTx.decode(raw);
  const stripped = RawTx.encode({ ...tx, segwitFlag: false, witnesses: undefined });
  return bytesToHex(dsha256(stripped).reverse());
}

export interface Funded {
  readonly raw: Uint8Array;
  readonly txid: string;
  readonly utxos: SpendableUtxo[];
}

/** One funding transaction paying wallet addresses: one output per (branch, index, amount). */
export function fund(
  coins: readonly { branch: 0 | 1; index: number; amount: bigint; height?: number | null }[],
  salt: string,
  wallet: VaultWallet = WALLET,
): Funded {
  const addrs = coins.map((c) => deriveAddress(wallet, c.branch, c.index));
  const raw = fundingTx(
    coins.map((c, i) => ({
      script: (addrs[i] as { script: Uint8Array }).script,
      amount: c.amount,
    })),
    salt,
  );
  const txid = txidOf(raw);
  return {
    raw,
    txid,
    utxos: coins.map((c, vout) => ({
      txid,
      vout,
      value: c.amount,
      height: c.height === undefined ? 100 : c.height,
      branch: c.branch,
      index: c.index,
      script: (addrs[vout] as { script: Uint8Array }).script,
    })),
  };
}

export const payment = (id: string, amount: bigint, script: Uint8Array = DEST.p2wpkh): Payment => ({
  withdrawalId: id,
  scriptPubKey: script,
  amount,
});

/** DER signature + SIGHASH_ALL of `digest` by cosigner `c`'s child at branch/index (low S). */
export function signDigest(c: TestCosigner, branch: number, index: number, digest: Uint8Array) {
  const child = c.account.deriveChild(branch).deriveChild(index);
  if (child.privateKey === null || child.publicKey === null) throw new Error('no child key');
  const der = secp256k1.sign(digest, child.privateKey, {
    prehash: false,
    lowS: true,
    format: 'der',
  });
  return { pubkey: Uint8Array.from(child.publicKey), signature: Uint8Array.from([...der, 0x01]) };
}

/** The error a function throws (fails the test when it returns). */
export function thrown(fn: () => unknown): {
  code?: string;
  message: string;
  detail?: Record<string, unknown>;
} {
  try {
    fn();
  } catch (e) {
    return e as { code?: string; message: string; detail?: Record<string, unknown> };
  }
  throw new Error('expected a throw');
}

/**
 * Lean references: the least work that signs the same PSBTs — BIP143 sighashes with the three
 * shared hashes computed once (Bip143Sighash), then one bare ECDSA signature per input, with
 * @noble/secp256k1 (prehash: false, lowS) or tiny-secp256k1 (libsecp256k1 in WASM, the fastest
 * available). No parsing, no verification, no derivation inside the timed part: the child private
 * keys are derived beforehand (LeanKeyring). RFC 6979 nonces on both, so both produce the same
 * signatures as the device, which the bench checks.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import * as secp from '@noble/secp256k1';
import { HDKey } from '@scure/bip32';
import * as tiny from 'tiny-secp256k1';
import { entropyToSeed } from '../src/keystore/mnemonic.js';
import { releaseSecret } from '../src/keystore/secrets.js';
import { Bip143Sighash, type SighashTx } from '../src/psbt/sighash.js';
import { DEVICE_ENTROPY_BYTE } from './bench-wallet.js';
import type { LeanInput } from './psbt-builder.js';

// @noble/secp256k1 v3's synchronous sign needs these (same values src/keystore/ecdsa.ts sets).
secp.hashes.hmacSha256 = (key, msg) => hmac(sha256, key, msg);
secp.hashes.sha256 = sha256;

const TEST_VERSIONS = Object.freeze({ private: 0x04358394, public: 0x043587cf });

/** The device's receive-branch child private keys 0..count-1, for the references. Bench keys. */
export class LeanKeyring {
  readonly #keys: Uint8Array[];
  private constructor(keys: Uint8Array[]) {
    this.#keys = keys;
  }

  static derive(count: number): LeanKeyring {
    const entropy = new Uint8Array(32).fill(DEVICE_ENTROPY_BYTE);
    const seed = entropyToSeed(entropy);
    entropy.fill(0);
    const master = HDKey.fromMasterSeed(seed, TEST_VERSIONS);
    releaseSecret(seed);
    const account = master.derive("m/48'/1'/0'/2'");
    const receive = account.deriveChild(0);
    master.wipePrivateData();
    account.wipePrivateData();
    const keys: Uint8Array[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const child = receive.deriveChild(i);
        const k = child.privateKey;
        if (k === null) throw new Error('bench/lean: no child private key');
        keys.push(Uint8Array.from(k));
        k.fill(0);
        child.wipePrivateData();
      }
    } finally {
      receive.wipePrivateData();
    }
    return new LeanKeyring(keys);
  }

  key(index: number): Uint8Array {
    const k = this.#keys[index];
    if (k === undefined) throw new Error(`bench/lean: no key for index ${index}`);
    return k;
  }

  wipe(): void {
    for (const k of this.#keys) k.fill(0);
    this.#keys.length = 0;
  }
}

export type LeanSigner = (digest: Uint8Array, privateKey: Uint8Array) => Uint8Array;

export const nobleSign: LeanSigner = (digest, key) =>
  secp.sign(digest, key, { prehash: false, lowS: true });
export const tinySign: LeanSigner = (digest, key) => tiny.sign(digest, key);

/** Sighashes (shared hashes once) and one compact signature per input. */
export function leanSign(
  tx: SighashTx,
  inputs: readonly LeanInput[],
  keys: LeanKeyring,
  signer: LeanSigner,
): Uint8Array[] {
  const hasher = new Bip143Sighash(tx);
  return inputs.map((inp, i) =>
    signer(hasher.digest(i, inp.witnessScript, inp.amount), keys.key(inp.index)),
  );
}

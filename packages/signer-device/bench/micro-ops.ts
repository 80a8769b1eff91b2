/**
 * Per-operation costs measured in the same run, so the device path's breakdown can be explained
 * (which primitive, how many times per input) and a change priced. Bench keys only.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 as curves } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import * as secp from '@noble/secp256k1';
import { HDKey } from '@scure/bip32';
import * as tiny from 'tiny-secp256k1';
import { ckdPrivScalar } from '../src/keystore/ckd-priv.js';
import { ckdPub } from '../src/psbt/ckd-pub.js';
import { Bip143Sighash } from '../src/psbt/sighash.js';
import { nobleSign } from './lean.js';
import { timeOp } from './stats.js';

export interface MicroOps {
  /** @scure/bip32 child public key from a cached public parent (what deriveScript/OwnKeys do). */
  readonly bip32PublicChild: number;
  /** @scure/bip32 child from a private parent (what signDigest does), child pubkey included. */
  readonly bip32PrivateChild: number;
  /** The same public child with libsecp256k1: src/psbt/ckd-pub.ts ckdPub (HMAC + pointAddScalar). */
  readonly tinyPublicChild: number;
  /** src/keystore/ckd-priv.ts ckdPrivScalar (HMAC + privateAdd): what signDigest does now. */
  readonly tinyPrivateChild: number;
  /** tiny pointFromScalar (compressed): signDigestWithKey's public key. */
  readonly tinyGetPublicKey: number;
  readonly nobleGetPublicKey: number;
  readonly nobleSign: number;
  readonly nobleVerify: number;
  readonly curvesVerify: number;
  readonly tinySign: number;
  readonly tinyVerify: number;
  /** One Bip143Sighash.digest (shared hashes already computed). */
  readonly sighashDigest: number;
  /** Ed25519 sign (audit entries) and verify (intents). */
  readonly ed25519Sign: number;
  readonly ed25519Verify: number;
}

const TEST_VERSIONS = Object.freeze({ private: 0x04358394, public: 0x043587cf });

export function measureMicroOps(): MicroOps {
  const seed = new Uint8Array(32).fill(0x61);
  const master = HDKey.fromMasterSeed(seed, TEST_VERSIONS);
  seed.fill(0);
  const privBranch = master.derive("m/48'/1'/0'/2'/0");
  master.wipePrivateData();
  const pubBranch = HDKey.fromExtendedKey(privBranch.publicExtendedKey, TEST_VERSIONS);
  const key = Uint8Array.from(privBranch.deriveChild(0).privateKey ?? new Uint8Array(32).fill(1));
  const pub = secp.getPublicKey(key, true);
  const digests = Array.from({ length: 64 }, (_, i) => sha256(Uint8Array.of(i)));
  const d = (i: number): Uint8Array => digests[i % digests.length] ?? new Uint8Array(32);
  const nobleSigs = digests.map((x) => nobleSign(x, key));
  const ns = (i: number): Uint8Array => nobleSigs[i % nobleSigs.length] ?? new Uint8Array(64);
  const chain = pubBranch.chainCode ?? new Uint8Array(32);
  const parentPub = pubBranch.publicKey ?? pub;
  const edSeed = new Uint8Array(32).fill(0x62);
  const edPub = ed25519.getPublicKey(edSeed);
  const edSig = ed25519.sign(digests[0] ?? new Uint8Array(32), edSeed);
  const hasher = new Bip143Sighash({
    version: 2,
    locktime: 0,
    inputs: Array.from({ length: 100 }, (_, i) => ({
      txid: d(i),
      vout: i,
      sequence: 0xfffffffd,
    })),
    outputs: [{ script: new Uint8Array(22), amount: 1000n }],
  });
  const ws = new Uint8Array(105).fill(0x21);
  try {
    return {
      bip32PublicChild: timeOp((i) => pubBranch.deriveChild(1000 + i).publicKey, 50, 5),
      bip32PrivateChild: timeOp(
        (i) => {
          const c = privBranch.deriveChild(1000 + i);
          c.wipePrivateData();
        },
        50,
        5,
      ),
      tinyPublicChild: timeOp(
        (i) => ckdPub({ publicKey: parentPub, chainCode: chain }, 1000 + i),
        100,
        5,
      ),
      tinyPrivateChild: timeOp(
        (i) => {
          const parentKey = privBranch.privateKey ?? new Uint8Array(32).fill(1);
          const k = ckdPrivScalar(
            { privateKey: parentKey, publicKey: parentPub, chainCode: chain },
            1000 + i,
          );
          k?.fill(0);
          parentKey.fill(0);
        },
        100,
        5,
      ),
      tinyGetPublicKey: timeOp(() => tiny.pointFromScalar(key, true), 100, 5),
      nobleGetPublicKey: timeOp(() => secp.getPublicKey(key, true), 50, 5),
      nobleSign: timeOp((i) => nobleSign(d(i), key), 50, 5),
      nobleVerify: timeOp(
        (i) => secp.verify(ns(i), d(i), pub, { prehash: false, lowS: true }),
        20,
        5,
      ),
      curvesVerify: timeOp(
        (i) => curves.verify(ns(i), d(i), pub, { prehash: false, lowS: true }),
        20,
        5,
      ),
      tinySign: timeOp((i) => tiny.sign(d(i), key), 100, 5),
      tinyVerify: timeOp((i) => tiny.verify(d(i), pub, ns(i)), 100, 5),
      sighashDigest: timeOp((i) => hasher.digest(i % 100, ws, 1000n), 200, 5),
      ed25519Sign: timeOp((i) => ed25519.sign(d(i), edSeed), 50, 5),
      ed25519Verify: timeOp(() => ed25519.verify(edSig, digests[0] ?? edSig, edPub), 30, 5),
    };
  } finally {
    key.fill(0);
    edSeed.fill(0);
    privBranch.wipePrivateData();
  }
}

/**
 * What the device path does per input, by primitive (from reading the modules):
 *   verifyPsbt: 3 public children on libsecp (deriveScript, cold; the own key is reused from
 *   it) ; sign: CKDpriv scalar on libsecp + pointFromScalar + tiny sign + tiny verify
 *   (signDigestWithKey's self-check) ; verifySignatures: 1 tiny verify (verifyInputSignature).
 */
export function modelPerInput(m: MicroOps): Record<string, number> {
  return {
    'verifyPsbt: 3 × libsecp public child': 3 * m.tinyPublicChild,
    'sign: libsecp private child scalar': m.tinyPrivateChild,
    'sign: pointFromScalar': m.tinyGetPublicKey,
    'sign: ECDSA sign (libsecp)': m.tinySign,
    'sign: self-check verify (libsecp)': m.tinyVerify,
    'verifySignatures: verify (libsecp)': m.tinyVerify,
  };
}

/**
 * Test helpers: a node with a deterministic clock, keys, a 2-of-3 sortedmulti P2WSH wallet built
 * by hand (three keys, witness script, signatures made with tiny-secp256k1 over btc-signer's
 * BIP143 digest), and transaction builders. Nothing here is used by the package itself.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes } from '@noble/hashes/utils.js';
import { Transaction } from '@scure/btc-signer';
import * as tiny from 'tiny-secp256k1';
import { hash160 } from '../../src/consensus/hash.js';
import { makeTx, type Tx, type TxIn, type TxOut } from '../../src/consensus/tx.js';
import { DevnetNode, type DevnetNodeOptions } from '../../src/node.js';
import { OP, pushData } from '../../src/script/opcodes.js';
import { compactToDer, SIGHASH } from '../../src/script/signature-encoding.js';
import { scriptToAddress } from '../../src/wallet/address.js';

export const START_MS = 1_700_000_000_000;

/** The mining wallet's key in tests, fixed so that every transaction (and size) is reproducible. */
export const MINING_KEY_HEX = bytesToHex(
  sha256(new TextEncoder().encode('keyline-devnet-test:mining')),
);

/** A node whose clock advances one second per reading, with a fixed mining key: runs are reproducible. */
export function newNode(options: DevnetNodeOptions = {}): DevnetNode {
  let t = START_MS;
  return new DevnetNode({
    now: () => (t += 1000),
    wallet: { keys: [MINING_KEY_HEX], sent: [] },
    ...options,
  });
}

/** A node with 101 mined blocks: the first coinbase is mature for the faucet. */
export function fundedNode(options: DevnetNodeOptions = {}): DevnetNode {
  const node = newNode(options);
  node.mine(101);
  return node;
}

export interface KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** A deterministic key from a small seed (sha256 of the seed text). */
export function key(seed: string): KeyPair {
  const privateKey = sha256(new TextEncoder().encode(`keyline-devnet-test:${seed}`));
  const publicKey = tiny.pointFromScalar(privateKey, true);
  if (publicKey === null) throw new Error('test key: invalid scalar');
  return { privateKey, publicKey };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return a.length - b.length;
}

export interface Multisig {
  readonly keys: readonly KeyPair[];
  readonly witnessScript: Uint8Array;
  readonly script: Uint8Array;
  readonly address: string;
}

/** wsh(sortedmulti(m, keys...)): keys sorted by their compressed encoding (BIP67). */
export function sortedMultisig(m: number, keys: readonly KeyPair[]): Multisig {
  const sorted = [...keys].sort((a, b) => compareBytes(a.publicKey, b.publicKey));
  const witnessScript = concatBytes(
    Uint8Array.of(OP.OP_1 - 1 + m),
    ...sorted.map((k) => pushData(k.publicKey)),
    Uint8Array.of(OP.OP_1 - 1 + sorted.length, OP.CHECKMULTISIG),
  );
  const script = concatBytes(Uint8Array.of(0x00, 0x20), sha256(witnessScript));
  const address = scriptToAddress(script);
  if (address === null) throw new Error('test multisig: no address');
  return { keys: sorted, witnessScript, script, address };
}

export function p2wpkhScript(pub: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(0x00, 0x14), hash160(pub));
}

export interface Utxo {
  readonly txid: string;
  readonly vout: number;
  readonly value: bigint;
  readonly script: Uint8Array;
}

/** Pays `value` to `script` from the faucet and confirms it in one block. */
export function fund(node: DevnetNode, script: Uint8Array, value: bigint, confirm = true): Utxo {
  const address = scriptToAddress(script);
  if (address === null) throw new Error('fund: no address for script');
  const txid = node.send(address, value);
  if (confirm) node.mine(1);
  const found = node.getTransaction(txid);
  const vout =
    found?.tx.outputs.findIndex(
      (o) => o.value === value && Buffer.compare(o.script, script) === 0,
    ) ?? -1;
  if (vout < 0) throw new Error('fund: output not found');
  return { txid, vout, value, script };
}

export function input(utxo: Utxo, sequence = 0xfffffffd): TxIn {
  return {
    prevTxid: utxo.txid,
    vout: utxo.vout,
    scriptSig: new Uint8Array(0),
    sequence,
    witness: [],
  };
}

export function unsigned(
  inputs: readonly TxIn[],
  outputs: readonly TxOut[],
  version = 2,
  lockTime = 0,
): Tx {
  return makeTx({ version, inputs, outputs, lockTime });
}

/** The BIP143 digest of an input, from @scure/btc-signer (the same primitive the node uses). */
export function bip143Digest(
  tx: Tx,
  index: number,
  scriptCode: Uint8Array,
  amount: bigint,
  hashType: number = SIGHASH.ALL,
): Uint8Array {
  const view = Transaction.fromRaw(tx.raw, {
    allowUnknownOutputs: true,
    allowUnknownInputs: true,
    disableScriptCheck: true,
  });
  return view.preimageWitnessV0(index, scriptCode, hashType, amount);
}

/** DER signature + hashtype byte, signed with libsecp256k1 (low S). */
export function signDigest(
  digest: Uint8Array,
  privateKey: Uint8Array,
  hashType: number = SIGHASH.ALL,
): Uint8Array {
  return concatBytes(compactToDer(tiny.sign(digest, privateKey)), Uint8Array.of(hashType));
}

/** Replaces the witnesses of `tx` (by input index). */
export function withWitnesses(tx: Tx, witnesses: ReadonlyMap<number, readonly Uint8Array[]>): Tx {
  return makeTx({
    version: tx.version,
    lockTime: tx.lockTime,
    outputs: tx.outputs,
    inputs: tx.inputs.map((i, n) => ({ ...i, witness: [...(witnesses.get(n) ?? i.witness)] })),
  });
}

/** Signs input `index` of a 2-of-3 P2WSH spend with `signers` (in key order unless told). */
export function signMultisigInput(
  tx: Tx,
  index: number,
  ms: Multisig,
  amount: bigint,
  signers: readonly KeyPair[],
  hashType: number = SIGHASH.ALL,
): Uint8Array[] {
  const digest = bip143Digest(tx, index, ms.witnessScript, amount, hashType);
  return signers.map((k) => signDigest(digest, k.privateKey, hashType));
}

/** A fully signed spend of P2WSH multisig inputs to the given outputs. */
export function spendMultisig(
  ms: Multisig,
  utxos: readonly Utxo[],
  outputs: readonly TxOut[],
  signers: readonly KeyPair[] = ms.keys.slice(0, 2),
  hashType: number = SIGHASH.ALL,
): Tx {
  const tx = unsigned(
    utxos.map((u) => input(u)),
    outputs,
  );
  const witnesses = new Map<number, Uint8Array[]>();
  utxos.forEach((u, i) => {
    witnesses.set(i, [
      new Uint8Array(0),
      ...signMultisigInput(tx, i, ms, u.value, signers, hashType),
      ms.witnessScript,
    ]);
  });
  return withWitnesses(tx, witnesses);
}

/** A signed P2WPKH spend (single key). */
export function spendP2wpkh(
  k: KeyPair,
  utxos: readonly Utxo[],
  outputs: readonly TxOut[],
  sequence = 0xfffffffd,
): Tx {
  const tx = unsigned(
    utxos.map((u) => input(u, sequence)),
    outputs,
  );
  const scriptCode = concatBytes(
    Uint8Array.of(OP.DUP, OP.HASH160),
    pushData(hash160(k.publicKey)),
    Uint8Array.of(OP.EQUALVERIFY, OP.CHECKSIG),
  );
  const witnesses = new Map<number, Uint8Array[]>();
  utxos.forEach((u, i) => {
    witnesses.set(i, [
      signDigest(bip143Digest(tx, i, scriptCode, u.value), k.privateKey),
      k.publicKey,
    ]);
  });
  return withWitnesses(tx, witnesses);
}

/** Expects `fn` to throw a DevnetError and returns its Core reject reason (detail.rejectReason). */
export function rejectReason(fn: () => unknown): {
  reason: string;
  rpcCode: unknown;
  code: string;
} {
  try {
    fn();
  } catch (err) {
    const e = err as { code?: string; detail?: Record<string, unknown> };
    return {
      reason: String(e.detail?.rejectReason ?? e.detail?.rpcMessage ?? ''),
      rpcCode: e.detail?.rpcCode,
      code: String(e.code),
    };
  }
  throw new Error('expected a rejection, got none');
}

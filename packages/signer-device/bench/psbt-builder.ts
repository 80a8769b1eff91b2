/**
 * Builds the bench's sign_psbt requests: a BIP174 (version 0) PSBT spending N inputs of the
 * 2-of-3 P2WSH bench wallet, each from its own previous transaction (a deposit: one input, our
 * output and the sender's change, with a P2WPKH-shaped witness) carried in full as
 * PSBT_IN_NON_WITNESS_UTXO, plus witness_utxo, witness_script and the three BIP32 derivations;
 * three external outputs with signed withdrawal intents and one change output (branch 1).
 *
 * Independent of the code under measurement: scripts come from @scure/bip32 public derivation and
 * this file's own script and PSBT serializers (verifyPsbt re-derives everything itself).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { HDKey } from '@scure/bip32';
import { type IntentContent, intentSigningMessage } from '../src/policy/intent.js';
import type { SighashTx } from '../src/psbt/sighash.js';
import {
  ACCOUNT_PATH,
  type BenchWallet,
  DESTINATIONS,
  externalScript,
  NOW,
} from './bench-wallet.js';

/** One input as the lean references need it (no parsing, no verification). */
export interface LeanInput {
  readonly witnessScript: Uint8Array;
  readonly amount: bigint;
  readonly branch: 0 | 1;
  readonly index: number;
}

/** A wire-shaped withdrawal intent (what sign_psbt carries). */
export interface WireIntent extends IntentContent {
  readonly signature: Uint8Array;
}

export interface BenchRequest {
  readonly inputs: number;
  readonly psbt: Uint8Array;
  readonly intents: readonly WireIntent[];
  readonly tx: SighashTx;
  readonly lean: readonly LeanInput[];
  /** Total bytes of the previous transactions carried. */
  readonly prevTxBytes: number;
}

/** Change index of every bench transaction (inside the policy's window). */
export const CHANGE_INDEX = 7;
/** Sequence of every spending input (RBF-signalling, as the device accepts). */
const SEQUENCE = 0xfffffffd;
const LOCKTIME = 850_000;
/** Fee budget per input and fixed (sat): ~10 sat/vB at ~105 vB/input. */
const FEE_PER_INPUT = 1_100n;
const FEE_BASE = 2_000n;

// -------------------------------------------------------------------------------------------
// Byte writer

class Bytes {
  private readonly parts: Uint8Array[] = [];
  private size = 0;
  raw(b: Uint8Array | readonly number[]): this {
    const u = b instanceof Uint8Array ? b : Uint8Array.from(b);
    this.parts.push(u);
    this.size += u.length;
    return this;
  }
  u32(n: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n >>> 0, true);
    return this.raw(b);
  }
  u64(n: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, n, true);
    return this.raw(b);
  }
  compact(n: number): this {
    if (n < 0xfd) return this.raw([n]);
    if (n <= 0xffff) return this.raw([0xfd, n & 255, n >>> 8]);
    return this.raw([0xfe]).u32(n);
  }
  varBytes(b: Uint8Array): this {
    return this.compact(b.length).raw(b);
  }
  done(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

interface TxIn {
  readonly txid: Uint8Array;
  readonly vout: number;
  readonly sequence: number;
}
interface TxOut {
  readonly amount: bigint;
  readonly script: Uint8Array;
}

/** Legacy serialization (txid preimage), or BIP144 with the given witness stacks. */
function serializeTx(
  ins: readonly TxIn[],
  outs: readonly TxOut[],
  locktime: number,
  witness?: readonly (readonly Uint8Array[])[],
): Uint8Array {
  const w = new Bytes().u32(2);
  if (witness !== undefined) w.raw([0, 1]);
  w.compact(ins.length);
  for (const i of ins) w.raw(i.txid).u32(i.vout).compact(0).u32(i.sequence);
  w.compact(outs.length);
  for (const o of outs) w.u64(o.amount).varBytes(o.script);
  if (witness !== undefined) {
    for (const stack of witness) {
      w.compact(stack.length);
      for (const item of stack) w.varBytes(item);
    }
  }
  return w.u32(locktime).done();
}

const dsha = (b: Uint8Array): Uint8Array => sha256(sha256(b));

// -------------------------------------------------------------------------------------------
// Wallet scripts

interface WalletScript {
  readonly witnessScript: Uint8Array;
  readonly scriptPubKey: Uint8Array;
  /** Child public keys in descriptor key order. */
  readonly pubkeys: readonly Uint8Array[];
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Per-wallet cache of branch nodes and derived scripts (the builder is not measured). */
const scriptCache = new WeakMap<BenchWallet, Map<number, WalletScript>>();
const branchCache = new WeakMap<BenchWallet, HDKey[][]>();

export function walletScript(w: BenchWallet, branch: 0 | 1, index: number): WalletScript {
  let scripts = scriptCache.get(w);
  if (scripts === undefined) {
    scripts = new Map();
    scriptCache.set(w, scripts);
  }
  const key = branch * 0x80000000 + index;
  const hit = scripts.get(key);
  if (hit !== undefined) return hit;
  let branches = branchCache.get(w);
  if (branches === undefined) {
    branches = [0, 1].map((b) => w.keys.map((k) => k.account.deriveChild(b)));
    branchCache.set(w, branches);
  }
  const nodes = branches[branch] ?? [];
  const pubkeys = nodes.map((n) => {
    const pk = n.deriveChild(index).publicKey;
    if (pk === null) throw new Error('bench/psbt-builder: no child public key');
    return pk;
  });
  const sorted = [...pubkeys].sort(compare);
  const ws = new Bytes().raw([0x52]);
  for (const pk of sorted) ws.raw([0x21]).raw(pk);
  const witnessScript = ws.raw([0x53, 0xae]).done();
  const scriptPubKey = new Bytes().raw([0x00, 0x20]).raw(sha256(witnessScript)).done();
  const made = { witnessScript, scriptPubKey, pubkeys };
  scripts.set(key, made);
  return made;
}

function derivationValue(fingerprint: Uint8Array, branch: number, index: number): Uint8Array {
  const w = new Bytes().raw(fingerprint);
  for (const p of ACCOUNT_PATH) w.u32(p);
  return w.u32(branch).u32(index).done();
}

// -------------------------------------------------------------------------------------------
// The request

function record(w: Bytes, key: Uint8Array | readonly number[], value: Uint8Array): void {
  const k = key instanceof Uint8Array ? key : Uint8Array.from(key);
  w.varBytes(k).varBytes(value);
}

function derivations(
  w: Bytes,
  wallet: BenchWallet,
  s: WalletScript,
  keyType: number,
  branch: number,
  index: number,
): void {
  wallet.keys.forEach((k, j) => {
    const pk = s.pubkeys[j];
    if (pk === undefined) throw new Error('bench/psbt-builder: missing pubkey');
    record(
      w,
      new Bytes().raw([keyType]).raw(pk).done(),
      derivationValue(k.fingerprint, branch, index),
    );
  });
}

/** The deposit that funded input `i`: one foreign input, our output at `vout`, sender change. */
function parentTx(our: TxOut, i: number): { bytes: Uint8Array; txid: Uint8Array; vout: number } {
  const vout = i % 2;
  const change: TxOut = { amount: 50_000n + BigInt(i), script: externalScript(3_000_000 + i) };
  const outs = vout === 0 ? [our, change] : [change, our];
  const ins: TxIn[] = [
    {
      txid: sha256(Uint8Array.of(0xde, i >>> 16, (i >>> 8) & 255, i & 255)),
      vout: 1,
      sequence: 0xfffffffe,
    },
  ];
  const sig = new Uint8Array(72).fill(0x30);
  const pub = new Uint8Array(33).fill(0x02);
  return {
    bytes: serializeTx(ins, outs, 0, [[sig, pub]]),
    txid: dsha(serializeTx(ins, outs, 0)),
    vout,
  };
}

/** A valid sign_psbt request with `n` inputs (receive indices 0..n-1) for the bench wallet. */
export function buildBenchRequest(wallet: BenchWallet, n: number): BenchRequest {
  if (!Number.isSafeInteger(n) || n < 1 || n > 1000) {
    throw new Error(`bench/psbt-builder: expected 1..1000 inputs, got ${String(n)}`);
  }
  const parents: { bytes: Uint8Array; txid: Uint8Array; vout: number }[] = [];
  const lean: LeanInput[] = [];
  let total = 0n;
  for (let i = 0; i < n; i++) {
    const s = walletScript(wallet, 0, i);
    const amount = 1_000_000n + BigInt(i) * 1_000n;
    parents.push(parentTx({ amount, script: s.scriptPubKey }, i));
    lean.push({ witnessScript: s.witnessScript, amount, branch: 0, index: i });
    total += amount;
  }
  const fee = FEE_BASE + FEE_PER_INPUT * BigInt(n);
  const shares = [30n, 20n, 10n];
  const external: TxOut[] = DESTINATIONS.map((script, j) => ({
    script,
    amount: (total * (shares[j] ?? 0n)) / 100n,
  }));
  const change = walletScript(wallet, 1, CHANGE_INDEX);
  const changeAmount = total - fee - external.reduce((a, o) => a + o.amount, 0n);
  const outs: TxOut[] = [...external, { amount: changeAmount, script: change.scriptPubKey }];
  const ins: TxIn[] = parents.map((p) => ({ txid: p.txid, vout: p.vout, sequence: SEQUENCE }));

  const w = new Bytes().raw([0x70, 0x73, 0x62, 0x74, 0xff]);
  record(w, [0x00], serializeTx(ins, outs, LOCKTIME));
  w.raw([0]);
  parents.forEach((p, i) => {
    const li = lean[i];
    if (li === undefined) throw new Error('bench/psbt-builder: missing input');
    const s = walletScript(wallet, 0, i);
    record(w, [0x00], p.bytes);
    record(w, [0x01], new Bytes().u64(li.amount).varBytes(s.scriptPubKey).done());
    record(w, [0x05], s.witnessScript);
    derivations(w, wallet, s, 0x06, 0, i);
    w.raw([0]);
  });
  for (const _ of external) w.raw([0]);
  record(w, [0x01], change.witnessScript);
  derivations(w, wallet, change, 0x02, 1, CHANGE_INDEX);
  w.raw([0]);

  const intents: WireIntent[] = external.map((o, j) => {
    const content: IntentContent = {
      withdrawalId: `wd-${n}-${j}`,
      scriptPubKey: new Uint8Array(o.script),
      amount: o.amount,
      expiresAt: NOW + 3_600,
    };
    return {
      ...content,
      signature: ed25519.sign(intentSigningMessage(content), wallet.intentSecret),
    };
  });
  return Object.freeze({
    inputs: n,
    psbt: w.done(),
    intents: Object.freeze(intents),
    tx: {
      version: 2,
      locktime: LOCKTIME,
      inputs: ins,
      outputs: outs.map((o) => ({ script: o.script, amount: o.amount })),
    },
    lean: Object.freeze(lean),
    prevTxBytes: parents.reduce((a, p) => a + p.bytes.length, 0),
  });
}

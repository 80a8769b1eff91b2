/**
 * Test fixtures for verify-psbt: a realistic 2-of-3 P2WSH wallet from three fixed test seeds (the
 * device is key 0), a funding transaction, a valid PSBT built with @scure/btc-signer, and a raw
 * editor (decode → mutate → encode) so each attack changes exactly what it names.
 */
import { HDKey } from '@scure/bip32';
import { p2ms, p2wsh, Transaction } from '@scure/btc-signer';
import {
  compareBytes,
  descriptorChecksum,
  type Network,
  parseDescriptor,
  type WalletDescriptor,
} from '../../src/psbt/descriptor.js';
import { DEFAULT_PSBT_LIMITS, DEFAULT_TX_RULES } from '../../src/psbt/limits.js';
import { dsha256, prescanPsbt } from '../../src/psbt/parse-psbt.js';
import type { VerifyContext } from '../../src/psbt/verify-psbt.js';

export const H = 0x80000000;
const TEST_VERSIONS = { private: 0x04358394, public: 0x043587cf };

export interface Cosigner {
  readonly account: HDKey;
  readonly fingerprint: Uint8Array;
  readonly fpNumber: number;
  readonly xpub: string;
  readonly coin: number;
}

/** A cosigner from a fixed 32-byte seed (every byte `seedByte`). Test keys only. */
export function cosigner(seedByte: number, network: Network = 'testnet'): Cosigner {
  const coin = network === 'mainnet' ? 0 : 1;
  const master = HDKey.fromMasterSeed(
    new Uint8Array(32).fill(seedByte),
    network === 'mainnet' ? undefined : TEST_VERSIONS,
  );
  const account = master.derive(`m/48'/${coin}'/0'/2'`);
  const fp = master.fingerprint;
  const fingerprint = new Uint8Array([fp >>> 24, (fp >>> 16) & 255, (fp >>> 8) & 255, fp & 255]);
  return { account, fingerprint, fpNumber: fp, xpub: account.publicExtendedKey, coin };
}

export const KEYS = Object.freeze([cosigner(1), cosigner(2), cosigner(3)]);
/** A key from no one in the wallet: for foreign scripts and swapped cosigners. */
export const STRANGER = cosigner(4);

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

export function descriptorText(keys: readonly Cosigner[]): string {
  const body = `wsh(sortedmulti(2,${keys
    .map((k) => `[${hex(k.fingerprint)}/48'/${k.coin}'/0'/2']${k.xpub}/<0;1>/*`)
    .join(',')}))`;
  return `${body}#${descriptorChecksum(body)}`;
}

export function makeWallet(keys: readonly Cosigner[] = KEYS, network: Network = 'testnet') {
  return parseDescriptor(descriptorText(keys), network);
}

export const originPath = (coin = 1): number[] => [48 + H, coin + H, H, 2 + H];

/** Child public keys in key order, and the P2WSH script from btc-signer (independent of ours). */
export function walletScript(keys: readonly Cosigner[], branch: number, index: number) {
  const pubkeys = keys.map((k) => {
    const pk = k.account.deriveChild(branch).deriveChild(index).publicKey;
    if (pk === null) throw new Error('no public key');
    return pk;
  });
  const sorted = [...pubkeys].sort(compareBytes);
  const pay = p2wsh(p2ms(2, sorted));
  if (pay.witnessScript === undefined) throw new Error('no witness script');
  return { pubkeys, witnessScript: pay.witnessScript, script: pay.script };
}

export function bip32Value(fp: Uint8Array, path: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * path.length);
  out.set(fp, 0);
  const dv = new DataView(out.buffer);
  path.forEach((p, i) => {
    dv.setUint32(4 + 4 * i, p >>> 0, true);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Raw transactions and the PSBT editor

export interface EditInput {
  txid: Uint8Array;
  vout: number;
  sequence: number;
}
export interface EditOutput {
  amount: bigint;
  script: Uint8Array;
}
export interface EditTx {
  version: number;
  locktime: number;
  inputs: EditInput[];
  outputs: EditOutput[];
}
export interface Entry {
  key: Uint8Array;
  value: Uint8Array;
}
export interface EditablePsbt {
  global: Entry[];
  tx: EditTx;
  inputs: Entry[][];
  outputs: Entry[][];
}

const cs = (n: number): number[] =>
  n < 0xfd
    ? [n]
    : n <= 0xffff
      ? [0xfd, n & 255, n >>> 8]
      : [0xfe, n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];
const u32 = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
const u64 = (n: bigint): number[] =>
  Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(8 * i)) & 255n));

/** Serializes a transaction; with `witness`, BIP144 form with one 1-byte item per input. */
export function serializeTx(tx: EditTx, witness = false): Uint8Array {
  const b: number[] = [...u32(tx.version)];
  if (witness) b.push(0, 1);
  b.push(...cs(tx.inputs.length));
  for (const i of tx.inputs) b.push(...i.txid, ...u32(i.vout), 0, ...u32(i.sequence));
  b.push(...cs(tx.outputs.length));
  for (const o of tx.outputs) b.push(...u64(o.amount), ...cs(o.script.length), ...o.script);
  if (witness) for (const _ of tx.inputs) b.push(1, 1, 0x51);
  b.push(...u32(tx.locktime));
  return Uint8Array.from(b);
}

export const txidOf = (tx: EditTx): Uint8Array => dsha256(serializeTx(tx, false));

const BIG = Object.freeze({
  ...DEFAULT_PSBT_LIMITS,
  maxPsbtBytes: 64 * 1024 * 1024,
  maxInputs: 100_000,
  maxOutputs: 100_000,
});

export function decodePsbt(bytes: Uint8Array): EditablePsbt {
  const pre = prescanPsbt(bytes, BIG);
  const entries = (m: readonly { key: Uint8Array; value: Uint8Array }[]) =>
    m.map((e) => ({ key: e.key.slice(), value: e.value.slice() }));
  return {
    global: entries(pre.global).filter((e) => !(e.key.length === 1 && e.key[0] === 0)),
    tx: {
      version: pre.tx.version,
      locktime: pre.tx.locktime,
      inputs: pre.tx.inputs.map((i) => ({
        txid: i.txid.slice(),
        vout: i.vout,
        sequence: i.sequence,
      })),
      outputs: pre.tx.outputs.map((o) => ({ amount: o.amount, script: o.script.slice() })),
    },
    inputs: pre.inputs.map(entries),
    outputs: pre.outputs.map(entries),
  };
}

export function encodePsbt(p: EditablePsbt): Uint8Array {
  const b: number[] = [0x70, 0x73, 0x62, 0x74, 0xff];
  const map = (m: Entry[]) => {
    for (const e of m) b.push(...cs(e.key.length), ...e.key, ...cs(e.value.length), ...e.value);
    b.push(0);
  };
  map([{ key: new Uint8Array([0]), value: serializeTx(p.tx) }, ...p.global]);
  p.inputs.forEach(map);
  p.outputs.forEach(map);
  return Uint8Array.from(b);
}

export function mutate(bytes: Uint8Array, edit: (p: EditablePsbt) => void): Uint8Array {
  const p = decodePsbt(bytes);
  edit(p);
  return encodePsbt(p);
}

/** Sets (replacing) or, with `value` undefined, removes every record of that whole key. */
export function setField(map: Entry[], key: number[] | Uint8Array, value?: Uint8Array): void {
  const k = Uint8Array.from(key);
  const rest = map.filter((e) => compareBytes(e.key, k) !== 0);
  map.length = 0;
  map.push(...rest);
  if (value !== undefined) map.push({ key: k, value });
}
export const findField = (map: Entry[], type: number): Entry | undefined =>
  map.find((e) => e.key[0] === type);

// ---------------------------------------------------------------------------------------------
// The valid PSBT

export interface BuildOptions {
  /** Receive indices of the inputs' funding outputs (one input each). */
  inputIndices?: number[];
  inputAmount?: bigint;
  external?: EditOutput[];
  /** Change output, or null for none. */
  change?: { index: number; amount: bigint } | null;
  /** Keys whose wallet funds input 0 (a foreign wallet when they differ from KEYS). */
  input0Keys?: readonly Cosigner[];
  locktime?: number;
  sequence?: number;
  keys?: readonly Cosigner[];
}

export const EXTERNAL_P2WPKH = Uint8Array.from([0x00, 0x14, ...new Uint8Array(20).fill(0x11)]);
export const EXTERNAL_P2TR = Uint8Array.from([0x51, 0x20, ...new Uint8Array(32).fill(0x22)]);

export interface Built {
  psbt: Uint8Array;
  funding: Uint8Array;
  fundingTx: EditTx;
  /** Per input: amount, witness script, the device's own child pubkey. */
  inputs: { amount: bigint; witnessScript: Uint8Array; script: Uint8Array; index: number }[];
}

export function buildPsbt(o: BuildOptions = {}): Built {
  const keys = o.keys ?? KEYS;
  const indices = o.inputIndices ?? [0, 1, 2];
  const amount = o.inputAmount ?? 1_000_000n;
  const external = o.external ?? [
    { amount: 1_200_000n, script: EXTERNAL_P2WPKH },
    { amount: 300_000n, script: EXTERNAL_P2TR },
  ];
  const change = o.change === undefined ? { index: 5, amount: 1_490_000n } : o.change;
  const coins = indices.map((index, i) => {
    const k = i === 0 && o.input0Keys !== undefined ? o.input0Keys : keys;
    return { index, keys: k, ...walletScript(k, 0, index) };
  });
  const fundingTx: EditTx = {
    version: 2,
    locktime: 0,
    inputs: [{ txid: new Uint8Array(32).fill(0xaa), vout: 7, sequence: 0xffffffff }],
    outputs: coins.map((c) => ({ amount, script: c.script })),
  };
  const funding = serializeTx(fundingTx, true);
  const fundingId = txidOf(fundingTx);
  const tx = new Transaction({ version: 2, lockTime: o.locktime ?? 0, allowUnknownOutputs: true });
  coins.forEach((c, vout) => {
    tx.addInput({
      txid: fundingId.slice().reverse(),
      index: vout,
      sequence: o.sequence ?? 0xfffffffd,
      nonWitnessUtxo: funding,
      witnessUtxo: { script: c.script, amount },
      witnessScript: c.witnessScript,
      bip32Derivation: c.keys.map((k, j) => [
        c.pubkeys[j] as Uint8Array,
        { fingerprint: k.fpNumber, path: [...originPath(k.coin), 0, c.index] },
      ]),
    });
  });
  for (const e of external) tx.addOutput({ script: e.script, amount: e.amount });
  if (change !== null) {
    const c = walletScript(keys, 1, change.index);
    tx.addOutput({
      script: c.script,
      amount: change.amount,
      witnessScript: c.witnessScript,
      bip32Derivation: keys.map((k, j) => [
        c.pubkeys[j] as Uint8Array,
        { fingerprint: k.fpNumber, path: [...originPath(k.coin), 1, change.index] },
      ]),
    });
  }
  return {
    psbt: tx.toPSBT(0),
    funding,
    fundingTx,
    inputs: coins.map((c) => ({
      amount,
      witnessScript: c.witnessScript,
      script: c.script,
      index: c.index,
    })),
  };
}

export function makeContext(over: Partial<VerifyContext> = {}): VerifyContext {
  const wallet: WalletDescriptor = over.wallet ?? makeWallet();
  return {
    wallet,
    network: wallet.network,
    ownKeyIndex: 0,
    changeWindow: { from: 0, size: 20 },
    limits: DEFAULT_PSBT_LIMITS,
    txRules: { ...DEFAULT_TX_RULES, maxLocktime: 900_000 },
    ...over,
  };
}

/**
 * Vault benchmark: select coins for, and build the PSBT of, one transaction batching 100 and 500
 * withdrawals out of a UTXO set of 100 000 (target: under 1 s for 500), then verify two sets of
 * signatures and finalize it. Prints the figures with the conditions they were taken under.
 *
 *   cd packages/coordinator && npx tsx bench/vault.bench.ts
 */
import { cpus, platform, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dsha256 } from '@keyline/signer-device/wallet';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { HDKey } from '@scure/bip32';
import { RawTx, SigHash, Transaction } from '@scure/btc-signer';
import { buildPsbt } from '../src/vault/build-psbt.js';
import { selectCoins } from '../src/vault/coin-selection.js';
import { finalizeTransaction } from '../src/vault/finalize.js';
import type { Payment, SpendableUtxo } from '../src/vault/plan.js';
import { buildWallet, deriveAddress, walletFromDescriptor } from '../src/vault/wallet.js';

const UTXOS = 100_000;
const OUTPUTS_PER_PARENT = 10;
const ADDRESSES = 2_000;
const FEERATE = 5_000n; // sat/kvB
const TIP = 10_000;
const RUNS = 5;

const TEST_VERSIONS = { private: 0x04358394, public: 0x043587cf };
const masters = [1, 2, 3].map((b) =>
  HDKey.fromMasterSeed(new Uint8Array(32).fill(b), TEST_VERSIONS),
);
const accounts = masters.map((m) => m.derive("m/48'/1'/0'/2'"));
const wallet = buildWallet(
  masters.map((m, i) => ({
    fingerprint: Uint8Array.from([
      m.fingerprint >>> 24,
      (m.fingerprint >>> 16) & 255,
      (m.fingerprint >>> 8) & 255,
      m.fingerprint & 255,
    ]),
    path: "m/48'/1'/0'/2'",
    xpub: accounts[i]?.publicExtendedKey ?? '',
  })),
  'regtest',
);

/** Deterministic pseudo-random numbers (xorshift32). */
let seed = 0x9e3779b9;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x100000000;
}

const ms = (t0: number) => performance.now() - t0;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

// --- The UTXO set -------------------------------------------------------------------------------
let t = performance.now();
const addrs = Array.from({ length: ADDRESSES }, (_, i) =>
  deriveAddress(wallet, i % 10 === 0 ? 1 : 0, i),
);
const deriveMs = ms(t);

t = performance.now();
const prev = new Map<string, Uint8Array>();
const utxos: SpendableUtxo[] = [];
for (let p = 0; p < UTXOS / OUTPUTS_PER_PARENT; p++) {
  const outs = Array.from({ length: OUTPUTS_PER_PARENT }, () => {
    const a = addrs[Math.floor(rand() * ADDRESSES)] ?? addrs[0];
    if (a === undefined) throw new Error('no address');
    return { a, amount: BigInt(10_000 + Math.floor(rand() * 5_000_000)) };
  });
  const tx = {
    version: 2,
    inputs: [
      {
        txid: dsha256(Uint8Array.of(p & 255, p >> 8, p >> 16)),
        index: 0,
        finalScriptSig: new Uint8Array(0),
        sequence: 0xffffffff,
      },
    ],
    outputs: outs.map((o) => ({ script: o.a.script, amount: o.amount })),
    lockTime: 0,
  };
  const raw = RawTx.encode({ ...tx, segwitFlag: false, witnesses: undefined });
  const txid = bytesToHex(dsha256(raw).reverse());
  prev.set(txid, raw);
  const height = rand() < 0.05 ? null : TIP - Math.floor(rand() * 1000);
  outs.forEach((o, vout) => {
    utxos.push({
      txid,
      vout,
      value: o.amount,
      height,
      branch: o.a.branch,
      index: o.a.index,
      script: o.a.script,
    });
  });
}
const setMs = ms(t);

const kinds = [
  Uint8Array.from([0x00, 0x14, ...new Uint8Array(20).fill(0x11)]),
  Uint8Array.from([0x51, 0x20, ...new Uint8Array(32).fill(0x22)]),
  Uint8Array.from([0xa9, 0x14, ...new Uint8Array(20).fill(0x44), 0x87]),
];
const withdrawals = (n: number): Payment[] =>
  Array.from({ length: n }, (_, i) => ({
    withdrawalId: `w-${i}`,
    scriptPubKey: kinds[i % kinds.length] as Uint8Array,
    amount: BigInt(20_000 + ((i * 7919) % 2_000_000)),
  }));

/** Two cosigners' signatures for every input (what two devices return), made outside the timing. */
function sign(psbt: Uint8Array, plan: ReturnType<typeof selectCoins>, k: number) {
  const tx = Transaction.fromPSBT(psbt);
  return plan.inputs.map((u, i) => {
    const a = deriveAddress(wallet, u.branch, u.index);
    const digest = tx.preimageWitnessV0(i, a.witnessScript, SigHash.ALL, u.value);
    const child = accounts[k]?.deriveChild(u.branch).deriveChild(u.index);
    if (child?.privateKey == null || child.publicKey == null) throw new Error('key');
    const der = secp256k1.sign(digest, child.privateKey, {
      prehash: false,
      lowS: true,
      format: 'der',
    });
    return { input: i, pubkey: child.publicKey, signature: Uint8Array.from([...der, 1]) };
  });
}

console.log('# vault bench');
console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${platform()}`,
);
console.log(`node ${process.version}; runs per figure: ${RUNS} (median, min)`);
console.log(
  `UTXO set: ${UTXOS} UTXOs in ${UTXOS / OUTPUTS_PER_PARENT} previous txs of ${OUTPUTS_PER_PARENT} outputs, ${ADDRESSES} addresses (10% change), 10 000..5 010 000 sat, 5% unconfirmed; feerate ${FEERATE} sat/kvB`,
);
console.log(
  `setup: derive ${ADDRESSES} addresses ${deriveMs.toFixed(0)} ms, build the set ${setMs.toFixed(0)} ms`,
);
console.log('');
console.log(
  '| withdrawals | inputs | select (ms) | build, cold cache (ms) | select + build (ms) | PSBT bytes | vsize (vB) | fee (sat) | verify 2 replies + finalize (ms) |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const n of [100, 500]) {
  const w = withdrawals(n);
  const sel: number[] = [];
  const bld: number[] = [];
  const tot: number[] = [];
  let last:
    | { plan: ReturnType<typeof selectCoins>; built: ReturnType<typeof buildPsbt> }
    | undefined;
  for (let r = 0; r < RUNS; r++) {
    // A fresh wallet object each run: the device library's derivation cache starts empty.
    const fresh = walletFromDescriptor(wallet.descriptor, 'regtest');
    const t0 = performance.now();
    const plan = selectCoins({
      utxos,
      withdrawals: w,
      feerateSatPerKvB: FEERATE,
      tipHeight: TIP,
      limits: { maxOutputs: 501, maxInputs: 1000 },
    });
    const t1 = performance.now();
    const built = buildPsbt({
      wallet: fresh,
      plan,
      changeIndex: plan.change === null ? null : 1,
      prevTxs: prev,
    });
    const t2 = performance.now();
    sel.push(t1 - t0);
    bld.push(t2 - t1);
    tot.push(t2 - t0);
    last = { plan, built };
  }
  if (last === undefined) throw new Error('no run');
  const replies = [
    { deviceId: 'signer-a', signatures: sign(last.built.psbt, last.plan, 0) },
    { deviceId: 'signer-c', signatures: sign(last.built.psbt, last.plan, 2) },
  ];
  const t3 = performance.now();
  const final = finalizeTransaction(wallet, last.built.psbt, replies);
  const finMs = ms(t3);
  if (final.txid !== last.built.summary.txid) throw new Error('txid changed');
  const f = (xs: number[]) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)})`;
  console.log(
    `| ${last.plan.payments.length} | ${last.plan.inputs.length} | ${f(sel)} | ${f(bld)} | ${f(tot)} | ${last.built.psbt.length} | ${last.plan.vsize} | ${last.plan.fee} | ${finMs.toFixed(0)} |`,
  );
}

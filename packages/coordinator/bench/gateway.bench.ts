/**
 * Gateway benchmark: the watch index at 1,000,000 P2WSH scripts (build time, memory, lookup
 * cost) and one block of 4,000 transactions / 10,000 outputs scanned against it (target: the
 * scan under 100 ms). Decoding raw bytes and checking the block's shape are timed apart: the
 * backend decodes, the follower checks, the scan is what this module adds.
 *
 * Run: cd packages/coordinator && npx tsx bench/gateway.bench.ts
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { RawTx, Transaction } from '@scure/btc-signer';
import type { ChainBlock, ChainTransaction } from '../src/chain/interface.js';
import { checkBlock } from '../src/gateway/chain-data.js';
import { OutpointIndex, ScriptIndex, scanBlock } from '../src/gateway/index.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const WATCHED = 1_000_000;
const TXS = 4_000;
const OUTPUTS = 10_000;
const DEPOSITS = 200; // outputs of the block paying watched scripts
const OUR_UTXOS = 50_000;
const SPENDS = 100; // inputs of the block spending our outpoints
const RUNS = 30;

const MB = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const ms = (x: number) => `${x.toFixed(2)} ms`;
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}
function memory() {
  gc();
  gc();
  return process.memoryUsage();
}

function p2wsh(hash: Uint8Array): Uint8Array {
  const s = new Uint8Array(34);
  s[1] = 32;
  s.set(hash, 2);
  return s;
}

console.log('# gateway benchmark');
console.log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, ${MB(os.totalmem())} RAM, ${os.platform()} ${os.arch()}; node ${process.version}; load avg ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(
  `sizes: ${WATCHED} watched P2WSH scripts (34 B), block of ${TXS} txs / ${OUTPUTS} outputs, ${DEPOSITS} deposits, ${SPENDS} spends of ${OUR_UTXOS} indexed UTXOs`,
);

// ---- 1. watch index -------------------------------------------------------------------------
const pool = randomBytes(32 * WATCHED);
const scripts: Uint8Array[] = new Array(WATCHED);
for (let i = 0; i < WATCHED; i++) scripts[i] = p2wsh(pool.subarray(i * 32, i * 32 + 32));
const owners: string[] = new Array(WATCHED);
for (let i = 0; i < WATCHED; i++) owners[i] = `addr-${i}`;

const m0 = memory();
let t = performance.now();
const index = new ScriptIndex();
for (let i = 0; i < WATCHED; i++) index.add(scripts[i] as Uint8Array, owners[i] as string);
const buildMs = performance.now() - t;
const m1 = memory();
console.log('\n## watch index');
console.log(
  `build: ${ms(buildMs)} for ${index.size} scripts (${((buildMs * 1e6) / WATCHED).toFixed(0)} ns/add, validation included)`,
);
console.log(
  `memory: heapUsed +${MB(m1.heapUsed - m0.heapUsed)}, rss +${MB(m1.rss - m0.rss)} (${((m1.heapUsed - m0.heapUsed) / WATCHED).toFixed(0)} B/script; owner strings not counted, they existed before)`,
);

const hits = Array.from({ length: 100_000 }, (_, i) => scripts[(i * 7919) % WATCHED] as Uint8Array);
const misses = Array.from({ length: 100_000 }, () => p2wsh(randomBytes(32)));
for (let r = 0; r < 3; r++) for (const s of hits) index.lookup(s); // warm up
const lookupNs = (set: Uint8Array[]) => {
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    let n = 0;
    for (const s of set) if (index.lookup(s) !== undefined) n++;
    times.push(((performance.now() - t0) * 1e6) / set.length);
    if (n < 0) console.log(n);
  }
  return median(times);
};
console.log(
  `lookup: hit ${lookupNs(hits).toFixed(0)} ns, miss ${lookupNs(misses).toFixed(0)} ns (median of 5 × 100,000)`,
);

// ---- 2. one big block -----------------------------------------------------------------------
const outpoints = new OutpointIndex();
const ourTxids: string[] = [];
for (let i = 0; i < OUR_UTXOS; i++) {
  const txid = bytesToHex(sha256(new TextEncoder().encode(`utxo-${i}`)));
  ourTxids.push(txid);
  outpoints.add({
    txid,
    vout: 0,
    value: 10_000n,
    scriptPubKey: scripts[i] as Uint8Array,
    owner: owners[i] as string,
    coinbase: false,
  });
}

const OPTS = { allowUnknownInputs: true, allowUnknownOutputs: true, disableScriptCheck: true };
t = performance.now();
const raws: Uint8Array[] = [];
// The coinbase has one output; the first `threeOut` transactions three, the others two.
const threeOut = OUTPUTS - 1 - 2 * (TXS - 1);
let deposits = 0;
let spends = 0;
let outputIndex = 0;
for (let i = 1; i < TXS; i++) {
  const tx = new Transaction(OPTS);
  const nOut = i <= threeOut ? 3 : 2;
  for (let k = 0; k < nOut; k++) {
    outputIndex++;
    const ours = deposits < DEPOSITS && (outputIndex - 1) % Math.floor(OUTPUTS / DEPOSITS) === 0;
    if (ours) deposits++;
    const script = ours ? (scripts[(i * 131 + k) % WATCHED] as Uint8Array) : p2wsh(randomBytes(32));
    tx.addOutput({ script, amount: BigInt(1_000 + i) });
  }
  tx.addInput({ txid: bytesToHex(randomBytes(32)), index: 0 });
  if (spends < SPENDS && (i - 1) % Math.floor(TXS / SPENDS) === 0) {
    tx.addInput({ txid: ourTxids[spends * 97] as string, index: 0 });
    spends++;
  } else {
    tx.addInput({ txid: bytesToHex(randomBytes(32)), index: 1 });
  }
  for (let k = 0; k < tx.inputsLength; k++) {
    tx.updateInput(k, { finalScriptWitness: [randomBytes(72), randomBytes(33)] }, true);
  }
  raws.push(tx.toBytes(true, true));
}
const cbTx = new Transaction(OPTS);
cbTx.addOutput({ script: p2wsh(randomBytes(32)), amount: 312_500_000n });
cbTx.addInput({
  txid: '00'.repeat(32),
  index: 0xffffffff,
  finalScriptSig: new Uint8Array([3, 1, 2, 3]),
});
raws.unshift(cbTx.toBytes(true, true));
const buildBlockMs = performance.now() - t;
const rawBytes = raws.reduce((a, r) => a + r.length, 0);

// Decode, as a backend does: raw → ChainTransaction (RawTx + txid).
function decode(raw: Uint8Array): ChainTransaction {
  const d = RawTx.decode(raw);
  const txid = bytesToHex(
    sha256(sha256(RawTx.encode({ ...d, segwitFlag: false, witnesses: undefined }))).reverse(),
  );
  const coinbase = d.inputs.length === 1 && d.inputs[0]?.index === 0xffffffff;
  return {
    txid,
    inputs: d.inputs.map((x) => ({
      txid: bytesToHex(x.txid),
      vout: x.index,
      sequence: x.sequence,
      coinbase,
    })),
    outputs: d.outputs.map((o) => ({ value: o.amount, scriptPubKey: o.script })),
    raw,
  };
}
const decodeTimes: number[] = [];
let transactions: ChainTransaction[] = [];
for (let r = 0; r < 5; r++) {
  const t0 = performance.now();
  transactions = raws.map(decode);
  decodeTimes.push(performance.now() - t0);
}
const block: ChainBlock = {
  hash: 'ab'.repeat(32),
  height: 900_000,
  previousHash: 'cd'.repeat(32),
  time: 1_750_000_000,
  transactions,
};
const nOutputs = transactions.reduce((a, x) => a + x.outputs.length, 0);
const nInputs = transactions.reduce((a, x) => a + x.inputs.length, 0);

const checkTimes: number[] = [];
for (let r = 0; r < 5; r++) {
  const t0 = performance.now();
  checkBlock('bench', block, { hash: block.hash, height: block.height });
  checkTimes.push(performance.now() - t0);
}

const scanTimes: number[] = [];
let effects = scanBlock(block, { scripts: index, outpoints });
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  effects = scanBlock(block, { scripts: index, outpoints });
  scanTimes.push(performance.now() - t0);
}

console.log('\n## one block');
console.log(
  `block: ${transactions.length} txs, ${nInputs} inputs, ${nOutputs} outputs, ${MB(rawBytes)} raw (built in ${ms(buildBlockMs)})`,
);
console.log(
  `decode raw → ChainTransaction (RawTx + txid, backend side): median ${ms(median(decodeTimes))} of 5`,
);
console.log(
  `checkBlock (zod shape + identity, follower side): median ${ms(median(checkTimes))} of 5`,
);
console.log(
  `scanBlock against ${index.size} scripts + ${outpoints.size} outpoints: median ${ms(median(scanTimes))}, max ${ms(Math.max(...scanTimes))} of ${RUNS} (first run not counted)`,
);
console.log(
  `found: ${effects.received.length} received (expected ${deposits}), ${effects.spent.length} spent (expected ${spends})`,
);
console.log(
  `target scan < 100 ms: ${median(scanTimes) < 100 ? 'met' : 'NOT met'} (median); scan + check ${ms(median(scanTimes) + median(checkTimes))}`,
);

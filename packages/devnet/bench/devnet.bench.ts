/**
 * Benchmark: the devnet validating a 2-of-3 P2WSH spend with 100 and with 500 inputs.
 * Prints, per size: the full mempool acceptance (testmempoolaccept path, cold script cache), the
 * script checks alone, and their two parts — BIP143 digests from @scure/btc-signer's
 * preimageWitnessV0 and the libsecp256k1 ECDSA verifications — with the machine and sizes.
 * Run: pnpm --filter @keyline/devnet bench
 */
import { cpus, totalmem } from 'node:os';
import { concatBytes } from '@noble/hashes/utils.js';
import { Transaction } from '@scure/btc-signer';
import * as tiny from 'tiny-secp256k1';
import { checkInputScripts } from '../src/chain/input-checks.js';
import { makeTx, type Tx } from '../src/consensus/tx.js';
import { STANDARD_FLAGS } from '../src/script/flags.js';
import { compactToDer, derToCompact } from '../src/script/signature-encoding.js';
import {
  fund,
  fundedNode,
  key,
  p2wpkhScript,
  sortedMultisig,
  spendP2wpkh,
  type Utxo,
} from '../test/helpers/chain.js';

const SIZES = [100, 500];
const RUNS = 5;
const AMOUNT = 100_000n;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

const view = (tx: Tx): Transaction =>
  Transaction.fromRaw(tx.raw, {
    allowUnknownOutputs: true,
    allowUnknownInputs: true,
    disableScriptCheck: true,
  });

function buildSpend(
  utxos: readonly Utxo[],
  ms: ReturnType<typeof sortedMultisig>,
  dest: Uint8Array,
  salt: bigint,
): Tx {
  const fee = 200n * BigInt(utxos.length);
  const tx = makeTx({
    version: 2,
    lockTime: 0,
    inputs: utxos.map((u) => ({
      prevTxid: u.txid,
      vout: u.vout,
      scriptSig: new Uint8Array(0),
      sequence: 0xfffffffd,
      witness: [],
    })),
    outputs: [{ value: AMOUNT * BigInt(utxos.length) - fee - salt, script: dest }],
  });
  const v = view(tx);
  const signers = ms.keys.slice(0, 2);
  return makeTx({
    version: tx.version,
    lockTime: tx.lockTime,
    outputs: tx.outputs,
    inputs: tx.inputs.map((input, i) => {
      const digest = v.preimageWitnessV0(i, ms.witnessScript, 1, AMOUNT);
      const sigs = signers.map((k) =>
        concatBytes(compactToDer(tiny.sign(digest, k.privateKey)), Uint8Array.of(1)),
      );
      return { ...input, witness: [new Uint8Array(0), ...sigs, ms.witnessScript] };
    }),
  });
}

function benchSize(n: number): void {
  const node = fundedNode({ minRelayFeeSatPerKvB: 1000n });
  node.mine(5);
  const ms = sortedMultisig(2, [key('bench-a'), key('bench-b'), key('bench-c')]);
  const funder = key('bench-funder');
  const seed = fund(node, p2wpkhScript(funder.publicKey), AMOUNT * BigInt(n) + 1_000_000n);
  const fanout = spendP2wpkh(
    funder,
    [seed],
    Array.from({ length: n }, () => ({ value: AMOUNT, script: ms.script })),
  );
  node.submit(fanout.raw);
  node.mine(1);
  const utxos: Utxo[] = Array.from({ length: n }, (_, vout) => ({
    txid: fanout.txid,
    vout,
    value: AMOUNT,
    script: ms.script,
  }));
  const dest = p2wpkhScript(key('bench-dest').publicKey);
  const coins = utxos.map((u) => ({
    value: u.value,
    script: u.script,
    height: 0,
    coinbase: false,
  }));

  const accepts: number[] = [];
  let sample: Tx | null = null;
  for (let r = 0; r < RUNS; r++) {
    const tx = buildSpend(utxos, ms, dest, BigInt(r));
    sample = tx;
    let allowed = false;
    accepts.push(
      time(() => {
        allowed = node.testAccept([tx.raw])[0]?.allowed === true;
      }),
    );
    if (!allowed) throw new Error(`bench: the ${n}-input spend was not accepted`);
  }
  const tx = sample as Tx;
  const scripts = Array.from({ length: RUNS }, () =>
    time(() => {
      if (checkInputScripts(tx, coins, STANDARD_FLAGS) !== null)
        throw new Error('bench: scripts failed');
    }),
  );
  const digests = Array.from({ length: RUNS }, () => {
    const v = view(tx);
    return time(() => {
      for (let i = 0; i < n; i++) v.preimageWitnessV0(i, ms.witnessScript, 1, AMOUNT);
    });
  });
  const v = view(tx);
  const d0 = v.preimageWitnessV0(0, ms.witnessScript, 1, AMOUNT);
  const firstSig = tx.inputs[0]?.witness[1] ?? new Uint8Array(0);
  const sig = derToCompact(firstSig.subarray(0, -1)) as Uint8Array;
  const pub = ms.keys[0]?.publicKey as Uint8Array;
  const verifies = Array.from({ length: RUNS }, () =>
    time(() => {
      for (let i = 0; i < 2 * n; i++) tiny.verify(d0, pub, sig, false);
    }),
  );
  const ms2 = (x: number): string => x.toFixed(1).padStart(8);
  process.stdout.write(
    `${String(n).padStart(4)} inputs | vsize ${tx.vsize} vB, weight ${tx.weight} WU, ${tx.size} B | ` +
      `accept (cold) median ${ms2(median(accepts))} ms [${accepts.map((x) => x.toFixed(0)).join(', ')}] | ` +
      `scripts ${ms2(median(scripts))} ms | digests ${ms2(median(digests))} ms (${(median(digests) / n).toFixed(3)} ms/input) | ` +
      `${2 * n} ECDSA verifies ${ms2(median(verifies))} ms\n`,
  );
}

process.stdout.write(
  `devnet validation benchmark — node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}, ` +
    `${Math.round(totalmem() / 2 ** 30)} GiB, ${RUNS} runs per figure (median), 2-of-3 P2WSH, SIGHASH_ALL, ` +
    'digests: @scure/btc-signer 2.4.1 preimageWitnessV0, verify: tiny-secp256k1 2.2.4 (libsecp256k1 WASM)\n',
);
for (const n of SIZES) benchSize(n);

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCoinbase } from '../src/chain/miner.js';
import {
  decodeHeader,
  encodeHeader,
  headerHashInternal,
  makeBlock,
} from '../src/consensus/block.js';
import { blockMerkleRoot } from '../src/consensus/merkle.js';
import { CONSENSUS } from '../src/consensus/params.js';
import { checkProofOfWork } from '../src/consensus/pow.js';
import { decodeTx } from '../src/consensus/tx.js';
import { isDevnetError } from '../src/errors.js';
import type { DevnetNode } from '../src/node.js';
import { DataFileSchema, loadNode, writeAtomic } from '../src/persistence.js';
import { startDevnet } from '../src/start.js';
import {
  fund,
  key,
  p2wpkhScript,
  START_MS,
  sortedMultisig,
  spendMultisig,
  withWitnesses,
} from './helpers/chain.js';

const ms = sortedMultisig(2, [key('p-a'), key('p-b'), key('p-c')]);
const dest = p2wpkhScript(key('p-dest').publicKey);

function state(node: DevnetNode) {
  return {
    tip: node.tip(),
    utxos: [...node.chainstate.utxos()]
      .map(([k, c]) => `${k}=${c.value}/${c.height}/${c.coinbase}`)
      .sort(),
    mempool: node.mempoolTxids(),
    balance: node.walletBalance(),
    invalid: node.chainstate.explicitlyInvalid(),
  };
}

let dir: string;
let clock: number;
const now = () => (clock += 1000);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'keyline-devnet-'));
  clock = START_MS;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('persistence', () => {
  it('restarts from the data file with the same tip, UTXO set, mempool, invalid blocks and wallet', async () => {
    const file = join(dir, 'devnet.json');
    const first = await startDevnet({ port: 0, dataFile: file, now });
    const node = first.node;
    node.mine(101);
    const utxo = fund(node, ms.script, 2_000_000n);
    node.submit(spendMultisig(ms, [utxo], [{ value: 1_990_000n, script: dest }]).raw);
    node.mine(1);
    const stale = node.mine(1)[0] as string;
    node.invalidateBlock(stale);
    node.send(node.newAddress(), 1_000_000n);
    const before = state(node);
    await first.close();

    const second = await startDevnet({ port: 0, dataFile: file, now });
    expect(state(second.node)).toEqual(before);
    expect(second.node.getBlock(stale)?.failure).toBe('failed');
    second.node.mine(1);
    expect(second.node.mempoolTxids()).toEqual([]);
    await second.close();
    expect(readdirSync(dir)).toEqual(['devnet.json']);
  });

  it('writes a file the schema accepts, atomically (no temporary file left)', async () => {
    const file = join(dir, 'state.json');
    const run = await startDevnet({ port: 0, dataFile: file, now });
    run.node.mine(3);
    await run.close();
    const parsed = DataFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    expect(parsed.blocks).toHaveLength(3);
    await writeAtomic(file, 'x');
    expect(readFileSync(file, 'utf8')).toBe('x');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('refuses a data file that is not JSON or not the schema', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"format":"something-else"}');
    await expect(loadNode(file, {})).rejects.toSatisfy((e) => isDevnetError(e, 'PERSISTENCE'));
    writeFileSync(file, 'not json');
    await expect(loadNode(file, {})).rejects.toSatisfy((e) => isDevnetError(e, 'PERSISTENCE'));
    expect(await loadNode(join(dir, 'missing.json'), {})).toBeNull();
  });

  it('re-validates blocks on load: a forged signature is refused by the commitment, or by the scripts', async () => {
    const file = join(dir, 'forged.json');
    const run = await startDevnet({ port: 0, dataFile: file, now });
    run.node.mine(101);
    const utxo = fund(run.node, ms.script, 2_000_000n);
    const spend = spendMultisig(ms, [utxo], [{ value: 1_990_000n, script: dest }]);
    run.node.submit(spend.raw);
    run.node.mine(1);
    await run.close();
    const data = DataFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    const lastIndex = data.blocks.length - 1;
    const last = data.blocks[lastIndex] as (typeof data.blocks)[number];
    const at = last.txs.indexOf(bytesToHex(spend.raw));
    expect(at).toBeGreaterThan(0);
    // One byte flipped inside a signature: the txid (and merkle root) stay, the witness root changes.
    const witness = spend.inputs[0]?.witness.map((w) => Uint8Array.from(w)) ?? [];
    const sig = witness[1] as Uint8Array;
    sig[10] = (sig[10] as number) ^ 0x01;
    const forged = withWitnesses(spend, new Map([[0, witness]]));
    last.txs[at] = bytesToHex(forged.raw);
    writeFileSync(file, JSON.stringify(data));
    await expect(loadNode(file, { now })).rejects.toThrow(/bad-witness-merkle-match/);

    // The same forgery in a block whose commitment and proof of work were redone: the scripts refuse it.
    const header = decodeHeader(hexToBytes(last.header));
    const oldCoinbase = decodeTx(hexToBytes(last.txs[0] as string));
    const others = last.txs.slice(1).map((t) => decodeTx(hexToBytes(t)));
    const coinbase = makeCoinbase(
      lastIndex + 1,
      oldCoinbase.outputs[0]?.script as Uint8Array,
      oldCoinbase.outputs[0]?.value as bigint,
      others,
    );
    let solvedHeader = { ...header, merkleRoot: blockMerkleRoot([coinbase, ...others]) };
    for (
      let nonce = 0;
      !checkProofOfWork(
        headerHashInternal(solvedHeader),
        solvedHeader.bits,
        CONSENSUS.powLimitBits,
      );
      nonce++
    ) {
      solvedHeader = { ...solvedHeader, nonce };
    }
    data.blocks[lastIndex] = {
      header: bytesToHex(encodeHeader(solvedHeader)),
      txs: [bytesToHex(coinbase.raw), ...last.txs.slice(1)],
    };
    writeFileSync(file, JSON.stringify(data));
    const reloaded = await loadNode(file, { now });
    expect(reloaded?.node.tip().height).toBe(lastIndex);
    expect(
      reloaded?.node.getBlock(makeBlock(solvedHeader, [coinbase, ...others]).hash)?.failure,
    ).toBe('failed');
  });
});

/**
 * Raw transaction and block decoding (tx-decode.ts, block-decode.ts). Public vectors: Bitcoin's
 * genesis block (mainnet and regtest headers, chainparams.cpp) and block 100 000's four txids
 * and merkle root (public chain data, any block explorer).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import { p2wpkh, RawTx, Transaction } from '@scure/btc-signer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  merkleRoot,
  parseHeader,
  serializeHeader,
  splitBlock,
} from '../../src/chain/block-decode.js';
import { decodeTransaction, txidOf } from '../../src/chain/tx-decode.js';
import { isCoordinatorError } from '../../src/errors.js';
import { txidFromBytes } from './conformance.js';
import { GENESIS_COINBASE_HEX, REGTEST_GENESIS_HASH } from './fake-chain.js';

const GENESIS_HEADER_HEX =
  '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c';
const GENESIS_HASH = '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f';
const GENESIS_MERKLE = '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b';
const GENESIS_BLOCK = hexToBytes(`${GENESIS_HEADER_HEX}01${GENESIS_COINBASE_HEX}`);

function expectBad(f: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(isCoordinatorError(caught, 'CHAIN_BAD_RESPONSE'), String(caught)).toBe(true);
  expect((caught as Error).message).toMatch(pattern);
}

describe('block header', () => {
  it('parses and hashes the mainnet genesis header', () => {
    const h = parseHeader(hexToBytes(GENESIS_HEADER_HEX));
    expect(h).toEqual({
      hash: GENESIS_HASH,
      version: 1,
      previousHash: '0'.repeat(64),
      merkleRoot: GENESIS_MERKLE,
      time: 1231006505,
      bits: '1d00ffff',
      nonce: 2083236893,
    });
    expect(bytesToHex(serializeHeader(h))).toBe(GENESIS_HEADER_HEX);
  });

  it('serializes the regtest genesis header from its fields to the known hash', () => {
    const header = serializeHeader({
      version: 1,
      previousHash: '0'.repeat(64),
      merkleRoot: GENESIS_MERKLE,
      time: 1296688602,
      bits: '207fffff',
      nonce: 2,
    });
    expect(parseHeader(header).hash).toBe(REGTEST_GENESIS_HASH);
  });

  it('round-trips any header, including a version with the top bit set', () => {
    const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex);
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        hash,
        hash,
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (version, previousHash, merkleRoot_, time, bits, nonce) => {
          const fields = {
            version,
            previousHash,
            merkleRoot: merkleRoot_,
            time,
            bits: bits.toString(16).padStart(8, '0'),
            nonce,
          };
          const { hash: _h, ...parsed } = parseHeader(serializeHeader(fields));
          expect(parsed).toEqual(fields);
        },
      ),
    );
  });
});

describe('merkle root', () => {
  it('of one transaction is its txid (genesis)', () => {
    expect(merkleRoot([GENESIS_MERKLE])).toBe(GENESIS_MERKLE);
  });

  it('matches block 100 000 (four transactions)', () => {
    expect(
      merkleRoot([
        '8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87',
        'fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4',
        '6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4',
        'e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d',
      ]),
    ).toBe('f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766');
  });
});

describe('decodeTransaction', () => {
  it('decodes the genesis coinbase: 50 BTC, coinbase input', () => {
    const tx = decodeTransaction(hexToBytes(GENESIS_COINBASE_HEX), 't');
    expect(tx.txid).toBe(GENESIS_MERKLE);
    expect(tx.inputs).toEqual([
      { txid: '0'.repeat(64), vout: 0xffff_ffff, sequence: 0xffff_ffff, coinbase: true },
    ]);
    expect(tx.outputs[0]?.value).toBe(5_000_000_000n);
    expect(tx.outputs[0]?.scriptPubKey.length).toBe(67);
  });

  it('decodes a signed segwit transaction: txid excludes the witness, raw keeps it', () => {
    const priv = new Uint8Array(32).fill(7);
    const pay = p2wpkh(secp256k1.getPublicKey(priv, true));
    const t = new Transaction({ version: 3, allowUnknownOutputs: true });
    t.addInput({
      txid: '11'.repeat(32),
      index: 1,
      witnessUtxo: { script: pay.script, amount: 100_000n },
    });
    t.addOutput({ script: pay.script, amount: 90_000n });
    t.addOutput({ script: Uint8Array.of(0x6a, 0x01, 0x02), amount: 0n });
    t.sign(priv);
    t.finalize();
    const raw = t.extract();
    const d = decodeTransaction(raw, 't');
    expect(d.txid).toBe(t.id);
    expect(d.txid).toBe(txidFromBytes(raw));
    expect(d.inputs).toEqual([
      { txid: '11'.repeat(32), vout: 1, sequence: 0xffff_ffff, coinbase: false },
    ]);
    expect(d.outputs.map((o) => o.value)).toEqual([90_000n, 0n]);
    expect(bytesToHex(d.raw)).toBe(bytesToHex(raw));
  });

  it('any well-formed transaction: txid recomputed independently, values and scripts kept', () => {
    const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
    const txArb = fc
      .record({
        version: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        inputs: fc.array(
          fc.record({
            txid: bytes(32, 32),
            index: fc.integer({ min: 0, max: 2 ** 32 - 2 }),
            finalScriptSig: bytes(0, 40),
            sequence: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        outputs: fc.array(
          fc.record({
            amount: fc.bigInt({ min: 0n, max: 2_100_000_000_000_000n }),
            script: bytes(0, 60),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        witness: fc.boolean(),
        lockTime: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      })
      .map((t) => ({
        version: t.version,
        segwitFlag: t.witness,
        inputs: t.inputs,
        outputs: t.outputs,
        witnesses: t.witness ? t.inputs.map(() => [Uint8Array.of(1, 2, 3)]) : undefined,
        lockTime: t.lockTime,
      }));
    fc.assert(
      fc.property(txArb, (tx) => {
        const raw = RawTx.encode(tx);
        const d = decodeTransaction(raw, 't');
        expect(d.txid).toBe(txidFromBytes(raw));
        expect(d.outputs.map((o) => o.value)).toEqual(tx.outputs.map((o) => o.amount));
        expect(d.outputs.map((o) => bytesToHex(o.scriptPubKey))).toEqual(
          tx.outputs.map((o) => bytesToHex(o.script)),
        );
        expect(d.inputs.map((i) => i.vout)).toEqual(tx.inputs.map((i) => i.index));
        expect(d.inputs.every((i) => !i.coinbase)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('attack: an output above 21e14 sat, or a negative int64 on the wire, is a bad response', () => {
    const withValue = (amount: bigint) =>
      RawTx.encode({
        version: 2,
        segwitFlag: false,
        inputs: [
          {
            txid: new Uint8Array(32).fill(1),
            index: 0,
            finalScriptSig: new Uint8Array(),
            sequence: 0,
          },
        ],
        outputs: [{ amount, script: Uint8Array.of(0x51) }],
        witnesses: undefined,
        lockTime: 0,
      });
    expectBad(
      () => decodeTransaction(withValue(2_100_000_000_000_001n), 'node'),
      /node: expected output 0 of .* 0\.\.21e14 sat/,
    );
    expectBad(() => decodeTransaction(withValue(2n ** 62n), 'node'), /0\.\.21e14 sat/);
    // 2^64 − 5 is −5 as Core's int64: refused whichever layer sees it first.
    expectBad(() => decodeTransaction(withValue(2n ** 64n - 5n), 'node'), /node: expected/);
  });

  it('attack: bytes of another transaction than the txid asked for are a bad response', () => {
    expectBad(
      () => decodeTransaction(hexToBytes(GENESIS_COINBASE_HEX), 'node', 'ab'.repeat(32)),
      /expected the bytes of transaction abab/,
    );
  });

  it('garbage and trailing bytes are a bad response', () => {
    expectBad(() => decodeTransaction(Uint8Array.of(1, 2, 3), 'node'), /do not parse/);
    expectBad(
      () => txidOf(concatBytes(hexToBytes(GENESIS_COINBASE_HEX), Uint8Array.of(0)), 'node'),
      /do not parse/,
    );
  });
});

describe('splitBlock', () => {
  it('splits the genesis block', () => {
    const { header, txs } = splitBlock(GENESIS_BLOCK, 't');
    expect(bytesToHex(header)).toBe(GENESIS_HEADER_HEX);
    expect(txs.map(bytesToHex)).toEqual([GENESIS_COINBASE_HEX]);
  });

  it('refuses truncated blocks, trailing bytes and impossible counts', () => {
    expectBad(
      () => splitBlock(GENESIS_BLOCK.subarray(0, GENESIS_BLOCK.length - 1), 't'),
      /do not parse/,
    );
    expectBad(() => splitBlock(concatBytes(GENESIS_BLOCK, Uint8Array.of(0)), 't'), /1 more bytes/);
    const twoTxs = concatBytes(
      hexToBytes(GENESIS_HEADER_HEX),
      Uint8Array.of(2),
      hexToBytes(GENESIS_COINBASE_HEX),
    );
    expectBad(() => splitBlock(twoTxs, 't'), /at byte/);
    const huge = concatBytes(
      hexToBytes(GENESIS_HEADER_HEX),
      Uint8Array.of(0xfe, 0xff, 0xff, 0xff, 0xff),
    );
    expectBad(
      () => splitBlock(huge, 't'),
      /expected 1\.\.0 transactions in 85 bytes, got a count of 4294967295/,
    );
    expectBad(() => splitBlock(hexToBytes(GENESIS_HEADER_HEX), 't'), /at least 81 bytes/);
  });
});

/**
 * Conformance suite for the ChainBackend interface (src/chain/interface.ts). Each runner calls
 * `registerChainConformance` with a setup that returns a backend on a regtest-like chain plus two
 * helpers: `mine(n)` (block hashes, in order) and `fund(address, sats)` (a wallet transaction
 * paying `sats` to `address`, left in the mempool; its txid). Runners: conformance-fake (fake
 * Core and fake Esplora), conformance-devnet (@keyline/devnet), conformance-bitcoind (a real
 * regtest node from BITCOIND_RPC_URL).
 *
 * The steps that depend on each other (fund → mempool → mine → confirmations) are one test, in
 * order; the others are independent.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { p2wpkh, RawTx } from '@scure/btc-signer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainBackend, ChainNetwork } from '../../src/chain/interface.js';
import { dsha256, hashToDisplayHex } from '../../src/chain/tx-decode.js';
import { isCoordinatorError } from '../../src/errors.js';

export interface ConformanceSetup {
  readonly backend: ChainBackend;
  mine(n: number): Promise<string[]>;
  fund(address: string, sats: bigint): Promise<string>;
  close(): Promise<void>;
}

export interface ConformanceOptions {
  readonly name: string;
  readonly setup: () => Promise<ConformanceSetup>;
  /** A reason to skip the whole suite (printed), or false/undefined to run it. */
  readonly skip?: string | false;
}

const NETWORKS: Readonly<
  Record<ChainNetwork, { bech32: string; pubKeyHash: number; scriptHash: number; wif: number }>
> = {
  mainnet: { bech32: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, wif: 0x80 },
  testnet: { bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef },
  signet: { bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef },
  regtest: { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef },
};
/** secp256k1's generator G, compressed — a valid key; the funds sent to it are test coins. */
const G = hexToBytes('0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798');
const UNKNOWN = 'ab'.repeat(32);

/** txid recomputed from the bytes: dsha256 of the serialization without witness. */
export function txidFromBytes(raw: Uint8Array): string {
  const tx = RawTx.decode(raw);
  return hashToDisplayHex(
    dsha256(RawTx.encode({ ...tx, segwitFlag: false, witnesses: undefined })),
  );
}

/** A well-formed transaction spending an output that does not exist. */
export function invalidTransaction(): Uint8Array {
  return RawTx.encode({
    version: 2,
    segwitFlag: false,
    inputs: [
      {
        txid: hexToBytes('cd'.repeat(32)),
        index: 7,
        finalScriptSig: Uint8Array.of(0x51),
        sequence: 0xffff_fffd,
      },
    ],
    outputs: [{ amount: 10_000n, script: Uint8Array.of(0x51) }],
    witnesses: undefined,
    lockTime: 0,
  });
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(isCoordinatorError(e), String(e)).toBe(true);
  expect((e as { code: string }).code, (e as Error).message).toBe(code);
}

export function registerChainConformance(options: ConformanceOptions): void {
  const suite = options.skip ? describe.skip : describe;
  if (options.skip) console.log(`[chain conformance] ${options.name} skipped: ${options.skip}`);
  suite(`ChainBackend conformance: ${options.name}`, () => {
    let s: ConformanceSetup;
    let b: ChainBackend;
    beforeAll(async () => {
      s = await options.setup();
      b = s.backend;
    });
    afterAll(async () => {
      await s?.close();
    });

    it('network() is a known network and stable', async () => {
      const n = await b.network();
      expect(Object.keys(NETWORKS)).toContain(n);
      expect(await b.network()).toBe(n);
    });

    it('tip, blockHash and block agree; every tx re-hashes to its txid', async () => {
      const tip = await b.tip();
      expect(tip.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(await b.blockHash(tip.height)).toBe(tip.hash);
      const block = await b.block(tip.hash);
      expect(block.hash).toBe(tip.hash);
      expect(block.height).toBe(tip.height);
      expect(block.previousHash).toBe(
        tip.height === 0 ? '0'.repeat(64) : await b.blockHash(tip.height - 1),
      );
      expect(Number.isInteger(block.time) && block.time > 0).toBe(true);
      expect(block.transactions.length).toBeGreaterThan(0);
      expect(block.transactions[0]?.inputs[0]?.coinbase).toBe(true);
      for (const [i, tx] of block.transactions.entries()) {
        expect(txidFromBytes(tx.raw)).toBe(tx.txid);
        if (i > 0) expect(tx.inputs.every((input) => !input.coinbase)).toBe(true);
        for (const o of tx.outputs) expect(typeof o.value).toBe('bigint');
      }
    });

    it('blockHash above the tip is null; an unknown block is NOT_FOUND', async () => {
      const tip = await b.tip();
      expect(await b.blockHash(tip.height + 1000)).toBeNull();
      await expectCode(b.block(UNKNOWN), 'NOT_FOUND');
    });

    it('an unknown txid: transaction() null, status unknown', async () => {
      expect(await b.transaction(UNKNOWN)).toBeNull();
      expect(await b.transactionStatus(UNKNOWN)).toEqual({
        inMempool: false,
        confirmations: 0,
        blockHash: null,
      });
    });

    it('a funded tx: mempool, exact bytes and amount, idempotent broadcast, confirmations', async () => {
      const network = await b.network();
      const pay = p2wpkh(G, NETWORKS[network]);
      const sats = 123_456_789n; // not a round BTC figure: 1.23456789 BTC
      const txid = await s.fund(pay.address as string, sats);
      expect(txid).toMatch(/^[0-9a-f]{64}$/);

      expect(await b.mempoolTxids()).toContain(txid);
      expect(await b.transactionStatus(txid)).toEqual({
        inMempool: true,
        confirmations: 0,
        blockHash: null,
      });
      const raw = await b.transaction(txid);
      expect(raw).not.toBeNull();
      expect(txidFromBytes(raw as Uint8Array)).toBe(txid);
      const decoded = RawTx.decode(raw as Uint8Array);
      const ours = decoded.outputs.filter(
        (o) => Buffer.from(o.script).equals(Buffer.from(pay.script)) && o.amount === sats,
      );
      expect(ours).toHaveLength(1);

      // Re-broadcasting bytes the node has in its mempool is success, with the same txid.
      expect(await b.broadcast(raw as Uint8Array)).toBe(txid);

      const [h1] = await s.mine(1);
      const st1 = await b.transactionStatus(txid);
      expect(st1).toEqual({ inMempool: false, confirmations: 1, blockHash: h1 });
      expect(await b.mempoolTxids()).not.toContain(txid);
      const block = await b.block(h1 as string);
      const inBlock = block.transactions.find((t) => t.txid === txid);
      expect(inBlock).toBeDefined();
      expect(Buffer.from(inBlock?.raw ?? []).equals(Buffer.from(raw as Uint8Array))).toBe(true);
      expect(inBlock?.outputs.some((o) => o.value === sats)).toBe(true);

      // ... and re-broadcasting it once confirmed is success too.
      expect(await b.broadcast(raw as Uint8Array)).toBe(txid);

      await s.mine(2);
      const st3 = await b.transactionStatus(txid);
      expect(st3.confirmations).toBe(3);
      expect(st3.blockHash).toBe(h1);
    });

    it('testAccept: garbage and an invalid transaction are not allowed, with a reason', async () => {
      if (b.kind === 'esplora') {
        const e = await b.testAccept(invalidTransaction()).catch((x: unknown) => x);
        expect(isCoordinatorError(e, 'CHAIN_RPC')).toBe(true);
        expect((e as { detail: { unsupported?: boolean } }).detail.unsupported).toBe(true);
        return;
      }
      const garbage = await b.testAccept(Uint8Array.of(0xde, 0xad, 0xbe, 0xef));
      expect(garbage.allowed).toBe(false);
      expect(garbage.rejectReason).toMatch(/\S/);
      const invalid = invalidTransaction();
      const r = await b.testAccept(invalid);
      expect(r.allowed).toBe(false);
      expect(r.txid).toBe(txidFromBytes(invalid));
      expect(r.rejectReason).toMatch(/\S/);
    });

    it('broadcast of an invalid transaction is CHAIN_REJECTED with the reason', async () => {
      const e = await b.broadcast(invalidTransaction()).catch((x: unknown) => x);
      expect(isCoordinatorError(e, 'CHAIN_REJECTED'), String(e)).toBe(true);
      expect(String((e as { detail: { rejectReason?: unknown } }).detail.rejectReason)).toMatch(
        /\S/,
      );
    });

    it('estimateFee: null or {satPerKvB: bigint ≥ 0, blocks ≥ 1}', async () => {
      const f = await b.estimateFee(6);
      if (f !== null) {
        expect(typeof f.satPerKvB).toBe('bigint');
        expect(f.satPerKvB >= 0n).toBe(true);
        expect(Number.isInteger(f.blocks) && f.blocks >= 1).toBe(true);
      }
    });

    it('malformed arguments are BAD_REQUEST before any request', async () => {
      await expectCode(b.blockHash(-1), 'BAD_REQUEST');
      await expectCode(b.block('XYZ'), 'BAD_REQUEST');
      await expectCode(b.transaction('AB'.repeat(32)), 'BAD_REQUEST');
      await expectCode(b.estimateFee(0), 'BAD_REQUEST');
      await expectCode(b.broadcast(new Uint8Array()), 'BAD_REQUEST');
    });
  });
}

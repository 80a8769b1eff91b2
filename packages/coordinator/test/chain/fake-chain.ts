/**
 * A tiny deterministic in-memory chain for the fake Core and fake Esplora servers: the real
 * regtest genesis block, blocks with a coinbase and the mempool's transactions, a UTXO set, a
 * faucet wallet, and Core's mempool answers (already in mempool, already in the UTXO set, missing
 * inputs). No proof of work and no script validation: this is a test double for the backends'
 * plumbing; the devnet and a real node are checked by the conformance suite.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { hex } from '@scure/base';
import { Address, OutScript, p2wpkh, RawTx } from '@scure/btc-signer';
import { merkleRoot, serializeHeader } from '../../src/chain/block-decode.js';
import { dsha256, hashToDisplayHex, tryTxidOf } from '../../src/chain/tx-decode.js';

/** Public vector: Bitcoin's genesis coinbase transaction (shared by mainnet and regtest). */
export const GENESIS_COINBASE_HEX =
  '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000';
export const REGTEST_GENESIS_HASH =
  '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';

export const REGTEST = Object.freeze({
  bech32: 'bcrt',
  pubKeyHash: 0x6f,
  scriptHash: 0xc4,
  wif: 0xef,
});
/** The secp256k1 generator G, compressed: a valid public key nobody needs the secret of here. */
export const G_PUBKEY = hexToBytes(
  '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
);
const WALLET_SCRIPT = p2wpkh(G_PUBKEY, REGTEST).script;
const FEE = 1_000n;

export interface FakeBlock {
  readonly hash: string;
  readonly height: number;
  readonly version: number;
  readonly previousHash: string;
  readonly merkleRoot: string;
  readonly time: number;
  readonly bits: string;
  readonly nonce: number;
  readonly txs: readonly {
    readonly txid: string;
    readonly wtxid: string;
    readonly raw: Uint8Array;
  }[];
  readonly header: Uint8Array;
}

export type AcceptResult =
  | { readonly ok: true; readonly txid: string }
  | { readonly ok: false; readonly code: number; readonly reason: string; readonly txid?: string };

interface Utxo {
  readonly value: bigint;
  readonly script: Uint8Array;
}

export function txidOfRaw(raw: Uint8Array): string {
  const tx = RawTx.decode(raw);
  return hashToDisplayHex(
    dsha256(RawTx.encode({ ...tx, segwitFlag: false, witnesses: undefined })),
  );
}

export function wtxidOfRaw(raw: Uint8Array): string {
  return hashToDisplayHex(dsha256(raw));
}

export class FakeChain {
  readonly blocks: FakeBlock[] = [];
  readonly byHash = new Map<string, FakeBlock>();
  readonly mempool = new Map<string, Uint8Array>();
  /** txid → hash of the active block holding it. */
  readonly confirmed = new Map<string, string>();
  readonly utxos = new Map<string, Utxo>();
  #counter = 0;

  constructor() {
    this.#append(
      {
        version: 1,
        previousHash: '0'.repeat(64),
        time: 1296688602,
        bits: '207fffff',
        nonce: 2,
      },
      [hexToBytes(GENESIS_COINBASE_HEX)],
    );
  }

  get tip(): FakeBlock {
    return this.blocks[this.blocks.length - 1] as FakeBlock;
  }

  #append(
    h: { version: number; previousHash: string; time: number; bits: string; nonce: number },
    raws: Uint8Array[],
  ): FakeBlock {
    const txs = raws.map((raw) => ({ txid: txidOfRaw(raw), wtxid: wtxidOfRaw(raw), raw }));
    const root = merkleRoot(txs.map((t) => t.txid));
    const header = serializeHeader({ ...h, merkleRoot: root });
    const block: FakeBlock = Object.freeze({
      ...h,
      hash: hashToDisplayHex(dsha256(header)),
      height: this.blocks.length,
      merkleRoot: root,
      txs,
      header,
    });
    this.blocks.push(block);
    this.byHash.set(block.hash, block);
    for (const [i, t] of txs.entries()) {
      this.confirmed.set(t.txid, block.hash);
      this.mempool.delete(t.txid);
      const tx = RawTx.decode(t.raw);
      if (i > 0)
        for (const input of tx.inputs)
          this.utxos.delete(`${hex.encode(input.txid)}:${input.index}`);
      for (const [vout, o] of tx.outputs.entries()) {
        this.utxos.set(`${t.txid}:${vout}`, { value: o.amount, script: o.script });
      }
    }
    return block;
  }

  /** Mine `n` blocks: coinbase (50 BTC to the faucet wallet) + the whole mempool. */
  mine(n: number, payTo: Uint8Array = WALLET_SCRIPT): string[] {
    const hashes: string[] = [];
    for (let i = 0; i < n; i++) {
      const height = this.blocks.length;
      const coinbase = RawTx.encode({
        version: 2,
        segwitFlag: false,
        inputs: [
          {
            txid: new Uint8Array(32),
            index: 0xffff_ffff,
            finalScriptSig: Uint8Array.of(
              0x03,
              height & 0xff,
              (height >> 8) & 0xff,
              height >> 16,
              0x51,
            ),
            sequence: 0xffff_ffff,
          },
        ],
        outputs: [{ amount: 5_000_000_000n, script: payTo }],
        witnesses: undefined,
        lockTime: 0,
      });
      const prev = this.tip;
      const block = this.#append(
        {
          version: 0x2000_0000,
          previousHash: prev.hash,
          time: prev.time + 600,
          bits: '207fffff',
          nonce: 0,
        },
        [coinbase, ...this.mempool.values()],
      );
      hashes.push(block.hash);
    }
    return hashes;
  }

  /** A segwit transaction from the faucet wallet paying `sats` to `script`; into the mempool. */
  fund(script: Uint8Array, sats: bigint): string {
    const entry = [...this.utxos.entries()].find(
      ([op, u]) =>
        hex.encode(u.script) === hex.encode(WALLET_SCRIPT) &&
        u.value >= sats + FEE &&
        ![...this.mempool.values()].some((raw) => spends(raw, op)),
    );
    if (entry === undefined) throw new Error('fake chain: no wallet coin large enough; mine first');
    const [outpoint, utxo] = entry;
    const [prevTxid, vout] = outpoint.split(':') as [string, string];
    const change = utxo.value - sats - FEE;
    const raw = RawTx.encode({
      version: 2,
      segwitFlag: true,
      inputs: [
        {
          txid: hexToBytes(prevTxid),
          index: Number(vout),
          finalScriptSig: new Uint8Array(),
          sequence: 0xffff_fffd,
        },
      ],
      outputs: [
        { amount: sats, script },
        ...(change > 0n ? [{ amount: change, script: WALLET_SCRIPT }] : []),
      ],
      // A stand-in witness (signature-sized bytes, pubkey); the fake validates no scripts.
      witnesses: [[Uint8Array.of(0x30, ++this.#counter, 0x01), G_PUBKEY]],
      lockTime: 0,
    });
    const r = this.accept(raw);
    if (!r.ok) throw new Error(`fake chain: faucet tx refused: ${r.reason}`);
    return r.txid;
  }

  fundAddress(address: string, sats: bigint): string {
    return this.fund(OutScript.encode(Address(REGTEST).decode(address)), sats);
  }

  /** Core's sendrawtransaction outcomes, in its order of checks. */
  accept(raw: Uint8Array, dryRun = false): AcceptResult {
    const txid = tryTxidOf(raw);
    if (txid === null)
      return {
        ok: false,
        code: -22,
        reason: 'TX decode failed. Make sure the tx has at least one input.',
      };
    if (this.mempool.has(txid)) {
      return wtxidOfRaw(this.mempool.get(txid) as Uint8Array) === wtxidOfRaw(raw)
        ? { ok: true, txid }
        : { ok: false, code: -26, reason: 'txn-same-nonwitness-data-in-mempool', txid };
    }
    const tx = RawTx.decode(raw);
    if (this.confirmed.has(txid) && tx.outputs.some((_, v) => this.utxos.has(`${txid}:${v}`))) {
      return { ok: false, code: -27, reason: 'Transaction outputs already in utxo set', txid };
    }
    let inValue = 0n;
    for (const input of tx.inputs) {
      const op = `${hex.encode(input.txid)}:${input.index}`;
      const u = this.utxos.get(op);
      if (u === undefined || [...this.mempool.values()].some((m) => spends(m, op))) {
        return { ok: false, code: -25, reason: 'bad-txns-inputs-missingorspent', txid };
      }
      inValue += u.value;
    }
    const outValue = tx.outputs.reduce((a, o) => a + o.amount, 0n);
    if (outValue > inValue) return { ok: false, code: -26, reason: 'bad-txns-in-belowout', txid };
    if (!dryRun) this.mempool.set(txid, raw);
    return { ok: true, txid };
  }
}

function spends(raw: Uint8Array, outpoint: string): boolean {
  return RawTx.decode(raw).inputs.some((i) => `${hex.encode(i.txid)}:${i.index}` === outpoint);
}

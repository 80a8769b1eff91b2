/**
 * A fake Esplora REST server over a FakeChain, answering like Blockstream/electrs src/rest.rs:
 * text bodies for heights and hashes, JSON for blocks, statuses and fee estimates, bytes for
 * /raw, 404 "Block not found" / "Transaction not found", `{confirmed:false}` for an unknown txid
 * (as electrs does), and broadcast rejections as HTTP 400 `sendrawtransaction RPC error: {...}`.
 * `overrides` replace a route's answer (tampering tests); `injections` fail the next requests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { FakeChain } from './fake-chain.js';

export interface FakeAnswer {
  readonly status: number;
  readonly body: string | Uint8Array;
  readonly contentType?: string;
}

export class FakeEsplora {
  readonly paths: string[] = [];
  /** path (e.g. `/fee-estimates`) → answer, checked before the chain. */
  readonly overrides = new Map<string, FakeAnswer>();
  readonly injections: Array<FakeAnswer | 'drop'> = [];
  /** How broadcast errors are worded: electrs ≤ 0.4 JSON form, or the newer `-26: ...` form. */
  errorStyle: 'json' | 'plain' = 'json';
  fees: Record<string, number> = { '1': 87.882, '2': 87.882, '6': 68.285, '144': 1.027 };
  #server: Server;
  #url = '';

  private constructor(readonly chain: FakeChain) {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(chain: FakeChain, basePath = '/api'): Promise<FakeEsplora> {
    const e = new FakeEsplora(chain);
    await new Promise<void>((resolve) => e.#server.listen(0, '127.0.0.1', resolve));
    const { port } = e.#server.address() as AddressInfo;
    e.#url = `http://127.0.0.1:${port}${basePath}`;
    return e;
  }

  get url(): string {
    return this.#url;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '').replace(/^\/api/, '');
    this.paths.push(`${req.method} ${path}`);
    const injected = this.injections.shift();
    if (injected === 'drop') {
      req.socket.destroy();
      return;
    }
    const a = injected ?? this.overrides.get(path) ?? this.#route(req.method ?? 'GET', path, body);
    res
      .writeHead(a.status, { 'content-type': a.contentType ?? 'text/plain' })
      .end(typeof a.body === 'string' ? a.body : Buffer.from(a.body));
  }

  #route(method: string, path: string, body: string): FakeAnswer {
    const c = this.chain;
    const text = (s: string, status = 200): FakeAnswer => ({ status, body: s });
    const json = (v: unknown): FakeAnswer => ({
      status: 200,
      body: JSON.stringify(v),
      contentType: 'application/json',
    });
    const bytes = (b: Uint8Array): FakeAnswer => ({
      status: 200,
      body: b,
      contentType: 'application/octet-stream',
    });
    const p = path.split('/').slice(1);
    if (method === 'POST' && path === '/tx') {
      const r = c.accept(Buffer.from(body.trim(), 'hex'));
      if (r.ok) return text(r.txid);
      return text(
        this.errorStyle === 'json'
          ? `sendrawtransaction RPC error: ${JSON.stringify({ code: r.code, message: r.reason })}`
          : `sendrawtransaction RPC error ${r.code}: ${r.reason}`,
        400,
      );
    }
    if (path === '/blocks/tip/height') return text(String(c.tip.height));
    if (path === '/blocks/tip/hash') return text(c.tip.hash);
    if (p[0] === 'block-height' && p.length === 2) {
      const b = c.blocks[Number(p[1])];
      return b === undefined ? text('Block not found', 404) : text(b.hash);
    }
    if (p[0] === 'block' && p.length >= 2) {
      const b = c.byHash.get(p[1] as string);
      if (b === undefined) return text('Block not found', 404);
      if (p.length === 2) {
        return json({
          id: b.hash,
          height: b.height,
          version: b.version,
          timestamp: b.time,
          tx_count: b.txs.length,
          size: 300,
          weight: 1200,
          merkle_root: b.merkleRoot,
          previousblockhash: b.height === 0 ? null : b.previousHash,
          mediantime: b.time,
          nonce: b.nonce,
          bits: Number.parseInt(b.bits, 16),
          difficulty: 1,
        });
      }
      if (p[2] === 'raw')
        return bytes(
          rawBlock(
            b.header,
            b.txs.map((t) => t.raw),
          ),
        );
    }
    if (p[0] === 'tx' && p.length === 3) {
      const txid = p[1] as string;
      const blockHash = c.confirmed.get(txid);
      const block = blockHash === undefined ? undefined : c.byHash.get(blockHash);
      const raw = c.mempool.get(txid) ?? block?.txs.find((t) => t.txid === txid)?.raw;
      if (p[2] === 'status') {
        return json(
          block === undefined
            ? { confirmed: false }
            : {
                confirmed: true,
                block_height: block.height,
                block_hash: block.hash,
                block_time: block.time,
              },
        );
      }
      if (raw === undefined) return text('Transaction not found', 404);
      if (p[2] === 'raw') return bytes(raw);
      if (p[2] === 'hex') return text(bytesToHex(raw));
    }
    if (path === '/mempool/txids') return json([...c.mempool.keys()]);
    if (path === '/fee-estimates') return json(this.fees);
    return text(`endpoint does not exist "${path}"`, 404);
  }
}

/** header ‖ CompactSize(count) ‖ txs (count < 253 here). */
export function rawBlock(header: Uint8Array, txs: readonly Uint8Array[]): Uint8Array {
  if (txs.length >= 253) throw new Error('fake: too many txs');
  return Buffer.concat([header, Uint8Array.of(txs.length), ...txs]);
}

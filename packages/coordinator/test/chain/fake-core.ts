/**
 * A fake Bitcoin Core JSON-RPC server (node:http on 127.0.0.1, ephemeral port) answering with
 * Core-shaped documents: JSON-RPC 2.0 replies (HTTP 200, `result` xor `error`), or legacy 1.x
 * replies (`result` and `error` both present, HTTP 500 / 404 on error), batches (answered in
 * reverse order to prove matching by id), HTTP Basic auth from user/password or a cookie file it
 * writes like Core, and failure injection (HTTP status, dropped connection, a hang).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Decimal } from '@scure/btc-signer';
import type { FakeChain } from './fake-chain.js';

/** A JSON-RPC error a handler answers with. */
export class RpcFault extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** JSON text placed verbatim in a reply (exact amount literals such as `20999999.97690000`). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Satoshis as Core prints an amount: a number literal with exactly 8 decimals. */
export function btc(sats: bigint): RawJson {
  const s = Decimal.encode(sats < 0n ? -sats : sats);
  const [whole, frac = ''] = s.split('.');
  return new RawJson(`${sats < 0n ? '-' : ''}${whole}.${frac.padEnd(8, '0')}`);
}

export function toJsonText(v: unknown): string {
  if (v instanceof RawJson) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJsonText).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const parts = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJsonText(x)}`);
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export type Handler = (params: readonly unknown[]) => unknown;

export type Injection =
  | { readonly kind: 'http'; readonly status: number; readonly body?: string }
  | { readonly kind: 'drop' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'rpc-error'; readonly code: number; readonly message: string };

export interface RecordedRequest {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export type FakeAuth =
  | { readonly user: string; readonly password: string }
  | { readonly cookieFile: string };

export class FakeCore {
  readonly requests: RecordedRequest[] = [];
  readonly handlers = new Map<string, Handler>();
  /** Consumed one per HTTP request, before auth. */
  readonly injections: Injection[] = [];
  /** Answer like Core ≤ v27 (JSON-RPC 1.x) whatever the request says. */
  legacy = false;
  #expected = '';
  #server: Server;
  #url = '';

  private constructor(readonly auth: FakeAuth) {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    if ('user' in auth) this.#expected = basic(auth.user, auth.password);
    else this.rotateCookie();
  }

  static async start(auth: FakeAuth, handlers: Record<string, Handler> = {}): Promise<FakeCore> {
    const core = new FakeCore(auth);
    for (const [m, h] of Object.entries(handlers)) core.handlers.set(m, h);
    await new Promise<void>((resolve) => core.#server.listen(0, '127.0.0.1', resolve));
    const { port } = core.#server.address() as AddressInfo;
    core.#url = `http://127.0.0.1:${port}/`;
    return core;
  }

  get url(): string {
    return this.#url;
  }

  /** Write a fresh cookie like Core at start; returns the secret part. */
  rotateCookie(): string {
    if (!('cookieFile' in this.auth)) throw new Error('not a cookie server');
    const secret = bytesToHex(randomBytes(32));
    writeFileSync(this.auth.cookieFile, `__cookie__:${secret}`);
    this.#expected = basic('__cookie__', secret);
    return secret;
  }

  /** Expect a cookie that is NOT in the file (the file is stale). */
  expectUnwrittenCookie(): void {
    this.#expected = basic('__cookie__', bytesToHex(randomBytes(32)));
  }

  /** Requests whose body names `method` (batches count once per HTTP request). */
  countCalls(method: string): number {
    return this.requests.filter((r) => r.body.includes(`"method":"${method}"`)).length;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    this.requests.push({ headers: req.headers, body });
    const injection = this.injections.shift();
    if (injection?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (injection?.kind === 'hang') return; // closeAllConnections() ends it
    if (injection?.kind === 'http') {
      res.writeHead(injection.status, { 'content-type': 'text/html' }).end(injection.body ?? '');
      return;
    }
    if (req.headers.authorization !== this.#expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="jsonrpc"' }).end();
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      this.#reply(res, 200, {
        jsonrpc: '2.0',
        error: { code: -32700, message: 'Parse error' },
        id: null,
      });
      return;
    }
    const forced = injection?.kind === 'rpc-error' ? injection : undefined;
    if (Array.isArray(parsed)) {
      const replies = parsed.map((r) => this.#one(r as Record<string, unknown>, forced).reply);
      this.#reply(res, 200, replies.reverse());
      return;
    }
    const { reply, status } = this.#one(parsed as Record<string, unknown>, forced);
    this.#reply(res, status, reply);
  }

  #one(
    r: Record<string, unknown>,
    forced?: { code: number; message: string },
  ): { reply: unknown; status: number } {
    const v2 = r.jsonrpc === '2.0' && !this.legacy;
    const id = r.id ?? null;
    let error: { code: number; message: string } | null = forced ?? null;
    let result: unknown = null;
    if (error === null) {
      const h = this.handlers.get(String(r.method));
      if (h === undefined) error = { code: -32601, message: 'Method not found' };
      else {
        try {
          result = h(Array.isArray(r.params) ? r.params : []);
        } catch (e) {
          if (!(e instanceof RpcFault)) throw e;
          error = { code: e.code, message: e.message };
        }
      }
    }
    if (v2) {
      return {
        reply: error === null ? { jsonrpc: '2.0', result, id } : { jsonrpc: '2.0', error, id },
        status: 200,
      };
    }
    // Legacy: both fields; HTTP 404 for an unknown method, 500 for any other error.
    const status = error === null ? 200 : error.code === -32601 ? 404 : 500;
    return { reply: { result: error === null ? result : null, error, id }, status };
  }

  #reply(res: ServerResponse, status: number, value: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(`${toJsonText(value)}\n`);
  }
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Core's answers over a FakeChain (shapes from Core's `help` texts, v28). */
export function coreHandlers(
  chain: FakeChain,
  options: { chainName?: string; txindex?: boolean } = {},
): Record<string, Handler> {
  const txindex = options.txindex ?? true;
  const str = (x: unknown, what: string): string => {
    if (typeof x !== 'string') throw new RpcFault(-3, `Expected type string for ${what}`);
    return x;
  };
  const blockOf = (hash: string) => {
    const b = chain.byHash.get(hash);
    if (b === undefined) throw new RpcFault(-5, 'Block not found');
    return b;
  };
  const headerJson = (b: ReturnType<typeof blockOf>) => ({
    hash: b.hash,
    confirmations: chain.blocks[b.height] === b ? chain.tip.height - b.height + 1 : -1,
    height: b.height,
    version: b.version,
    versionHex: (b.version >>> 0).toString(16).padStart(8, '0'),
    merkleroot: b.merkleRoot,
    time: b.time,
    mediantime: b.time,
    nonce: b.nonce,
    bits: b.bits,
    difficulty: 4.656542373906925e-10,
    chainwork: '0'.repeat(62) + (b.height * 2 + 2).toString(16).padStart(2, '0'),
    nTx: b.txs.length,
    previousblockhash: b.height === 0 ? undefined : b.previousHash,
    nextblockhash: chain.blocks[b.height + 1]?.hash,
  });
  return {
    getblockchaininfo: () => ({
      chain: options.chainName ?? 'regtest',
      blocks: chain.tip.height,
      headers: chain.tip.height,
      bestblockhash: chain.tip.hash,
      bits: '207fffff',
      difficulty: 4.656542373906925e-10,
      time: chain.tip.time,
      mediantime: chain.tip.time,
      verificationprogress: 1,
      initialblockdownload: false,
      chainwork: '00',
      size_on_disk: 1234,
      pruned: false,
      warnings: [],
    }),
    getblockcount: () => chain.tip.height,
    getblockhash: ([h]) => {
      const b = typeof h === 'number' ? chain.blocks[h] : undefined;
      if (b === undefined) throw new RpcFault(-8, 'Block height out of range');
      return b.hash;
    },
    getblockheader: ([h]) => headerJson(blockOf(str(h, 'blockhash'))),
    getblock: ([h, verbosity]) => {
      const b = blockOf(str(h, 'blockhash'));
      if (verbosity !== 2) throw new RpcFault(-8, 'fake: only verbosity 2');
      return {
        ...headerJson(b),
        size: 285,
        strippedsize: 285,
        weight: 1140,
        tx: b.txs.map((t) => ({
          txid: t.txid,
          hash: t.wtxid,
          version: 2,
          size: t.raw.length,
          vsize: t.raw.length,
          weight: t.raw.length * 4,
          locktime: 0,
          vin: [],
          vout: [{ value: btc(5_000_000_000n), n: 0 }],
          hex: bytesToHex(t.raw),
        })),
      };
    },
    getrawtransaction: ([t, verbose]) => {
      const txid = str(t, 'txid');
      const inPool = chain.mempool.get(txid);
      const blockHash = txindex ? chain.confirmed.get(txid) : undefined;
      const block = blockHash === undefined ? undefined : chain.byHash.get(blockHash);
      const raw = inPool ?? block?.txs.find((x) => x.txid === txid)?.raw;
      if (raw === undefined) {
        throw new RpcFault(
          -5,
          txindex
            ? 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.'
            : 'No such mempool transaction. Use -txindex or provide a block hash to enable blockchain transaction queries. Use gettransaction for wallet transactions.',
        );
      }
      if (verbose !== true && verbose !== 1) return bytesToHex(raw);
      return {
        txid,
        hash: txid,
        hex: bytesToHex(raw),
        size: raw.length,
        vsize: raw.length,
        weight: raw.length * 4,
        version: 2,
        locktime: 0,
        vin: [],
        vout: [],
        ...(block === undefined
          ? {}
          : {
              blockhash: block.hash,
              confirmations: chain.tip.height - block.height + 1,
              time: block.time,
              blocktime: block.time,
            }),
      };
    },
    getrawmempool: () => [...chain.mempool.keys()],
    getmempoolentry: ([t]) => {
      const raw = chain.mempool.get(str(t, 'txid'));
      if (raw === undefined) throw new RpcFault(-5, 'Transaction not in mempool');
      return {
        vsize: raw.length,
        weight: raw.length * 4,
        time: 1_700_000_000,
        height: chain.tip.height,
        descendantcount: 1,
        descendantsize: raw.length,
        ancestorcount: 1,
        ancestorsize: raw.length,
        wtxid: str(t, 'txid'),
        fees: {
          base: btc(1000n),
          modified: btc(1000n),
          ancestor: btc(1000n),
          descendant: btc(1000n),
        },
        depends: [],
        spentby: [],
        'bip125-replaceable': true,
        unbroadcast: false,
      };
    },
    testmempoolaccept: ([txs]) => {
      if (!Array.isArray(txs)) throw new RpcFault(-3, 'Expected type array');
      return txs.map((h) => {
        const raw = Buffer.from(str(h, 'hex'), 'hex');
        const r = chain.accept(raw, true);
        if (!r.ok && r.txid === undefined) throw new RpcFault(r.code, r.reason);
        return r.ok
          ? {
              txid: r.txid,
              wtxid: r.txid,
              allowed: true,
              vsize: raw.length,
              fees: {
                base: btc(1000n),
                'effective-feerate': btc(5000n),
                'effective-includes': [r.txid],
              },
            }
          : {
              txid: r.txid,
              wtxid: r.txid,
              allowed: false,
              'reject-reason': r.code === -25 ? 'missing-inputs' : r.reason,
            };
      });
    },
    sendrawtransaction: ([h]) => {
      const r = chain.accept(Buffer.from(str(h, 'hex'), 'hex'));
      if (!r.ok) throw new RpcFault(r.code, r.reason);
      return r.txid;
    },
    estimatesmartfee: () => ({ errors: ['Insufficient data or no feerate found'], blocks: 0 }),
    generatetoaddress: ([n, address]) => {
      str(address, 'address');
      return chain.mine(Number(n));
    },
    sendtoaddress: ([address, amount]) => {
      if (typeof amount !== 'number') throw new RpcFault(-3, 'Amount is not a number or string');
      return chain.fundAddress(str(address, 'address'), Decimal.decode(amount.toFixed(8)));
    },
    getnewaddress: () => 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080',
    invalidateblock: () => null,
    reconsiderblock: () => null,
  };
}

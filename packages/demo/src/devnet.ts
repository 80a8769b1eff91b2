/**
 * The embedded devnet node the coordinator started, spoken to over its Bitcoin Core-style JSON-RPC
 * with the cookie the coordinator wrote (`<dataDir>/devnet.cookie`, `__cookie__:<password>`, HTTP
 * Basic). The demo uses it as the outside world: the miner, the faucet paying users' deposits, and
 * the wallet whose fresh addresses receive the withdrawals. Answers are parsed with zod.
 */
import { readFileSync } from 'node:fs';
import { base64, utf8ToBytes, z } from './deps.js';
import { DemoError } from './wait.js';

const SATS_PER_BTC = 100_000_000n;

/** Satoshis as the exact decimal BTC string Core's AmountFromValue accepts ("0.12500000"). */
export function btcString(sats: bigint): string {
  const whole = sats / SATS_PER_BTC;
  const frac = (sats % SATS_PER_BTC).toString().padStart(8, '0');
  return `${whole}.${frac}`;
}

/**
 * An RPC amount (a JSON number with at most 8 decimals, as Core writes it) in exact satoshis: the
 * double is written back with 8 decimals — exact for every amount up to 21e6 BTC — and read as
 * digits, never multiplied as a float.
 */
export function satsFromBtcNumber(value: number): bigint {
  if (!Number.isFinite(value) || value < 0 || value > 21_000_000) {
    throw new DemoError(`demo/devnet: expected an amount in BTC, got ${String(value)}`);
  }
  return BigInt(value.toFixed(8).replace('.', ''));
}

const rpcReply = z.object({
  result: z.unknown().optional(),
  error: z.object({ code: z.number(), message: z.string() }).nullable().optional(),
});

export class DevnetClient {
  readonly #auth: string;
  #id = 0;

  constructor(
    readonly url: string,
    cookieFile: string,
  ) {
    const cookie = readFileSync(cookieFile, 'utf8').trim();
    if (!/^__cookie__:[0-9a-f]{64}$/.test(cookie)) {
      throw new DemoError(
        `demo/devnet: expected __cookie__:<64 hex> in ${cookieFile}, got another shape`,
      );
    }
    this.#auth = `Basic ${base64.encode(utf8ToBytes(cookie))}`;
  }

  async call<T>(method: string, params: unknown[], schema: z.ZodType<T>): Promise<T> {
    this.#id += 1;
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { authorization: this.#auth, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: this.#id, method, params }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let reply: z.infer<typeof rpcReply>;
    try {
      reply = rpcReply.parse(JSON.parse(text));
    } catch {
      throw new DemoError(
        `demo/devnet: expected a JSON-RPC reply to ${method}, got HTTP ${res.status} ${text.slice(0, 200)}`,
      );
    }
    if (reply.error !== undefined && reply.error !== null) {
      throw new DemoError(
        `demo/devnet: expected ${method} to succeed, got error ${reply.error.code} ${reply.error.message}`,
      );
    }
    const parsed = schema.safeParse(reply.result);
    if (!parsed.success) {
      throw new DemoError(
        `demo/devnet: expected ${method}'s result shape, got ${JSON.stringify(reply.result).slice(0, 200)}`,
      );
    }
    return parsed.data;
  }

  newAddress(): Promise<string> {
    return this.call('getnewaddress', [], z.string());
  }

  mine(blocks: number, address: string): Promise<string[]> {
    return this.call('generatetoaddress', [blocks, address], z.array(z.string()));
  }

  send(address: string, sats: bigint): Promise<string> {
    return this.call(
      'sendtoaddress',
      [address, btcString(sats)],
      z.string().regex(/^[0-9a-f]{64}$/),
    );
  }

  blockCount(): Promise<number> {
    return this.call('getblockcount', [], z.number().int().min(0));
  }

  /**
   * `getrawtransaction <txid> true`: each output's value in exact satoshis and its address (if
   * it has one), and the confirmations (0 in the mempool).
   */
  async transaction(txid: string): Promise<{
    txid: string;
    confirmations: number;
    outputs: { n: number; sats: bigint; address: string | null }[];
  }> {
    const tx = await this.call(
      'getrawtransaction',
      [txid, true],
      z.object({
        txid: z.string().regex(/^[0-9a-f]{64}$/),
        confirmations: z.number().int().min(0).optional(),
        vout: z.array(
          z.object({
            value: z.number().min(0).max(21_000_000),
            n: z.number().int().min(0),
            scriptPubKey: z.object({ address: z.string().optional() }),
          }),
        ),
      }),
    );
    return {
      txid: tx.txid,
      confirmations: tx.confirmations ?? 0,
      outputs: tx.vout.map((o) => ({
        n: o.n,
        sats: satsFromBtcNumber(o.value),
        address: o.scriptPubKey.address ?? null,
      })),
    };
  }

  mempoolSize(): Promise<number> {
    return this.call('getmempoolinfo', [], z.object({ size: z.number().int() })).then(
      (i) => i.size,
    );
  }
}

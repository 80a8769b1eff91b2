import { request } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Setup, setup, withdrawalBody } from './helpers.js';

let s: Setup | undefined;
afterEach(async () => {
  await s?.app.close();
  s = undefined;
});

function post(
  port: number,
  path: string,
  key: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          ...headers,
        },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Let pending I/O and timers of the current turn run, without waiting on wall time. */
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

describe('graceful shutdown', () => {
  it('close() waits for an in-flight request, which completes with its real answer', async () => {
    s = await setup();
    await s.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (s.app.server.address() as AddressInfo).port;
    let release!: () => void;
    s.service.gate = new Promise<void>((r) => {
      release = r;
    });
    const inflight = post(port, '/v1/withdrawals', s.keys.exchange, withdrawalBody(), {
      'idempotency-key': 'during-close',
    });
    // Wait until the request is inside the service.
    while (s.service.calls.length === 0) await turns(1);
    let closed = false;
    const closing = s.app.close().then(() => {
      closed = true;
    });
    await turns(20);
    expect(closed).toBe(false);
    release();
    const res = await inflight;
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body).amount).toBe('150000');
    await closing;
    expect(closed).toBe(true);
    expect(s.service.writes).toBe(1);
    s = undefined;
  });

  it('a request that arrives on an open connection while closing gets 503 SHUTTING_DOWN', async () => {
    s = await setup();
    await s.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (s.app.server.address() as AddressInfo).port;
    let serverSide: Socket | undefined;
    s.app.server.once('connection', (sock: Socket) => {
      serverSide = sock;
    });
    const client = connect({ host: '127.0.0.1', port });
    let answer = '';
    client.setEncoding('utf8');
    client.on('data', (c: string) => {
      answer += c;
    });
    const ended = new Promise<void>((r) => client.on('close', () => r()));
    // Half a request: the connection is active (not idle), so close() does not drop it.
    client.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    while (serverSide === undefined || serverSide.bytesRead === 0) await turns(1);
    const closing = s.app.close();
    await turns(5);
    client.write('\r\n');
    await ended;
    await closing;
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    const json = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as {
      error: { code: string };
    };
    expect(json.error.code).toBe('SHUTTING_DOWN');
    s = undefined;
  });
});

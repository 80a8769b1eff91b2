import { lstat } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWireError } from '../src/errors.js';
import { createPtyPair, type PtyPair } from '../src/pty-pair.js';
import { SerialTransport } from '../src/serial-transport.js';
import type { Transport } from '../src/transport.js';

/** Resolves with the first `n` bytes `t` receives (event-driven, no clock). */
function receive(t: Transport, n: number): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const out = new Uint8Array(n);
    let got = 0;
    const off = t.onData((chunk) => {
      const take = Math.min(chunk.byteLength, n - got);
      out.set(chunk.subarray(0, take), got);
      got += take;
      if (got === n) {
        off();
        resolve(out);
      }
    });
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Every byte value, including 0x00, 0x0a, 0x0d, 0x11, 0x13 that a cooked tty would mangle. */
function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + (i >>> 8)) & 0xff;
  return out;
}

describe('SerialTransport over a socat pty pair', () => {
  let pair: PtyPair;
  let a: SerialTransport;
  let b: SerialTransport;

  beforeEach(async () => {
    pair = await createPtyPair();
    a = await SerialTransport.open({ path: pair.pathA, baudRate: 115200 });
    b = await SerialTransport.open({ path: pair.pathB, baudRate: 115200 });
  });

  afterEach(async () => {
    await a.close();
    await b.close();
    await pair.close();
  });

  it('carries bytes both ways', async () => {
    const atB = receive(b, 4);
    await a.write(Uint8Array.of(1, 2, 3, 0x0d));
    expect(await atB).toEqual(Uint8Array.of(1, 2, 3, 0x0d));
    const atA = receive(a, 3);
    await b.write(Uint8Array.of(0x11, 0x13, 0x0a));
    expect(await atA).toEqual(Uint8Array.of(0x11, 0x13, 0x0a));
  });

  it('delivers 256 KiB of every byte value intact and in order, from concurrent writes', async () => {
    const data = pattern(256 * 1024);
    const atB = receive(b, data.byteLength);
    const writes: Promise<void>[] = [];
    for (let off = 0; off < data.byteLength; off += 16 * 1024) {
      writes.push(a.write(data.subarray(off, off + 16 * 1024)));
    }
    await Promise.all(writes);
    const got = await atB;
    expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
  });

  it('copies written bytes, so the caller may reuse its buffer', async () => {
    const buf = Uint8Array.of(9, 9, 9);
    const atB = receive(b, 3);
    const done = a.write(buf);
    buf.fill(0);
    await done;
    expect(await atB).toEqual(Uint8Array.of(9, 9, 9));
  });

  it('closes idempotently, fires onClose once without error, then refuses writes', async () => {
    const events: (Error | undefined)[] = [];
    a.onClose((e) => events.push(e));
    const first = a.close();
    const second = a.close();
    await Promise.all([first, second]);
    await a.close();
    expect(events).toEqual([undefined]);
    expect(a.isOpen).toBe(false);
    const err = await a.write(Uint8Array.of(1)).catch((e: unknown) => e);
    expect(isWireError(err, 'LINK_CLOSED')).toBe(true);
    expect(String((err as Error).message)).toMatch(/^serial-transport\/write: /);
  });

  it('an unsubscribed data listener no longer receives', async () => {
    const seen: number[] = [];
    const off = b.onData((c) => seen.push(c.byteLength));
    off();
    const atB = receive(b, 2);
    await a.write(Uint8Array.of(1, 2));
    await atB;
    expect(seen).toEqual([]);
  });

  it('a throwing data listener closes the transport with that error instead of crashing', async () => {
    const closed = new Promise<Error | undefined>((resolve) => b.onClose(resolve));
    b.onData(() => {
      throw new Error('listener bug');
    });
    await a.write(Uint8Array.of(1));
    const err = await closed;
    expect(isWireError(err, 'LINK_CLOSED')).toBe(true);
    expect(err?.message).toContain('listener bug');
    expect(b.isOpen).toBe(false);
  });
});

describe('SerialTransport.open', () => {
  it('fails clearly on a missing device', async () => {
    const err = await SerialTransport.open({
      path: '/dev/keyline-no-such-tty',
      baudRate: 115200,
    }).catch((e: unknown) => e);
    expect(isWireError(err, 'LINK_CLOSED')).toBe(true);
    expect((err as Error).message).toMatch(
      /^serial-transport\/open: expected to open \/dev\/keyline-no-such-tty at 115200 baud, got /,
    );
  });

  it.each([
    [{ path: '', baudRate: 115200 }],
    [{ path: '/dev/ttyS0', baudRate: 300 }],
    [{ path: '/dev/ttyS0', baudRate: 115200.5 }],
    [{ path: '/dev/ttyS0', baudRate: 5_000_000 }],
    [{ path: '/dev/ttyS0', baudRate: Number.NaN }],
    [{ path: 7, baudRate: 115200 }],
    [{ path: '/dev/ttyS0', baudRate: 115200, parity: 'even' }],
  ])('rejects invalid options %j with BAD_PARAMS', async (options) => {
    const err = await SerialTransport.open(
      options as unknown as { path: string; baudRate: number },
    ).catch((e: unknown) => e);
    expect(isWireError(err, 'BAD_PARAMS')).toBe(true);
    expect((err as Error).message).toMatch(/^serial-transport\/open: expected /);
  });

  it('accepts a non-standard integer rate', async () => {
    const pair = await createPtyPair();
    try {
      const t = await SerialTransport.open({ path: pair.pathA, baudRate: 250000 });
      expect(t.isOpen).toBe(true);
      await t.close();
    } finally {
      await pair.close();
    }
  });
});

describe('createPtyPair', () => {
  it('makes both links and removes its directory on close', async () => {
    const pair = await createPtyPair();
    expect(await exists(pair.pathA)).toBe(true);
    expect(await exists(pair.pathB)).toBe(true);
    await pair.close();
    await pair.close();
    expect(await exists(pair.pathA)).toBe(false);
    expect(await exists(pair.pathA.replace(/\/ttyA$/, ''))).toBe(false);
  });

  it('fails clearly when socat is missing', async () => {
    const err = await createPtyPair(undefined, { socatPath: '/nonexistent/socat' }).catch(
      (e: unknown) => e,
    );
    expect(isWireError(err, 'LINK_CLOSED')).toBe(true);
    expect((err as Error).message).toMatch(/^pty-pair: socat not found/);
  });

  it('rejects a directory that socat would misparse', async () => {
    const err = await createPtyPair('/tmp/a,b').catch((e: unknown) => e);
    expect(isWireError(err, 'BAD_PARAMS')).toBe(true);
  });

  it('reports a socat that exits before the pair is ready', async () => {
    const err = await createPtyPair(undefined, { socatPath: '/bin/false' }).catch(
      (e: unknown) => e,
    );
    expect(isWireError(err, 'LINK_CLOSED')).toBe(true);
    expect((err as Error).message).toMatch(/^pty-pair: socat exited before the pair was ready/);
  });
});

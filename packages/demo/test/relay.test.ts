/**
 * The serial line the demo builds for each device: two socat pty pairs joined by the paced relay.
 * Bytes cross it intact in both directions, and the coordinator side can be closed and opened
 * again (each `keyline-coordinator` command opens the line, then the daemon does) without the
 * device side noticing. No timing is asserted: the pacing itself is ThrottleTransport's, tested
 * in wire-protocol.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SerialTransport } from '../src/deps.js';
import { openSerialLine, type SerialLine } from '../src/relay.js';
import { waitFor } from '../src/wait.js';

const open: { close(): Promise<void> }[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

async function receive(port: SerialTransport, n: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let got = 0;
  const off = port.onData((c) => {
    chunks.push(Uint8Array.from(c));
    got += c.length;
  });
  try {
    await waitFor(
      `${n} bytes`,
      async () => (got >= n ? { done: true, value: null } : { done: false, state: `${got}` }),
      { timeoutMs: 20_000, intervalMs: 20 },
    );
  } finally {
    off();
  }
  const all = new Uint8Array(got);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

async function line(): Promise<SerialLine> {
  const dir = mkdtempSync(join(tmpdir(), 'keyline-demo-relay-'));
  dirs.push(dir);
  const l = await openSerialLine(join(dir, 'line'), 115_200);
  open.push(l);
  return l;
}

async function port(path: string): Promise<SerialTransport> {
  const p = await SerialTransport.open({ path, baudRate: 115_200 });
  open.push(p);
  return p;
}

describe('openSerialLine', () => {
  it('carries bytes intact both ways and counts them', async () => {
    const l = await line();
    const device = await port(l.devicePath);
    const coordinator = await port(l.coordinatorPath);
    const down = pattern(3000, 1);
    const got = receive(device, down.length);
    await coordinator.write(down);
    expect(await got).toEqual(down);
    const up = pattern(2000, 7);
    const back = receive(coordinator, up.length);
    await device.write(up);
    expect(await back).toEqual(up);
    expect(l.stats()).toEqual({ toDevice: 3000, toCoordinator: 2000 });
    expect(l.broken).toBeNull();
  });

  it('lets the coordinator side close and reopen while the device side stays open', async () => {
    const l = await line();
    const device = await port(l.devicePath);
    const first = await port(l.coordinatorPath);
    const a = receive(device, 10);
    await first.write(pattern(10, 3));
    expect(await a).toEqual(pattern(10, 3));
    await first.close();
    const second = await port(l.coordinatorPath);
    const b = receive(device, 10);
    await second.write(pattern(10, 4));
    expect(await b).toEqual(pattern(10, 4));
    expect(device.isOpen).toBe(true);
    expect(l.broken).toBeNull();
  });
});

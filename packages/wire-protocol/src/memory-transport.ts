import type { Transport } from './transport.js';

/**
 * An in-process byte duplex pair: what one end writes, the other end receives on a later
 * macrotask (never synchronously, so re-entrancy bugs show up in tests as they would on a line).
 */
class MemoryEnd implements Transport {
  private readonly dataListeners = new Set<(chunk: Uint8Array) => void>();
  private readonly closeListeners = new Set<(error?: Error) => void>();
  private open = true;
  peer: MemoryEnd | undefined;

  get isOpen(): boolean {
    return this.open;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (!this.open) throw new Error('memory-transport/write: transport is closed');
    const copy = bytes.slice();
    const peer = this.peer;
    setImmediate(() => peer?.deliver(copy));
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  onClose(listener: (error?: Error) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    for (const l of this.closeListeners) l();
    const peer = this.peer;
    if (peer?.open) setImmediate(() => void peer.close());
  }

  private deliver(chunk: Uint8Array): void {
    if (!this.open) return;
    for (const l of this.dataListeners) l(chunk);
  }
}

/** Two connected in-memory transports. */
export function createMemoryTransportPair(): [Transport, Transport] {
  const a = new MemoryEnd();
  const b = new MemoryEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

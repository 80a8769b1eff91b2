/**
 * Layer 1: a transport moves raw bytes between two endpoints and knows nothing else.
 * Implementations: serial-transport.ts (the only importer of `serialport`), memory-transport.ts
 * (an in-process pair), and the wrappers throttle-transport.ts and fault-transport.ts.
 */
export interface Transport {
  /** Hand bytes to the line. Resolves once the transport has accepted them (not once delivered). */
  write(bytes: Uint8Array): Promise<void>;
  /** Subscribe to received bytes; chunk boundaries carry no meaning. Returns an unsubscribe. */
  onData(listener: (chunk: Uint8Array) => void): () => void;
  /** Subscribe to the end of the transport (error undefined on a deliberate close). */
  onClose(listener: (error?: Error) => void): () => void;
  close(): Promise<void>;
  readonly isOpen: boolean;
}

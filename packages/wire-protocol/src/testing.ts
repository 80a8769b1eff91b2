/**
 * Tools for tests, benchmarks and demos — not for production paths: a real pseudo-terminal pair
 * made by `socat`, and a transport wrapper that injects line faults.
 */
export { type FaultOptions, type FaultStats, FaultTransport } from './fault-transport.js';
export { createMemoryTransportPair } from './memory-transport.js';
export { createPtyPair, type PtyPair, type PtyPairOptions } from './pty-pair.js';

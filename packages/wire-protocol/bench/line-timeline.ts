import { WireError } from '../src/errors.js';
import type { LineEvent } from './line-probe.js';

/**
 * Reads a paced line's write log (from a LineProbe under a ThrottleTransport) as a timeline. A
 * slice of n bytes handed down at time t occupied the line during [t - n * byteTimeMs, t], so the
 * gap between one slice's end and the next slice's start is time the line sat idle.
 */
export interface LineGap {
  /** Line bytes sent before the gap. */
  readonly afterBytes: number;
  readonly ms: number;
}

export interface LineTimeline {
  /** When the first byte went on the line, ms (performance.now()). */
  readonly firstByteAt: number;
  /** When the last byte left the line. */
  readonly lastByteAt: number;
  readonly bytes: number;
  /** Line time the bytes needed: bytes * byteTimeMs. */
  readonly busyMs: number;
  /**
   * Net idle time between the first and the last byte: span minus busy time. A slice handed down
   * late by timer jitter and the slices that then catch up cancel out; only real stalls remain.
   */
  readonly idleMs: number;
  /** Idle stretches longer than `minGapMs`, in order. */
  readonly gaps: readonly LineGap[];
}

/** `minGapMs`: the shortest idle stretch listed in `gaps` (shorter ones are timer jitter). */
export function lineTimeline(
  events: readonly LineEvent[],
  byteTimeMs: number,
  minGapMs = 5,
): LineTimeline | undefined {
  if (!(byteTimeMs > 0) || !Number.isFinite(byteTimeMs)) {
    throw new WireError(
      'BAD_PARAMS',
      `bench/line-timeline: expected byteTimeMs > 0, got ${String(byteTimeMs)}`,
    );
  }
  const first = events[0];
  if (first === undefined) return undefined;
  let bytes = 0;
  let lineFreeAt = first.at - first.bytes * byteTimeMs;
  const firstByteAt = lineFreeAt;
  const gaps: LineGap[] = [];
  for (const e of events) {
    const start = e.at - e.bytes * byteTimeMs;
    const gap = start - lineFreeAt;
    if (gap >= minGapMs) gaps.push({ afterBytes: bytes, ms: gap });
    bytes += e.bytes;
    lineFreeAt = Math.max(lineFreeAt, e.at);
  }
  const busyMs = bytes * byteTimeMs;
  return {
    firstByteAt,
    lastByteAt: lineFreeAt,
    bytes,
    busyMs,
    idleMs: Math.max(0, lineFreeAt - firstByteAt - busyMs),
    gaps,
  };
}

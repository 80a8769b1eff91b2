/**
 * Retransmission timeout estimation for the link, after RFC 6298 (TCP's algorithm): a smoothed
 * round-trip time and its variation from samples of frames sent once (Karn's rule is applied by
 * the caller), RTO = SRTT + 4·RTTVAR clamped to [min, max], doubled on every expiry.
 * The same code then serves a 12 MB/s pseudo-terminal (RTO near `minMs`) and a 115200 baud UART
 * whose window takes a third of a second to drain (RTO follows the measured queueing delay).
 */
export interface RtoBounds {
  /** RTO before the first sample. */
  readonly initialMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

export class RtoEstimator {
  private srtt: number | undefined;
  private rttvar = 0;
  private backedOff: number | undefined;

  constructor(private readonly bounds: RtoBounds) {}

  /** The timeout to arm now. */
  get current(): number {
    return this.backedOff ?? this.base();
  }

  /** A round trip measured on a frame that was transmitted exactly once. */
  sample(rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    if (this.srtt === undefined) {
      this.srtt = rttMs;
      this.rttvar = rttMs / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rttMs);
      this.srtt = 0.875 * this.srtt + 0.125 * rttMs;
    }
  }

  /** An expiry: double the timeout (up to the cap) until progress is made. */
  backOff(): void {
    this.backedOff = Math.min(this.current * 2, this.bounds.maxMs);
  }

  /** Progress was made: drop the back-off and use the estimate again. */
  progress(): void {
    this.backedOff = undefined;
  }

  /** Progress without a valid sample: halve the back-off, never below the estimate. */
  relax(): void {
    if (this.backedOff === undefined) return;
    const half = this.backedOff / 2;
    this.backedOff = half <= this.base() ? undefined : half;
  }

  /** A new link epoch: forget everything measured. */
  reset(): void {
    this.srtt = undefined;
    this.rttvar = 0;
    this.backedOff = undefined;
  }

  private base(): number {
    if (this.srtt === undefined) return this.bounds.initialMs;
    const rto = this.srtt + 4 * this.rttvar;
    return Math.min(this.bounds.maxMs, Math.max(this.bounds.minMs, rto));
  }
}

/**
 * Prometheus metrics of the coordinator, on a Registry of its own (never prom-client's global
 * one, so two instances in one process, as in the tests, do not share series). Values that live
 * in the service (withdrawals per state, devices, hot wallet balance) are read at scrape time by
 * each gauge's collect(); a failing read keeps the previous values and counts the failure in
 * `keyline_metrics_collect_errors_total{collector}`, so one broken source never hides the rest.
 * The signing orchestrator's caller reports each signing round through observeSigningLatency.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { CoordinatorError } from '../errors.js';
import type { CoordinatorService } from '../service/contract.js';
import type { SignOutcome } from '../signing/orchestrator.js';
import { WITHDRAWAL_STATES } from './schemas.js';

export type SigningOutcome = SignOutcome['kind'];
export const SIGNING_OUTCOMES: readonly SigningOutcome[] = Object.freeze([
  'signed',
  'refused',
  'unavailable',
]);

/** Device states as reported by get_info, plus `offline`; anything else is `other`. */
export const DEVICE_STATES = Object.freeze([
  'uninitialized',
  'locked',
  'unlocked',
  'armed',
  'paused',
  'offline',
  'other',
] as const);

/** Seconds: a 2-of-3 round over 115200 baud takes ~1 s for small PSBTs and up to minutes. */
export const SIGNING_LATENCY_BUCKETS = Object.freeze([
  0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600,
]);

export const METRIC_NAMES = Object.freeze({
  withdrawals: 'keyline_withdrawals',
  signingLatency: 'keyline_signing_latency_seconds',
  deviceHealthy: 'keyline_device_healthy',
  deviceState: 'keyline_device_state',
  hotWallet: 'keyline_hot_wallet_balance_sats',
  collectErrors: 'keyline_metrics_collect_errors_total',
  httpRequests: 'keyline_http_requests_total',
});

export interface CoordinatorMetrics {
  readonly registry: Registry;
  /** One signing round (all devices asked for one payout): its wall time and how it ended. */
  observeSigningLatency(seconds: number, outcome: SigningOutcome): void;
  /** Called by the API for each answered request (`route` is the path pattern). */
  countHttpRequest(method: string, route: string, status: number): void;
}

export interface MetricsOptions {
  /** Default process metrics (CPU, memory, event loop lag, GC): on unless false. */
  readonly processMetrics?: boolean;
}

type Source = Pick<CoordinatorService, 'withdrawalCountsByState' | 'devices' | 'hotWalletBalance'>;

export function createMetrics(service: Source, options: MetricsOptions = {}): CoordinatorMetrics {
  const registry = new Registry();

  // One read of every source per scrape, shared by all collect() calls of that scrape (the
  // registry runs them concurrently), so the error counter is current in the same scrape.
  let scrape: Promise<void> | null = null;
  const refresh = (): Promise<void> => {
    scrape ??= Promise.all([
      guarded('withdrawals', readWithdrawals),
      guarded('devices', readDevices),
      guarded('hot_wallet', readHotWallet),
    ]).then(
      () => {
        scrape = null;
      },
      () => {
        scrape = null;
      },
    );
    return scrape;
  };

  const collectErrors = new Counter({
    name: METRIC_NAMES.collectErrors,
    help: 'Reads of a metric source that failed during a scrape (previous values were kept)',
    labelNames: ['collector'] as const,
    registers: [registry],
    collect: refresh,
  });
  const guarded = async (collector: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch {
      collectErrors.inc({ collector });
    }
  };

  const withdrawals = new Gauge({
    name: METRIC_NAMES.withdrawals,
    help: 'Withdrawals per state (every known state is present, 0 when none)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect: refresh,
  });
  const readWithdrawals = async () => {
    const counts = await service.withdrawalCountsByState();
    withdrawals.reset();
    for (const state of WITHDRAWAL_STATES) withdrawals.set({ state }, 0);
    for (const [state, n] of Object.entries(counts)) {
      if (Number.isFinite(n)) withdrawals.set({ state }, n);
    }
  };

  const latency = new Histogram({
    name: METRIC_NAMES.signingLatency,
    help: 'Wall time of one signing round (devices asked until two signatures, a refusal, or none left)',
    labelNames: ['outcome'] as const,
    buckets: [...SIGNING_LATENCY_BUCKETS],
    registers: [registry],
  });
  for (const outcome of SIGNING_OUTCOMES) latency.zero({ outcome });

  const healthy = new Gauge({
    name: METRIC_NAMES.deviceHealthy,
    help: 'Per signer device: 1 when armed (able to sign), 0 otherwise',
    labelNames: ['device'] as const,
    registers: [registry],
    collect: refresh,
  });
  const deviceState = new Gauge({
    name: METRIC_NAMES.deviceState,
    help: 'Per signer device and state: 1 for its current state, 0 for the others',
    labelNames: ['device', 'state'] as const,
    registers: [registry],
    collect: refresh,
  });
  const readDevices = async () => {
    const devices = await service.devices();
    healthy.reset();
    deviceState.reset();
    for (const d of devices) {
      healthy.set({ device: d.deviceId }, d.state === 'armed' ? 1 : 0);
      const current = (DEVICE_STATES as readonly string[]).includes(d.state) ? d.state : 'other';
      for (const state of DEVICE_STATES) {
        deviceState.set({ device: d.deviceId, state }, state === current ? 1 : 0);
      }
    }
  };

  const hotWallet = new Gauge({
    name: METRIC_NAMES.hotWallet,
    help: 'Hot wallet balance in satoshis (exact below 2^53; the supply cap is below it)',
    registers: [registry],
    collect: refresh,
  });
  const readHotWallet = async () => {
    hotWallet.set(Number(await service.hotWalletBalance()));
  };

  const http = new Counter({
    name: METRIC_NAMES.httpRequests,
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });

  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

  return Object.freeze({
    registry,
    observeSigningLatency(seconds: number, outcome: SigningOutcome) {
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
        throw new CoordinatorError(
          'INTERNAL',
          `metrics/observeSigningLatency: expected seconds a finite number >= 0, got ${String(seconds)}`,
        );
      }
      if (!SIGNING_OUTCOMES.includes(outcome)) {
        throw new CoordinatorError(
          'INTERNAL',
          `metrics/observeSigningLatency: expected outcome one of ${SIGNING_OUTCOMES.join('|')}, got ${String(outcome)}`,
        );
      }
      latency.observe({ outcome }, seconds);
    },
    countHttpRequest(method: string, route: string, status: number) {
      http.inc({ method, route, status: String(status) });
    },
  });
}

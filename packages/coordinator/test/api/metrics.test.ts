import { describe, expect, it } from 'vitest';
import { createMetrics, METRIC_NAMES } from '../../src/api/metrics.js';
import { isCoordinatorError } from '../../src/errors.js';
import { FakeService } from './fake-service.js';
import { call, setup } from './helpers.js';

function serviceWithData(): FakeService {
  const service = new FakeService();
  service.seedWithdrawal({ state: 'held' });
  service.seedWithdrawal({ state: 'held' });
  service.seedWithdrawal({ state: 'confirmed' });
  return service;
}

describe('metrics', () => {
  it('exposes the four families: withdrawals by state, signing latency, device health, hot wallet', async () => {
    const m = createMetrics(serviceWithData(), { processMetrics: false });
    m.observeSigningLatency(1.7, 'signed');
    m.observeSigningLatency(0.4, 'refused');
    const text = await m.registry.metrics();
    expect(text).toContain('keyline_withdrawals{state="held"} 2');
    expect(text).toContain('keyline_withdrawals{state="confirmed"} 1');
    expect(text).toContain('keyline_withdrawals{state="signing"} 0');
    expect(text).toContain('keyline_signing_latency_seconds_bucket{le="2",outcome="signed"} 1');
    expect(text).toContain('keyline_signing_latency_seconds_count{outcome="refused"} 1');
    expect(text).toContain('keyline_signing_latency_seconds_count{outcome="unavailable"} 0');
    expect(text).toContain('keyline_device_healthy{device="signer-a"} 1');
    expect(text).toContain('keyline_device_healthy{device="signer-b"} 0');
    expect(text).toContain('keyline_device_state{device="signer-b",state="offline"} 1');
    expect(text).toContain('keyline_device_state{device="signer-b",state="armed"} 0');
    expect(text).toContain('keyline_hot_wallet_balance_sats 1234567890');
  });

  it('includes the default process metrics unless turned off', async () => {
    const on = await createMetrics(new FakeService()).registry.metrics();
    expect(on).toContain('process_cpu_user_seconds_total');
    expect(on).toContain('nodejs_eventloop_lag_seconds');
    const off = await createMetrics(new FakeService(), {
      processMetrics: false,
    }).registry.metrics();
    expect(off).not.toContain('process_cpu_user_seconds_total');
  });

  it('reads the service at every scrape (a state that empties drops to 0, a removed device disappears)', async () => {
    const service = serviceWithData();
    const m = createMetrics(service, { processMetrics: false });
    await m.registry.metrics();
    service.withdrawals.clear();
    service.devicesList = service.devicesList.slice(0, 1);
    service.hotWallet = 2_100_000_000_000_000n;
    const text = await m.registry.metrics();
    expect(text).toContain('keyline_withdrawals{state="held"} 0');
    expect(text).not.toContain('signer-b');
    expect(text).toContain('keyline_hot_wallet_balance_sats 2100000000000000');
  });

  it('a failing source keeps its previous values and is counted; the others still report', async () => {
    const service = serviceWithData();
    const m = createMetrics(service, { processMetrics: false });
    await m.registry.metrics();
    const original = service.withdrawalCountsByState.bind(service);
    service.withdrawalCountsByState = async () => {
      throw new Error('db down');
    };
    service.hotWallet = 5n;
    const text = await m.registry.metrics();
    expect(text).toContain('keyline_withdrawals{state="held"} 2');
    expect(text).toContain('keyline_metrics_collect_errors_total{collector="withdrawals"} 1');
    expect(text).toContain('keyline_hot_wallet_balance_sats 5');
    service.withdrawalCountsByState = original;
  });

  it('observeSigningLatency refuses a bad duration or outcome', () => {
    const m = createMetrics(new FakeService(), { processMetrics: false });
    for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      expect(() => m.observeSigningLatency(bad, 'signed')).toThrow(/observeSigningLatency/);
    }
    try {
      m.observeSigningLatency(1, 'exploded' as 'signed');
      expect.unreachable();
    } catch (e) {
      expect(isCoordinatorError(e, 'INTERNAL')).toBe(true);
    }
  });

  it('each instance has its own registry', async () => {
    const a = createMetrics(new FakeService(), { processMetrics: false });
    const b = createMetrics(new FakeService(), { processMetrics: false });
    a.observeSigningLatency(3, 'signed');
    expect(await a.registry.metrics()).toContain(
      'keyline_signing_latency_seconds_count{outcome="signed"} 1',
    );
    expect(await b.registry.metrics()).toContain(
      'keyline_signing_latency_seconds_count{outcome="signed"} 0',
    );
  });

  it('GET /metrics serves the registry in the Prometheus text format, with HTTP counts', async () => {
    const metrics = createMetrics(serviceWithData(), { processMetrics: false });
    const s = await setup({ metrics });
    try {
      await call(s.app, 'GET', '/v1/status', { key: s.keys.operator });
      await call(s.app, 'GET', '/v1/status');
      const res = await call(s.app, 'GET', '/metrics', { key: s.keys.operator });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      for (const name of Object.values(METRIC_NAMES)) expect(res.body).toContain(`# TYPE ${name} `);
      expect(res.body).toContain(
        'keyline_http_requests_total{method="GET",route="/v1/status",status="200"} 1',
      );
      expect(res.body).toContain(
        'keyline_http_requests_total{method="GET",route="/v1/status",status="401"} 1',
      );
    } finally {
      await s.app.close();
    }
  });
});

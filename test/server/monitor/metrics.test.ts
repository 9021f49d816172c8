import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/server/monitor/metrics.js';
import { createStatsCounters } from '../../../src/server/monitor/stats.js';

// The handler histogram is counted in plain numbers and handed to prom-client at scrape time:
// its exposition must read exactly as prom-client's own Histogram fed the same values.
const BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
const section = (text: string, name: string) =>
  text
    .split('\n')
    .filter((l) => l.includes(name))
    .join('\n');

function metricsFor() {
  const counters = createStatsCounters();
  return createMetrics(() => ({
    socketsOpen: 0,
    socketsAuthenticated: 0,
    messagesIn: counters.messagesIn,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    rejections: {},
    closes: {},
    activeBlocks: 0,
    handlerLatencyMs: counters.latency(),
    uptimeMs: 0,
    connections: 0,
    penalties: 0,
    anomalies: 0,
  }));
}

async function reference(values: number[]): Promise<string> {
  const registry = new Registry();
  const h = new Histogram({
    name: 'wsguard_handler_duration_seconds',
    help: 'Time from a message passing the pipeline to its handler finishing',
    buckets: BUCKETS,
    registers: [registry],
  });
  for (const v of values) h.observe(v);
  return registry.metrics();
}

describe('metrics', () => {
  it('exposes the handler histogram as prom-client does, before any message', async () => {
    const m = metricsFor();
    const name = 'wsguard_handler_duration_seconds';
    expect(section(await m.render(), name)).toBe(section(await reference([]), name));
  });

  it('exposes the handler histogram as prom-client does, on and between bucket bounds', async () => {
    const m = metricsFor();
    const values = [0, 0.00005, 0.0001, 0.0003, 0.001, 0.002, 0.05, 0.7, 5, 6, 120, 0.0001];
    for (const v of values) m.observeHandler(v);
    const name = 'wsguard_handler_duration_seconds';
    const text = section(await m.render(), name);
    expect(text).toBe(section(await reference(values), name));
    expect(text).toContain(`${name}_count 12`);
    expect(text).toContain(`${name}_bucket{le="0.0001"} 4`);
  });

  it('resets with the registry', async () => {
    const m = metricsFor();
    m.observeHandler(0.2);
    m.registry.resetMetrics();
    expect(await m.render()).toContain('wsguard_handler_duration_seconds_count 0');
  });
});

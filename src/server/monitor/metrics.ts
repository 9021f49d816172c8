import type { Metric, Registry } from 'prom-client';
import { loadOptional } from '../optional.js';
import type { ServerStats } from './stats.js';

/**
 * Prometheus metrics in a registry of this server's own (not prom-client's global one, so two
 * servers in one process do not clash). Counters read the live stats when scraped: nothing is
 * counted twice and the hot path only increments plain numbers.
 */
export interface Metrics {
  /** The registry, made (and prom-client loaded) on first use. */
  readonly registry: Registry;
  /** Handler latency histogram, observed per handled message. */
  observeHandler(seconds: number): void;
  render(): Promise<string>;
  readonly contentType: string;
}

export function createMetrics(
  read: () => ServerStats & { connections: number; penalties: number; anomalies: number },
  prefix = 'wsguard_',
): Metrics {
  const bounds = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
  const histogram = createPlainHistogram(
    `${prefix}handler_duration_seconds`,
    'Time from a message passing the pipeline to its handler finishing',
    bounds,
  );
  // prom-client is an optional peer: loaded at the first scrape, so an app that never serves
  // /metrics never needs it installed.
  let registry: Registry | undefined;
  const get = () => {
    registry ??= createRegistry(read, prefix, histogram.metric);
    return registry;
  };
  return {
    get registry() {
      return get();
    },
    observeHandler: histogram.observe,
    render: async () => get().metrics(),
    contentType: PROMETHEUS_CONTENT_TYPE,
  };
}

/** The Prometheus text format's type, as prom-client's registry answers it. */
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function createRegistry(
  read: Parameters<typeof createMetrics>[0],
  prefix: string,
  histogram: Metric,
): Registry {
  const { Counter, Gauge, Registry } = loadOptional<typeof import('prom-client')>(
    'prom-client',
    'The /metrics endpoint',
  );
  const registry = new Registry();
  const counter = (name: string, help: string, value: (s: ReturnType<typeof read>) => number) =>
    new Counter({
      name: `${prefix}${name}`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value(read()));
      },
    });
  counter('connections_total', 'WebSocket connections accepted', (s) => s.connections);
  counter('messages_received_total', 'Messages received', (s) => s.messagesIn);
  counter('messages_sent_total', 'Messages sent', (s) => s.messagesOut);
  counter('bytes_received_total', 'Bytes received', (s) => s.bytesIn);
  counter('bytes_sent_total', 'Bytes sent', (s) => s.bytesOut);
  counter('penalties_total', 'Blocks and bans imposed', (s) => s.penalties);
  counter('anomalies_total', 'Anomaly thresholds crossed', (s) => s.anomalies);
  new Counter({
    name: `${prefix}rejections_total`,
    help: 'Messages and upgrades refused, by error code',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, n] of Object.entries(read().rejections)) this.inc({ code }, n as number);
    },
  });
  new Counter({
    name: `${prefix}closes_total`,
    help: 'Sockets closed, by close code',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, n] of Object.entries(read().closes)) this.inc({ code }, n);
    },
  });
  new Gauge({
    name: `${prefix}sockets_open`,
    help: 'Sockets open now',
    registers: [registry],
    collect() {
      this.set(read().socketsOpen);
    },
  });
  new Gauge({
    name: `${prefix}sockets_authenticated`,
    help: 'Authenticated sockets open now',
    registers: [registry],
    collect() {
      this.set(read().socketsAuthenticated);
    },
  });
  registry.registerMetric(histogram);
  return registry;
}

/**
 * A histogram counted in plain numbers on the hot path (prom-client's observe costs a label
 * hash and object lookups per message) and handed to prom-client when scraped, in the shape
 * its own Histogram exports, so /metrics reads the same.
 */
function createPlainHistogram(
  name: string,
  help: string,
  bounds: readonly number[],
): { observe(value: number): void; metric: Metric } {
  // counts[i]: values in (bounds[i-1], bounds[i]]; the last slot is above every bound.
  const counts = new Float64Array(bounds.length + 1);
  let sum = 0;
  let count = 0;
  type Value = { labels: Record<string, string | number>; value: number; metricName: string };
  const values = (): Value[] => {
    let acc = 0;
    const out: Value[] = bounds.map((le, i) => {
      acc += counts[i] as number;
      return { labels: { le }, value: acc, metricName: `${name}_bucket` };
    });
    out.push(
      { labels: { le: '+Inf' }, value: count, metricName: `${name}_bucket` },
      { labels: {}, value: sum, metricName: `${name}_sum` },
      { labels: {}, value: count, metricName: `${name}_count` },
    );
    return out;
  };
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({ name, help, type: 'histogram', aggregator: 'sum', values: values() }),
    reset() {
      counts.fill(0);
      sum = 0;
      count = 0;
    },
  };
  return {
    metric: metric as unknown as Metric,
    observe(value) {
      let i = 0;
      while (i < bounds.length && value > (bounds[i] as number)) i++;
      counts[i] = (counts[i] as number) + 1;
      sum += value;
      count++;
    },
  };
}

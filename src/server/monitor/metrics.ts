import { Counter, Gauge, type Metric, Registry } from 'prom-client';
import { isErrorCode } from '../../protocol/index.js';
import type { ServerStats } from './stats.js';

/**
 * Prometheus metrics in a registry of this server's own (not prom-client's global one, so two
 * servers in one process do not clash). Counters read the live stats when scraped: nothing is
 * counted twice and the hot path only increments plain numbers. A scrape reads the stats once
 * (not once per metric) and scrapes that arrive while one renders share its text, so a scrape
 * costs O(series) however often it is asked for. Label values come from fixed sets: `code` of
 * `rejections_total` is a registered `WSG_*` code, `code` of `closes_total` an RFC 6455 or
 * wsguard close code, anything else `other`.
 */
export interface Metrics {
  registry: Registry;
  /** Handler latency histogram, observed per handled message. */
  observeHandler(seconds: number): void;
  render(): Promise<string>;
  readonly contentType: string;
}

export function createMetrics(
  read: () => ServerStats & { connections: number; penalties: number; anomalies: number },
  prefix = 'wsguard_',
): Metrics {
  const registry = new Registry();
  let snapshot: ReturnType<typeof read> | undefined;
  const current = () => {
    snapshot ??= read();
    return snapshot;
  };
  let rendering: Promise<string> | undefined;
  const counter = (name: string, help: string, value: (s: ReturnType<typeof read>) => number) =>
    new Counter({
      name: `${prefix}${name}`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value(current()));
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
      for (const [code, n] of Object.entries(current().rejections)) {
        this.inc({ code: isErrorCode(code) ? code : 'other' }, n as number);
      }
    },
  });
  new Counter({
    name: `${prefix}closes_total`,
    help: 'Sockets closed, by close code',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, n] of Object.entries(current().closes)) {
        this.inc({ code: /^[14]\d{3}$/.test(code) ? code : 'other' }, n);
      }
    },
  });
  new Gauge({
    name: `${prefix}sockets_open`,
    help: 'Sockets open now',
    registers: [registry],
    collect() {
      this.set(current().socketsOpen);
    },
  });
  new Gauge({
    name: `${prefix}sockets_authenticated`,
    help: 'Authenticated sockets open now',
    registers: [registry],
    collect() {
      this.set(current().socketsAuthenticated);
    },
  });
  const histogram = createPlainHistogram(
    registry,
    `${prefix}handler_duration_seconds`,
    'Time from a message passing the pipeline to its handler finishing',
    [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  );
  return {
    registry,
    observeHandler: histogram.observe,
    render() {
      rendering ??= registry.metrics().finally(() => {
        snapshot = undefined;
        rendering = undefined;
      });
      return rendering;
    },
    contentType: registry.contentType,
  };
}

/**
 * A histogram counted in plain numbers on the hot path (prom-client's observe costs a label
 * hash and object lookups per message) and handed to prom-client when scraped, in the shape
 * its own Histogram exports, so /metrics reads the same.
 */
function createPlainHistogram(
  registry: Registry,
  name: string,
  help: string,
  bounds: readonly number[],
): { observe(value: number): void } {
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
  registry.registerMetric(metric as unknown as Metric);
  return {
    observe(value) {
      let i = 0;
      while (i < bounds.length && value > (bounds[i] as number)) i++;
      counts[i] = (counts[i] as number) + 1;
      sum += value;
      count++;
    },
  };
}

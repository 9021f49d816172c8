import type { Metric, Registry } from 'prom-client';
import { isErrorCode } from '../../protocol/index.js';
import { loadOptional } from '../optional.js';
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
  /** The registry, made (and prom-client loaded) on first use. */
  readonly registry: Registry;
  /** Handler latency histogram, observed per handled message. */
  observeHandler(seconds: number): void;
  render(): Promise<string>;
  readonly contentType: string;
}

export function createMetrics(read: () => Snapshot, prefix = 'wsguard_'): Metrics {
  const histogram = createPlainHistogram(
    `${prefix}handler_duration_seconds`,
    'Time from a message passing the pipeline to its handler finishing',
    [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  );
  let snapshot: ReturnType<typeof read> | undefined;
  const current = () => {
    snapshot ??= read();
    return snapshot;
  };
  let rendering: Promise<string> | undefined;
  // prom-client is an optional peer: loaded at the first scrape, so an app that never serves
  // /metrics never needs it installed.
  let registry: Registry | undefined;
  const get = (): Registry => {
    if (registry) return registry;
    const prom = loadOptional<typeof import('prom-client')>('prom-client', 'The /metrics endpoint');
    const r = new prom.Registry();
    registerMetrics(prom, r, prefix, current);
    r.registerMetric(histogram.metric);
    registry = r;
    return r;
  };
  return {
    get registry() {
      return get();
    },
    observeHandler: histogram.observe,
    render() {
      // A missing prom-client rejects the scrape (answered 501) rather than throwing here.
      rendering ??= Promise.resolve()
        .then(() => get().metrics())
        .finally(() => {
          snapshot = undefined;
          rendering = undefined;
        });
      return rendering;
    },
    contentType: PROMETHEUS_CONTENT_TYPE,
  };
}

/** The Prometheus text format's type, as prom-client's registry answers it. */
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Snapshot = ServerStats & { connections: number; penalties: number; anomalies: number };

function registerMetrics(
  { Counter, Gauge }: typeof import('prom-client'),
  registry: Registry,
  prefix: string,
  current: () => Snapshot,
): void {
  const counter = (name: string, help: string, value: (s: Snapshot) => number) =>
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

import { packageVersion } from '../../package-root.js';
import type { EventBus } from '../events.js';
import type { Store } from '../stores/types.js';
import { createHttpHandler, type HttpEndpointsOptions, type HttpHandler } from './http.js';
import { createMetrics } from './metrics.js';
import {
  countEvents,
  createStats,
  createStatsCounters,
  type ServerStats,
  type StatsCounters,
} from './stats.js';

export interface Monitoring {
  /** Plain numbers the hot path increments. */
  counters: StatsCounters;
  stats(): ServerStats;
  /** A handler ran for `ms` (latency ring and histogram). */
  handled(ms: number): void;
  /** Answers /healthz and /metrics. */
  httpHandler: HttpHandler;
}

/** stats(), /metrics and /healthz over one set of counters. */
export function createMonitoring(o: {
  http: HttpEndpointsOptions;
  events: EventBus;
  store: Pick<Store, 'kind' | 'status'>;
  sockets: () => { open: number; authenticated: number };
  closing: () => boolean;
  now: () => number;
}): Monitoring {
  const { store, now } = o;
  const counters = createStatsCounters(now);
  const stats = createStats(counters, o.sockets, now);
  countEvents(o.events, counters, now);
  const metrics = createMetrics(() => ({
    ...stats(),
    connections: counters.connections,
    penalties: counters.penalties,
    anomalies: counters.anomalies,
  }));
  const version = packageVersion();
  const httpHandler = createHttpHandler({
    options: o.http,
    health: () => {
      const storeStatus = store.status();
      return {
        status: o.closing() ? 'closing' : storeStatus === 'ok' ? 'ok' : 'degraded',
        sockets: o.sockets(),
        store: { kind: store.kind, status: storeStatus },
        version,
        uptimeMs: now() - counters.startedAt,
      };
    },
    metrics: () => metrics.render(),
    metricsContentType: metrics.contentType,
  });
  return {
    counters,
    stats,
    handled(ms) {
      counters.recordLatency(ms);
      metrics.observeHandler(ms / 1000);
    },
    httpHandler,
  };
}

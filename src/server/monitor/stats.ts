import { CloseCode, type ErrorCode } from '../../protocol/index.js';
import type { SecurityEvent } from '../events.js';

/** Live figures of one server (wss.stats()). */
export interface ServerStats {
  /** Sockets open now, authenticated or not. */
  socketsOpen: number;
  socketsAuthenticated: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Refusals by error code since start. */
  rejections: Partial<Record<ErrorCode, number>>;
  /** Socket closes by close code since start. */
  closes: Record<string, number>;
  /** Blocks and bans made by this process that have not ended yet. */
  activeBlocks: number;
  /** Handler latency over the last 1,024 handled messages, ms. */
  handlerLatencyMs: { p50: number; p99: number; samples: number };
  uptimeMs: number;
}

const RING = 1024;

/** Counters for stats() and /metrics; plain numbers so the hot path pays an increment. */
export interface StatsCounters {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  connections: number;
  rejections: Map<string, number>;
  /** Keyed by closeLabel(code). */
  closes: Map<number | 'other', number>;
  penalties: number;
  anomalies: number;
  /** ms until each live block ends, keyed by what is blocked. */
  blocks: Map<string, number>;
  recordLatency(ms: number): void;
  latency(): { p50: number; p99: number; samples: number };
  readonly startedAt: number;
}

/**
 * The fixed label values of close codes: RFC 6455's and wsguard's. Any other code a peer sends
 * (3000-4999 are the peer's to pick) counts as `other`, so a client cannot add series or map
 * entries by closing with a new code.
 */
const KNOWN_CLOSE_CODES: ReadonlySet<number> = new Set([
  1000,
  1001,
  1002,
  1003,
  1005,
  1006,
  1007,
  1008,
  1009,
  1010,
  1011,
  1012,
  1013,
  1014,
  1015,
  ...Object.values(CloseCode),
]);

/** The label a close code is counted under: the code itself when known, else `other`. */
export function closeLabel(code: number): number | 'other' {
  return KNOWN_CLOSE_CODES.has(code) ? code : 'other';
}

export function createStatsCounters(now: () => number = Date.now): StatsCounters {
  const ring = new Float64Array(RING);
  let written = 0;
  // Percentiles of the ring, kept until the next sample: reading stats() twice sorts once.
  let cached: { written: number; value: { p50: number; p99: number; samples: number } } | undefined;
  return {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    connections: 0,
    rejections: new Map(),
    closes: new Map(),
    penalties: 0,
    anomalies: 0,
    blocks: new Map(),
    startedAt: now(),
    recordLatency(ms) {
      ring[written % RING] = ms;
      written++;
    },
    latency() {
      if (cached?.written === written) return cached.value;
      const n = Math.min(written, RING);
      if (n === 0) return { p50: 0, p99: 0, samples: 0 };
      const sorted = Array.from(ring.subarray(0, n)).sort((a, b) => a - b);
      const at = (q: number) =>
        Math.round((sorted[Math.min(n - 1, Math.floor(q * n))] as number) * 1000) / 1000;
      cached = { written, value: { p50: at(0.5), p99: at(0.99), samples: n } };
      return cached.value;
    },
  };
}

export function countUp<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** stats() over the counters; `sockets` says how many are open and authenticated now. */
export function createStats(
  counters: StatsCounters,
  sockets: () => { open: number; authenticated: number },
  now: () => number,
): () => ServerStats {
  return () => {
    const t = now();
    let activeBlocks = 0;
    for (const until of counters.blocks.values()) if (until > t) activeBlocks++;
    const s = sockets();
    return {
      socketsOpen: s.open,
      socketsAuthenticated: s.authenticated,
      messagesIn: counters.messagesIn,
      messagesOut: counters.messagesOut,
      bytesIn: counters.bytesIn,
      bytesOut: counters.bytesOut,
      rejections: Object.fromEntries(counters.rejections),
      closes: Object.fromEntries([...counters.closes].map(([k, v]) => [String(k), v])),
      activeBlocks,
      handlerLatencyMs: counters.latency(),
      uptimeMs: t - counters.startedAt,
    };
  };
}

/** Counts penalties, anomalies and live blocks from the security events; returns the unsubscribe. */
export function countEvents(
  events: { subscribe(listener: (e: SecurityEvent) => void): () => void },
  counters: StatsCounters,
  now: () => number,
): () => void {
  return events.subscribe((e) => {
    if (e.event === 'penalty.blocked') {
      counters.penalties++;
      const d = e.detail as { blockMs?: number; banMs?: number } | undefined;
      const ms = d?.blockMs ?? d?.banMs;
      if (ms !== undefined) counters.blocks.set(`${e.code}:${e.userId ?? ''}:${e.ip ?? ''}`, now() + ms);
    } else if (e.event === 'anomaly.flagged') counters.anomalies++;
  });
}

/** Forgets blocks that have ended. */
export function sweepBlocks(counters: StatsCounters, now: number): void {
  for (const [k, until] of counters.blocks) if (until <= now) counters.blocks.delete(k);
}

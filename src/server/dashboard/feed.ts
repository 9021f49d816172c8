import { createBoundedMap } from '../bounded-map.js';
import type { ChannelStats } from '../channels/index.js';
import type { EventBus, SecurityEvent } from '../events.js';
import type { ServerStats } from '../monitor/stats.js';
import type { Store } from '../stores/types.js';

/** What the page lists of one security event: names, codes and ids, never tokens or payloads. */
export interface FeedEvent {
  t: number;
  node: string;
  event: string;
  level: string;
  code?: string;
  closeCode?: number;
  ip?: string;
  userId?: string;
  sessionId?: string;
  connectionId?: string;
  /** Only for admin actions and anomaly crossings: which action, which score. */
  note?: string;
}

export interface Offender {
  kind: 'ip' | 'user';
  id: string;
  score: number;
  strikes: number;
  /** Ms since the epoch when its current block or ban ends (0: none). */
  blockedUntil: number;
  lastSeen: number;
}

/** One channel as the page lists it: its name and its subscribers (one node's, or summed). */
export interface ChannelRow {
  channel: string;
  subscribers: number;
}

/** One node's figures for one interval, as published to the other nodes. */
export interface NodeSample {
  node: string;
  t: number;
  socketsOpen: number;
  socketsAuthenticated: number;
  messagesInPerSec: number;
  messagesOutPerSec: number;
  p50: number;
  p99: number;
  refusals: Record<string, number>;
  anomalies: number;
  blocks: number;
  bans: number;
  offenders: Offender[];
  events: FeedEvent[];
  /** Subscriptions of this node's sockets, and channels with a subscriber here. */
  subscriptions: number;
  channelCount: number;
  /** Publications written to this node's sockets, per second. */
  deliveriesPerSec: number;
  /** This node's busiest channels, most subscribers first. */
  topChannels: ChannelRow[];
}

/** One point of the 15-minute history, summed over the nodes. */
export interface HistoryPoint {
  t: number;
  refusals: Record<string, number>;
  anomalies: number;
  blocks: number;
  bans: number;
}

export const SAMPLE_CHANNEL = 'wsguard:dashboard:sample';
const HISTORY = 900;
const EVENTS_KEPT = 500;
const EVENTS_PER_SAMPLE = 200;
const TOP = 20;
/** Channels each node reports, and the page lists. */
const TOP_CHANNELS = 10;

/**
 * The busiest channels over the nodes: each node's own busiest (the first TOP_CHANNELS of its
 * list), summed by name. A channel only some nodes list misses the others' subscribers
 * (docs/dashboard.md says so).
 */
export function mergeChannels(samples: Iterable<Pick<NodeSample, 'topChannels'>>): ChannelRow[] {
  const sums = new Map<string, number>();
  for (const s of samples) {
    // A sample from another node (another version, or no channels) may lack the list.
    if (!Array.isArray(s.topChannels)) continue;
    for (const c of s.topChannels.slice(0, TOP_CHANNELS)) {
      if (typeof c?.channel !== 'string' || !Number.isFinite(c.subscribers)) continue;
      sums.set(c.channel, (sums.get(c.channel) ?? 0) + c.subscribers);
    }
  }
  return [...sums]
    .map(([channel, subscribers]) => ({ channel, subscribers }))
    .sort((a, b) => b.subscribers - a.subscribers || (a.channel < b.channel ? -1 : 1))
    .slice(0, TOP_CHANNELS);
}

export function toFeedEvent(e: SecurityEvent, node: string, t: number): FeedEvent {
  const f: FeedEvent = { t, node, event: e.event, level: e.level };
  if (e.code !== undefined) f.code = e.code;
  if (e.closeCode !== undefined) f.closeCode = e.closeCode;
  if (e.ip !== undefined) f.ip = e.ip;
  if (e.userId !== undefined) f.userId = e.userId;
  if (e.sessionId !== undefined) f.sessionId = e.sessionId;
  if (e.connectionId !== undefined) f.connectionId = e.connectionId;
  const d = e.detail as { action?: unknown; score?: unknown; admin?: unknown } | undefined;
  if (e.event === 'anomaly.flagged' && typeof d?.score === 'number')
    f.note = `${String(d.action)} score ${d.score.toFixed(1)}`;
  if ((e.event as string) === 'admin.action' && typeof d?.action === 'string')
    f.note = `${d.action} by ${String(d.admin)}`;
  return f;
}

/**
 * This node's side of the dashboard: turns stats() and the security events into per-second
 * samples, publishes them on the store's pub/sub, and merges every node's samples into what the
 * page shows. Everything it keeps is bounded (offenders, events, history).
 */
export function createFeed(o: {
  node: string;
  stats: () => ServerStats;
  events: EventBus;
  store: Store;
  /** This node's channels (wss.channels()); without it the page shows none. */
  channels?: () => ChannelStats;
  intervalMs: number;
  now: () => number;
  push: (snapshot: unknown) => void;
}) {
  const { node, now } = o;
  const offenders = createBoundedMap<Offender>(2000, now);
  let pendingEvents: FeedEvent[] = [];
  let anomalies = 0;
  let blocks = 0;
  let bans = 0;
  let last = o.stats();
  let lastDeliveries = o.channels?.().deliveries ?? 0;
  let lastAt = now();

  const offender = (kind: 'ip' | 'user', id: string) => {
    const key = `${kind}:${id}`;
    const t = now();
    let e = offenders.get(key);
    if (!e) {
      e = { kind, id, score: 0, strikes: 0, blockedUntil: 0, lastSeen: t };
    }
    e.lastSeen = t;
    offenders.set(key, e, t + 15 * 60_000);
    return e;
  };

  /** The offenders' keys (the bounded map cannot be iterated); capped like the map. */
  const recentKeys = new Set<string>();
  const unsubscribeEvents = o.events.subscribe((e) => {
    const t = now();
    if (pendingEvents.length < EVENTS_PER_SAMPLE) pendingEvents.push(toFeedEvent(e, node, t));
    if (e.event === 'anomaly.flagged') anomalies++;
    if (e.event === 'penalty.blocked') {
      if (e.code === 'WSG_BANNED') bans++;
      else blocks++;
    }
    if (e.level !== 'warn' || e.code === undefined) return;
    if (recentKeys.size < 2000) {
      if (e.ip !== undefined) recentKeys.add(`ip:${e.ip}`);
      if (e.userId !== undefined) recentKeys.add(`user:${e.userId}`);
    }
    const targets: Offender[] = [];
    if (e.ip !== undefined) targets.push(offender('ip', e.ip));
    if (e.userId !== undefined) targets.push(offender('user', e.userId));
    const d = e.detail as { score?: unknown; blockMs?: unknown; banMs?: unknown } | undefined;
    for (const x of targets) {
      if (e.event === 'penalty.blocked') {
        const ms = typeof d?.blockMs === 'number' ? d.blockMs : typeof d?.banMs === 'number' ? d.banMs : 0;
        // A ban is on the IP, a block on whoever the event names.
        if (e.code !== 'WSG_BANNED' || x.kind === 'ip') x.blockedUntil = Math.max(x.blockedUntil, t + ms);
      } else if (e.event === 'anomaly.flagged' && typeof d?.score === 'number') {
        x.score = Math.max(x.score, d.score);
      } else x.strikes++;
    }
  });

  /** Lifts what the page shows of a block once an admin lifts the block itself. */
  const cleared = (kind: 'ip' | 'user', id: string) => {
    const e = offenders.get(`${kind}:${id}`);
    if (e) e.blockedUntil = 0;
  };

  const sample = (): NodeSample => {
    const s = o.stats();
    const t = now();
    const secs = Math.max(0.001, (t - lastAt) / 1000);
    const refusals: Record<string, number> = {};
    for (const [code, n] of Object.entries(s.rejections)) {
      const diff = n - ((last.rejections as Record<string, number>)[code] ?? 0);
      if (diff > 0) refusals[code] = diff / secs;
    }
    const top: Offender[] = [];
    const all: Offender[] = [];
    // BoundedMap has no iteration: the ids seen in recent events are the candidates.
    for (const key of recentKeys) {
      const e = offenders.get(key);
      if (e) all.push(e);
      else recentKeys.delete(key);
    }
    all.sort((a, b) => b.score - a.score || b.strikes - a.strikes);
    for (const e of all.slice(0, TOP)) top.push({ ...e });
    const ch = o.channels?.();
    const deliveries = ch?.deliveries ?? 0;
    const out: NodeSample = {
      node,
      t,
      socketsOpen: s.socketsOpen,
      socketsAuthenticated: s.socketsAuthenticated,
      messagesInPerSec: (s.messagesIn - last.messagesIn) / secs,
      messagesOutPerSec: (s.messagesOut - last.messagesOut) / secs,
      p50: s.handlerLatencyMs.p50,
      p99: s.handlerLatencyMs.p99,
      refusals,
      anomalies,
      blocks,
      bans,
      offenders: top,
      events: pendingEvents,
      subscriptions: ch?.subscriptions ?? 0,
      channelCount: ch?.channels ?? 0,
      deliveriesPerSec: Math.max(0, deliveries - lastDeliveries) / secs,
      topChannels: (ch?.top ?? [])
        .slice(0, TOP_CHANNELS)
        .map(({ channel, subscribers }) => ({ channel, subscribers })),
    };
    last = s;
    lastDeliveries = deliveries;
    lastAt = t;
    pendingEvents = [];
    anomalies = 0;
    blocks = 0;
    bans = 0;
    return out;
  };

  // ---- every node's samples, merged ----
  const nodes = new Map<string, NodeSample>();
  let arrived: NodeSample[] = [];
  const history: HistoryPoint[] = [];
  const events: FeedEvent[] = [];
  const receive = (s: NodeSample) => {
    if (arrived.length < 64) arrived.push(s);
  };
  const unsubscribeSamples = o.store.subscribe(SAMPLE_CHANNEL, (message) => {
    try {
      const s = JSON.parse(message) as NodeSample;
      if (s.node !== node && typeof s.node === 'string') receive(s);
    } catch {
      // Not a sample: ignore.
    }
  });

  const tick = () => {
    const mine = sample();
    void Promise.resolve(o.store.publish(SAMPLE_CHANNEL, JSON.stringify(mine))).catch(() => {});
    const batch = [mine, ...arrived];
    arrived = [];
    const t = now();
    for (const s of batch) nodes.set(s.node, s);
    for (const [id, s] of nodes) if (t - s.t > 5 * o.intervalMs + 2000) nodes.delete(id);
    const point: HistoryPoint = { t, refusals: {}, anomalies: 0, blocks: 0, bans: 0 };
    const fresh: FeedEvent[] = [];
    for (const s of batch) {
      for (const [code, n] of Object.entries(s.refusals))
        point.refusals[code] = (point.refusals[code] ?? 0) + n;
      point.anomalies += s.anomalies;
      point.blocks += s.blocks;
      point.bans += s.bans;
      fresh.push(...s.events);
    }
    history.push(point);
    if (history.length > HISTORY) history.splice(0, history.length - HISTORY);
    fresh.sort((a, b) => a.t - b.t);
    events.push(...fresh);
    if (events.length > EVENTS_KEPT) events.splice(0, events.length - EVENTS_KEPT);
    const merged = new Map<string, Offender>();
    for (const s of nodes.values()) {
      for (const x of s.offenders) {
        const key = `${x.kind}:${x.id}`;
        const m = merged.get(key);
        if (!m) merged.set(key, { ...x });
        else {
          m.score = Math.max(m.score, x.score);
          m.strikes += x.strikes;
          m.blockedUntil = Math.max(m.blockedUntil, x.blockedUntil);
          m.lastSeen = Math.max(m.lastSeen, x.lastSeen);
        }
      }
    }
    const offenderList = [...merged.values()]
      .sort((a, b) => b.score - a.score || b.strikes - a.strikes)
      .slice(0, TOP);
    o.push({
      t,
      nodes: [...nodes.values()].map(
        ({ offenders: _o, events: _e, refusals: _r, topChannels: _c, ...rest }) => rest,
      ),
      point,
      offenders: offenderList,
      events: fresh,
      channels: mergeChannels(nodes.values()),
    });
  };
  const timer = setInterval(tick, o.intervalMs);
  timer.unref();

  return {
    /** What a page that just connected needs: the last 15 minutes and the recent events. */
    initial: () => ({ node, history, events }),
    /** Runs one interval now (the timer does this every `intervalMs`). */
    tick,
    cleared,
    close() {
      clearInterval(timer);
      unsubscribeEvents();
      unsubscribeSamples();
    },
  };
}

export type Feed = ReturnType<typeof createFeed>;

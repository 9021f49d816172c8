import { describe, expect, it } from 'vitest';
import type { ChannelStats } from '../../../src/server/channels/index.js';
import {
  createFeed,
  mergeChannels,
  SAMPLE_CHANNEL,
  toFeedEvent,
} from '../../../src/server/dashboard/feed.js';
import { createEventBus, type SecurityEvent } from '../../../src/server/events.js';
import type { ServerStats } from '../../../src/server/index.js';
import { memoryStore } from '../../../src/server/index.js';

const stats = (over: Partial<ServerStats> = {}): ServerStats => ({
  socketsOpen: 0,
  socketsAuthenticated: 0,
  messagesIn: 0,
  messagesOut: 0,
  bytesIn: 0,
  bytesOut: 0,
  rejections: {},
  closes: {},
  activeBlocks: 0,
  handlerLatencyMs: { p50: 0, p99: 0, samples: 0 },
  uptimeMs: 0,
  ...over,
});

describe('toFeedEvent', () => {
  it('keeps names, codes and ids, never the detail', () => {
    const e: SecurityEvent = {
      event: 'validation.failure',
      level: 'warn',
      ip: '10.0.0.1',
      userId: 'u',
      connectionId: 'c',
      code: 'WSG_VALIDATION_FAILED',
      detail: 'chat: {"token":"eyJsecret","text":"payload"}',
    };
    const f = toFeedEvent(e, 'n1', 5);
    expect(f).toEqual({
      t: 5,
      node: 'n1',
      event: 'validation.failure',
      level: 'warn',
      code: 'WSG_VALIDATION_FAILED',
      ip: '10.0.0.1',
      userId: 'u',
      connectionId: 'c',
    });
    expect(JSON.stringify(f)).not.toContain('secret');
  });
});

describe('createFeed', () => {
  it('pushes rates, refusals, offenders and events, and merges samples from other nodes', async () => {
    let t = 10_000;
    let current = stats();
    const events = createEventBus(undefined);
    const store = memoryStore();
    const pushed: Record<string, unknown>[] = [];
    const feed = createFeed({
      node: 'n1',
      stats: () => current,
      events,
      store,
      intervalMs: 60_000,
      now: () => t,
      push: (s) => pushed.push(s as Record<string, unknown>),
    });
    for (let i = 0; i < 3; i++)
      events.emit({
        event: 'rate.limited',
        level: 'warn',
        ip: '10.6.6.6',
        userId: 'm',
        code: 'WSG_RATE_LIMITED',
      });
    events.emit({
      event: 'penalty.blocked',
      level: 'warn',
      ip: '10.6.6.6',
      userId: 'm',
      code: 'WSG_BLOCKED',
      detail: { blockMs: 30_000 },
    });
    events.emit({
      event: 'anomaly.flagged',
      level: 'warn',
      ip: '10.6.6.6',
      code: 'WSG_ANOMALY',
      detail: { action: 'warn', score: 12.5 },
    });
    store.publish(
      SAMPLE_CHANNEL,
      JSON.stringify({
        node: 'n2',
        t,
        socketsOpen: 7,
        socketsAuthenticated: 5,
        messagesInPerSec: 0,
        messagesOutPerSec: 0,
        p50: 0,
        p99: 0,
        refusals: { WSG_RATE_LIMITED: 2 },
        anomalies: 0,
        blocks: 0,
        bans: 0,
        offenders: [],
        events: [],
      }),
    );
    store.publish(SAMPLE_CHANNEL, 'not json');
    await new Promise((r) => setTimeout(r, 10));
    t += 2000;
    current = stats({ socketsOpen: 3, messagesIn: 40, rejections: { WSG_RATE_LIMITED: 6 } });
    feed.tick();
    feed.close();
    await store.close();
    const snap = pushed[0] as {
      nodes: { node: string; socketsOpen: number; messagesInPerSec: number }[];
      point: { refusals: Record<string, number>; anomalies: number; blocks: number };
      offenders: { kind: string; id: string; score: number; strikes: number; blockedUntil: number }[];
      events: { event: string }[];
    };
    expect(snap.nodes.map((n) => [n.node, n.socketsOpen]).sort()).toEqual([
      ['n1', 3],
      ['n2', 7],
    ]);
    expect(snap.nodes.find((n) => n.node === 'n1')?.messagesInPerSec).toBe(20);
    // 6 refusals in 2 s here, 2 per second on n2.
    expect(snap.point.refusals).toEqual({ WSG_RATE_LIMITED: 5 });
    expect(snap.point.anomalies).toBe(1);
    expect(snap.point.blocks).toBe(1);
    expect(snap.offenders[0]).toMatchObject({
      kind: 'ip',
      id: '10.6.6.6',
      score: 12.5,
      strikes: 3,
      blockedUntil: 10_000 + 30_000,
    });
    expect(snap.offenders.find((o) => o.kind === 'user')).toMatchObject({ id: 'm', strikes: 3 });
    expect(snap.events.map((e) => e.event)).toEqual([
      'rate.limited',
      'rate.limited',
      'rate.limited',
      'penalty.blocked',
      'anomaly.flagged',
    ]);
    expect(feed.initial().history).toHaveLength(1);
    feed.cleared('ip', '10.6.6.6');
  });

  it("shows this node's channels and the busiest channels summed over the nodes", async () => {
    let t = 10_000;
    let channels: ChannelStats = { channels: 2, subscriptions: 5, top: [], deliveries: 100 };
    const store = memoryStore();
    const pushed: Record<string, unknown>[] = [];
    const feed = createFeed({
      node: 'n1',
      stats: () => stats(),
      events: createEventBus(undefined),
      store,
      channels: () => channels,
      intervalMs: 60_000,
      now: () => t,
      push: (s) => pushed.push(s as Record<string, unknown>),
    });
    const other = (topChannels: unknown) =>
      store.publish(
        SAMPLE_CHANNEL,
        JSON.stringify({
          ...{ node: 'n2', t, socketsOpen: 0, socketsAuthenticated: 0, messagesInPerSec: 0 },
          ...{ messagesOutPerSec: 0, p50: 0, p99: 0, refusals: {}, anomalies: 0, blocks: 0, bans: 0 },
          ...{ offenders: [], events: [], subscriptions: 4, channelCount: 2, deliveriesPerSec: 3 },
          topChannels,
        }),
      );
    other([
      { channel: 'room:lobby', subscribers: 3 },
      { channel: 'room:n2-only', subscribers: 1 },
      { channel: 42, subscribers: 9 },
      { channel: 'room:junk', subscribers: 'many' },
    ]);
    await new Promise((r) => setTimeout(r, 10));
    t += 2000;
    channels = {
      channels: 2,
      subscriptions: 5,
      top: [
        { channel: 'room:lobby', subscribers: 4 },
        { channel: 'room:side', subscribers: 1 },
      ],
      deliveries: 160,
    };
    feed.tick();
    const snap = pushed[0] as {
      nodes: Record<string, unknown>[];
      channels: { channel: string; subscribers: number }[];
    };
    expect(snap.channels).toEqual([
      { channel: 'room:lobby', subscribers: 7 },
      { channel: 'room:n2-only', subscribers: 1 },
      { channel: 'room:side', subscribers: 1 },
    ]);
    const n1 = snap.nodes.find((n) => n.node === 'n1');
    // 60 deliveries in 2 s.
    expect(n1).toMatchObject({ subscriptions: 5, channelCount: 2, deliveriesPerSec: 30 });
    // The page's node rows carry the figures, not the list.
    expect(n1).not.toHaveProperty('topChannels');
    expect(snap.nodes.find((n) => n.node === 'n2')).toMatchObject({ subscriptions: 4 });

    // A node that reports no list (another version) counts for nothing, and breaks nothing.
    other(undefined);
    await new Promise((r) => setTimeout(r, 10));
    t += 1000;
    channels = { channels: 0, subscriptions: 0, top: [], deliveries: 160 };
    feed.tick();
    expect((pushed[1] as { channels: unknown[] }).channels).toEqual([]);
    feed.close();
    await store.close();
  });
});

describe('mergeChannels', () => {
  it('sums by name, most subscribers first, ten at most, reading ten of each node', () => {
    const many = Array.from({ length: 15 }, (_, i) => ({ channel: `c${i}`, subscribers: 20 - i }));
    const merged = mergeChannels([
      { topChannels: many },
      {
        topChannels: [
          { channel: 'c9', subscribers: 100 },
          ...Array.from({ length: 9 }, (_, i) => ({ channel: `x${i}`, subscribers: 1 })),
          // Past a node's first ten: not read.
          { channel: 'c14', subscribers: 1000 },
        ],
      },
    ]);
    expect(merged).toHaveLength(10);
    expect(merged[0]).toEqual({ channel: 'c9', subscribers: 111 });
    expect(merged.map((c) => c.channel)).not.toContain('c14');
    expect(merged.slice(1).map((c) => c.subscribers)).toEqual([20, 19, 18, 17, 16, 15, 14, 13, 12]);
  });
});

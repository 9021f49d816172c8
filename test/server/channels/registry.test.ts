import { describe, expect, it } from 'vitest';
import {
  createRegistry,
  type Member,
  publicationFrame,
  unsubscribedFrame,
} from '../../../src/server/channels/registry.js';
import { createMemoryPubSub } from '../../../src/server/stores/memory/pubsub.js';

function member(id: string): Member & { frames: string[] } {
  const frames: string[] = [];
  return { connectionId: id, user: { id }, state: 'open', frames, sendFrame: (f) => void frames.push(f) };
}

describe('channel registry', () => {
  it('writes one encoded frame to every local subscriber, and none to others', () => {
    const pubsub = createMemoryPubSub();
    const r = createRegistry(pubsub);
    const [a, b, c] = [member('a'), member('b'), member('c')];
    r.add(a, 'room:x', { params: {}, pattern: 'room:{n}', checked: true });
    r.add(b, 'room:x', { params: {}, pattern: 'room:{n}', checked: true });
    r.add(c, 'room:y', { params: {}, pattern: 'room:{n}', checked: true });
    const frame = publicationFrame('room:x', 'chat', { text: 'hi "there"' });
    expect(JSON.parse(frame)).toEqual({
      type: 'publication',
      channel: 'room:x',
      event: 'chat',
      payload: { text: 'hi "there"' },
    });
    r.publish('room:x', frame);
    // The very same string object goes to each socket: encoded once.
    expect(a.frames).toEqual([frame]);
    expect(b.frames[0]).toBe(a.frames[0]);
    expect(c.frames).toEqual([]);
    expect(r.stats()).toMatchObject({ channels: 2, subscriptions: 3, deliveries: 2 });
  });

  it('stats() lists the 20 busiest channels, most subscribers first, ties in the order they came', () => {
    const r = createRegistry(createMemoryPubSub());
    const sub = { params: {}, pattern: 'room:{n}', checked: true };
    // 30 channels: room:i has i % 7 + 1 subscribers.
    for (let i = 0; i < 30; i++)
      for (let k = 0; k <= i % 7; k++) r.add(member(`m${i}-${k}`), `room:${i}`, sub);
    const expected = Array.from({ length: 30 }, (_, i) => ({
      channel: `room:${i}`,
      subscribers: (i % 7) + 1,
    }))
      .sort((a, b) => b.subscribers - a.subscribers)
      .slice(0, 20);
    const stats = r.stats();
    expect(stats.top).toEqual(expected);
    expect(stats.top[0]).toEqual({ channel: 'room:6', subscribers: 7 });
    expect(stats).toMatchObject({ channels: 30, subscriptions: 115 });
  });

  it('the store subscription lives as long as a local subscriber does', () => {
    const subscribed: string[] = [];
    const inner = createMemoryPubSub();
    const r = createRegistry({
      publish: inner.publish,
      subscribe(channel, listener) {
        subscribed.push(channel);
        const off = inner.subscribe(channel, listener);
        return () => {
          subscribed.splice(subscribed.indexOf(channel), 1);
          off();
        };
      },
    });
    const [a, b] = [member('a'), member('b')];
    r.add(a, 'room:x', { params: {}, pattern: 'room:x', checked: false });
    r.add(b, 'room:x', { params: {}, pattern: 'room:x', checked: false });
    expect(subscribed).toEqual(['wsguard:ch:room:x']);
    expect(r.remove(a, 'room:x')).toBe(true);
    expect(r.remove(a, 'room:x')).toBe(false);
    expect(subscribed).toHaveLength(1);
    r.remove(b, 'room:x');
    expect(subscribed).toEqual([]);
    r.joinUser(a, 'a');
    r.joinUser(member('a2'), 'a');
    expect(subscribed).toEqual(['wsguard:u:a']);
    r.close();
    expect(subscribed).toEqual([]);
  });

  it('skips sockets that are no longer open; unsubscribed frames are valid JSON', () => {
    const r = createRegistry(createMemoryPubSub());
    const closing = { ...member('z'), state: 'closing' };
    r.add(closing, 'room:x', { params: {}, pattern: 'room:x', checked: true });
    r.publish('room:x', publicationFrame('room:x', 'e', undefined));
    expect(closing.frames).toEqual([]);
    expect(JSON.parse(unsubscribedFrame('room:x', 'WSG_FORBIDDEN'))).toEqual({
      type: 'unsubscribed',
      channel: 'room:x',
      code: 'WSG_FORBIDDEN',
    });
  });
});

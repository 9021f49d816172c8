import { describe, expect, it } from 'vitest';
import { createMemoryHistory } from '../../../src/server/stores/memory/history.js';
import { createMemoryPresence } from '../../../src/server/stores/memory/presence.js';
import { createMemoryPubSub } from '../../../src/server/stores/memory/pubsub.js';

const limits = { size: 20, ttlMs: 60_000, maxBytes: 100_000 };
const big = 'x'.repeat(30_000);

describe('memory history bounds', () => {
  it('keeps at most size entries and maxBytes per channel, with large payloads', () => {
    const pubsub = createMemoryPubSub();
    const got: string[] = [];
    pubsub.subscribe('ch', (f) => got.push(f));
    const h = createMemoryHistory(pubsub);
    for (let i = 0; i < 10; i++) h.append('room:big', 'ch', `{"p":"${big}${i}"`, limits);
    expect(got).toHaveLength(10);
    expect(JSON.parse(got[9] as string)).toMatchObject({ offset: 10 });
    const top = h.read('room:big', undefined, limits) as { epoch: string; offset: number };
    expect(top.offset).toBe(10);
    const kept = h.read('room:big', { epoch: top.epoch, offset: 7 }, limits) as { frames: string[] };
    expect(kept.frames).toHaveLength(3);
    expect(h.read('room:big', { epoch: top.epoch, offset: 6 }, limits)).toMatchObject({ frames: undefined });
    for (let i = 0; i < 50; i++) h.append('room:s', 'x', `{"i":${i}`, limits);
    const s = h.read('room:s', undefined, limits) as { epoch: string };
    expect(
      (h.read('room:s', { epoch: s.epoch, offset: 30 }, limits) as { frames: string[] }).frames,
    ).toHaveLength(20);
    expect(h.read('room:s', { epoch: s.epoch, offset: 29 }, limits)).toMatchObject({ frames: undefined });
  });

  it('keeps historyMaxBytes in total: the least recently used logs go whole, and start a new epoch', () => {
    const h = createMemoryHistory(createMemoryPubSub(), { historyMaxBytes: 300_000 });
    const epochs: string[] = [];
    for (let ch = 0; ch < 5; ch++) {
      for (let i = 0; i < 3; i++) h.append(`room:c${ch}`, 'x', `{"p":"${big}"`, limits);
      epochs.push((h.read(`room:c${ch}`, undefined, limits) as { epoch: string }).epoch);
    }
    const c0 = h.read('room:c0', { epoch: epochs[0] as string, offset: 0 }, limits) as {
      epoch: string;
      offset: number;
    };
    expect(c0.offset).toBe(0);
    expect(c0.epoch).not.toBe(epochs[0]);
    const c4 = h.read('room:c4', { epoch: epochs[4] as string, offset: 0 }, limits) as { frames: string[] };
    expect(c4.frames).toHaveLength(3);
  });

  it('keeps at most historyMaxChannels positions', () => {
    const h = createMemoryHistory(createMemoryPubSub(), { historyMaxChannels: 2 });
    h.append('a:1', 'x', '{"i":1', limits);
    const e = (h.read('a:1', undefined, limits) as { epoch: string }).epoch;
    h.append('a:2', 'x', '{"i":1', limits);
    h.append('a:3', 'x', '{"i":1', limits);
    expect(h.read('a:1', { epoch: e, offset: 0 }, limits)).toMatchObject({ offset: 0, frames: undefined });
  });
});

describe('memory presence', () => {
  it('a user is present while any node holds an unexpired mark', () => {
    let t = 0;
    const p = createMemoryPresence(() => t);
    expect(p.presenceAdd('room:a', 'u1', 'n1', 1000)).toBe(true);
    expect(p.presenceAdd('room:a', 'u1', 'n2', 1000)).toBe(false);
    expect(p.presenceRemove('room:a', 'u1', 'n1')).toBe(false);
    expect(p.presenceGet('room:a', 10)).toEqual({ count: 1, members: ['u1'] });
    t = 2000;
    expect(p.presenceRefresh('room:a', [], 'n1', 1000)).toEqual(['u1']);
    expect(p.presenceGet('room:a', 10)).toEqual({ count: 0, members: [] });
  });
});

import { describe, expect, it } from 'vitest';
import { createMemoryLimits } from '../../../src/server/stores/memory/limits.js';
import type { TakeResult } from '../../../src/server/stores/types.js';

describe('memory limits store', () => {
  it('stays bounded under 100,000 distinct keys', () => {
    const store = createMemoryLimits({ maxEntries: 1000 });
    for (let i = 0; i < 100_000; i++) {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      store.hit(`attempts:${ip}`, 60_000);
      store.take(`rate:user:${ip}`, { capacity: 10, refillPerSec: 1 }, 1);
      store.setBlock(`block:ip:${ip}`, { until: Date.now() + 60_000, level: 1, reason: 'x' });
    }
    expect(store.entries).toBeLessThanOrEqual(3000);
  });

  it('expires entries with their TTL', () => {
    let t = 0;
    const store = createMemoryLimits({ now: () => t });
    expect(store.hit('k', 1000)).toBe(1);
    expect(store.hit('k', 1000)).toBe(2);
    store.setBlock('b', { until: 500, level: 1, reason: 'x' });
    t = 1001;
    expect(store.getBlock('b')).toBeUndefined();
    expect(store.hit('k', 1000)).toBe(1);
  });

  it('take is a token bucket; acquire/release count concurrency', () => {
    const store = createMemoryLimits({ now: () => 0 });
    const spec = { capacity: 2, refillPerSec: 1 };
    expect((store.take('t', spec, 1) as TakeResult).allowed).toBe(true);
    expect((store.take('t', spec, 1) as TakeResult).allowed).toBe(true);
    expect(store.take('t', spec, 1)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 1000 });
    expect(store.acquire('c', 1000)).toBe(1);
    expect(store.acquire('c', 1000)).toBe(2);
    store.release('c');
    expect(store.acquire('c', 1000)).toBe(2);
  });
});

import { createBoundedMap } from '../../bounded-map.js';
import { takeTokens } from '../../limits/token-bucket.js';
import type { BlockRecord, LimitStore } from '../types.js';

export interface MemoryLimitsOptions {
  /** Clock, injectable for tests. @default Date.now */
  now?: () => number;
  /**
   * Most entries per kind (buckets, counters, blocks): past it the least recently written
   * entry is dropped, so a flood of distinct keys cannot grow memory without limit.
   * @default 100000
   */
  maxEntries?: number;
}

/** The rate-limit half of memoryStore(): every entry has a TTL and each kind a size cap. */
export function createMemoryLimits(
  options: MemoryLimitsOptions = {},
): LimitStore & { readonly entries: number } {
  const now = options.now ?? Date.now;
  const max = options.maxEntries ?? 100_000;
  const buckets = createBoundedMap<{ tokens: number; at: number }>(max, now);
  const windows = createBoundedMap<{ start: number; count: number }>(max, now);
  const counts = createBoundedMap<number>(max, now);
  const blocks = createBoundedMap<BlockRecord>(max, now);
  const offences = createBoundedMap<number[]>(max, now);
  return {
    get entries() {
      return buckets.size + windows.size + counts.size + blocks.size + offences.size;
    },
    take(key, spec, cost) {
      const t = now();
      // A bucket is full again (and so forgettable) after burst / rate seconds.
      const until = t + Math.ceil((spec.capacity / spec.refillPerSec) * 1000) + 1;
      let b = buckets.touch(key, t, until);
      if (b === undefined) {
        b = { tokens: spec.capacity, at: t };
        buckets.set(key, b, until);
      }
      const wait = takeTokens(b, spec.capacity, spec.refillPerSec, cost, t);
      return { allowed: wait === 0, remaining: wait === 0 ? b.tokens : 0, retryAfterMs: wait };
    },
    hit(key, windowMs) {
      const t = now();
      const w = windows.get(key);
      if (!w) {
        windows.set(key, { start: t, count: 1 }, t + windowMs);
        return 1;
      }
      w.count++;
      return w.count;
    },
    acquire(key, ttlMs) {
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n, now() + ttlMs);
      return n;
    },
    release(key) {
      const n = (counts.get(key) ?? 0) - 1;
      if (n <= 0) counts.delete(key);
      else counts.set(key, n, now() + 24 * 3600_000);
    },
    getBlock(key) {
      return blocks.get(key);
    },
    setBlock(key, block) {
      blocks.set(key, block, block.until);
    },
    offend(key, windowMs) {
      const t = now();
      const list = (offences.get(key) ?? []).filter((x) => t - x < windowMs);
      list.push(t);
      offences.set(key, list, t + windowMs);
      return list.length;
    },
  };
}

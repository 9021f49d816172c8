import type { BlockRecord, LimitStore } from '../types.js';

export interface MemoryLimitsOptions {
  /** Clock, injectable for tests. @default Date.now */
  now?: () => number;
}

// Placeholder owned by the rate-limits work: correct but unbounded. It is replaced by a
// bounded (TTL + LRU cap) implementation.
export function createMemoryLimits(options: MemoryLimitsOptions = {}): LimitStore {
  const now = options.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const windows = new Map<string, { start: number; count: number }>();
  const counts = new Map<string, number>();
  const blocks = new Map<string, BlockRecord>();
  const offences = new Map<string, number[]>();
  return {
    take(key, spec, cost) {
      const t = now();
      const b = buckets.get(key) ?? { tokens: spec.capacity, at: t };
      b.tokens = Math.min(spec.capacity, b.tokens + ((t - b.at) / 1000) * spec.refillPerSec);
      b.at = t;
      buckets.set(key, b);
      if (b.tokens >= cost) {
        b.tokens -= cost;
        return { allowed: true, remaining: b.tokens, retryAfterMs: 0 };
      }
      return { allowed: false, remaining: 0, retryAfterMs: ((cost - b.tokens) / spec.refillPerSec) * 1000 };
    },
    hit(key, windowMs) {
      const t = now();
      const w = windows.get(key);
      if (!w || t - w.start >= windowMs) {
        windows.set(key, { start: t, count: 1 });
        return 1;
      }
      w.count++;
      return w.count;
    },
    acquire(key) {
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      return n;
    },
    release(key) {
      const n = (counts.get(key) ?? 0) - 1;
      if (n <= 0) counts.delete(key);
      else counts.set(key, n);
    },
    getBlock(key) {
      const b = blocks.get(key);
      if (b && b.until <= now()) {
        blocks.delete(key);
        return undefined;
      }
      return b;
    },
    setBlock(key, block) {
      blocks.set(key, block);
    },
    offend(key, windowMs) {
      const t = now();
      const list = (offences.get(key) ?? []).filter((x) => t - x < windowMs);
      list.push(t);
      offences.set(key, list);
      return list.length;
    },
  };
}

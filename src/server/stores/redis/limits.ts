import { createBoundedMap } from '../../bounded-map.js';
import { randomId } from '../../ids.js';
import { createMemoryLimits } from '../memory/limits.js';
import type { BlockRecord, LimitStore, TakeResult } from '../types.js';
import type { RedisLink } from './link.js';

/**
 * Limits in Redis. Two local shortcuts keep the hot path off the network without letting
 * anyone past a limit: a refused bucket is refused here until the time Redis named, and a
 * block read from Redis is kept here until it ends. Both can only refuse, never allow.
 */
export function createRedisLimits(link: RedisLink, now: () => number): LimitStore {
  const fallback = createMemoryLimits({ now });
  const refusedUntil = createBoundedMap<number>(100_000, now);
  const blocks = createBoundedMap<BlockRecord>(100_000, now);
  const { prefix } = link;

  return {
    take(key, spec, cost) {
      const until = refusedUntil.get(key);
      if (until !== undefined)
        return { allowed: false, remaining: 0, retryAfterMs: Math.max(1, until - now()) };
      return link.run(
        async (): Promise<TakeResult> => {
          const [allowed, remaining, wait] = (await link.script(
            'wsgTake',
            key,
            spec.capacity,
            spec.refillPerSec,
            cost,
          )) as [number, number, number];
          if (allowed !== 1) {
            refusedUntil.set(key, now() + wait, now() + wait);
            return { allowed: false, remaining: 0, retryAfterMs: wait };
          }
          return { allowed: true, remaining, retryAfterMs: 0 };
        },
        () => fallback.take(key, spec, cost),
      );
    },
    hit(key, windowMs) {
      return link.run(
        async () => Number(await link.script('wsgHit', key, windowMs)),
        () => fallback.hit(key, windowMs),
      );
    },
    acquire(key, ttlMs) {
      return link.run(
        async () => Number(await link.script('wsgAcquire', key, ttlMs)),
        () => fallback.acquire(key, ttlMs),
      );
    },
    release(key) {
      return link.run(
        async () => {
          await link.script('wsgRelease', key);
        },
        () => fallback.release(key),
      );
    },
    getBlock(key) {
      const known = blocks.get(key) ?? fallback.getBlock(key);
      if (known) return known;
      return link.run(
        async () => {
          const raw = await link.client.get(prefix + key);
          const block = raw ? parseBlock(raw) : undefined;
          if (block && block.until > now()) {
            blocks.set(key, block, block.until);
            return block;
          }
          return undefined;
        },
        () => undefined,
      );
    },
    setBlock(key, block) {
      const ttl = block.until - now();
      if (ttl <= 0) return;
      blocks.set(key, block, block.until);
      return link.run(
        async () => {
          await link.client.set(prefix + key, JSON.stringify(block), 'PX', ttl);
        },
        () => fallback.setBlock(key, block),
      );
    },
    offend(key, windowMs) {
      return link.run(
        async () => Number(await link.script('wsgOffend', key, windowMs, `${now()}:${randomId(6)}`)),
        () => fallback.offend(key, windowMs),
      );
    },
  };
}

function parseBlock(raw: string): BlockRecord | undefined {
  try {
    const v = JSON.parse(raw) as Partial<BlockRecord>;
    if (typeof v.until === 'number' && typeof v.level === 'number' && typeof v.reason === 'string')
      return { until: v.until, level: v.level, reason: v.reason };
  } catch {
    // Not a block we wrote: treat as absent.
  }
  return undefined;
}

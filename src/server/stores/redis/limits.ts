import { createBoundedMap } from '../../bounded-map.js';
import { randomId } from '../../ids.js';
import { createMemoryLimits } from '../memory/limits.js';
import type { BlockRecord, BucketSpec, LimitStore, MaybePromise, TakeResult } from '../types.js';
import type { RedisLink } from './link.js';

/** Tokens taken from a shared bucket, spendable here until `until`. */
interface Lease {
  tokens: number;
  until: number;
  /** Half way from the request to `until`: past it, a lease in use asks for the next one. */
  renewAt: number;
  /** Tokens it started with: how much of them is spent decides a renewal by time. */
  size: number;
  /** Redis had no tokens for the last renewal: none is asked for again while this lease lasts. */
  dry?: boolean;
  next?: { tokens: number; until: number; renewAt: number; size: number } | undefined;
}

/**
 * Limits in Redis. Three local shortcuts keep the hot path off the network without letting
 * anyone past a limit: tokens are leased from the shared bucket a few at a time and spent
 * here; a refused bucket is refused here until the time Redis named; a block read from Redis
 * is kept here until it ends. None of them can allow what Redis would refuse.
 */
export function createRedisLimits(
  link: RedisLink,
  now: () => number,
  lease: { ratio?: number; max?: number } | false = {},
): LimitStore {
  const fallback = createMemoryLimits({ now });
  const refusedUntil = createBoundedMap<number>(100_000, now);
  const { prefix } = link;
  const leases = createBoundedMap<Lease>(100_000, now);
  const leasing = new Map<string, Promise<unknown>>();
  const leaseRatio = lease === false ? 0 : (lease.ratio ?? 0.05);
  const leaseMax = lease === false ? 0 : (lease.max ?? 1000);
  // Slots this node took in Redis (so their release goes there), and releases Redis has yet to get.
  const inRedis = new Map<string, number>();
  const unreleased = new Map<string, number>();
  link.onStatus((status) => {
    if (status !== 'ok') return;
    for (const [key, n] of unreleased) {
      unreleased.delete(key);
      link.script('wsgRelease', key, n).catch(() => unreleased.set(key, (unreleased.get(key) ?? 0) + n));
    }
  });

  /** Stores a lease: the current one, or the next one when the current one still has tokens. */
  const keep = (key: string, tokens: number, asked: number, until: number) => {
    const e = leases.get(key);
    const renewAt = asked + (until - asked) / 2;
    if (e && e.tokens > 0 && e.until > now()) {
      e.next = { tokens, until, renewAt, size: tokens };
      leases.set(key, e, Math.max(e.until, until));
    } else leases.set(key, { tokens, until, renewAt, size: tokens }, until);
  };

  /** The next lease, asked for while the current one still lasts, so no message waits for it. */
  const prefetch = (key: string, spec: BucketSpec, want: number) => {
    if (!link.usable()) return;
    const asked = now();
    const request = link
      .script('wsgTake', key, spec.capacity, spec.refillPerSec, 0, want)
      .then((reply) => {
        const [granted, , , fullInMs] = reply as [number, number, number, number];
        if (granted > 0) keep(key, granted, asked, asked + fullInMs);
        else {
          const e = leases.get(key);
          if (e) e.dry = true;
        }
      })
      .catch(() => {})
      .finally(() => leasing.delete(key));
    leasing.set(key, request);
  };

  /** The lease to spend from now, moving to the next one when the current is spent or over. */
  const current = (key: string, cost: number, t: number): Lease | undefined => {
    const e = leases.get(key);
    if (!e) return undefined;
    if (e.tokens < cost || e.until <= t) {
      // What is left of the current lease (less than one message, or past its time) is dropped.
      if (!e.next || e.next.until <= t) return undefined;
      e.tokens = e.next.tokens;
      e.until = e.next.until;
      e.renewAt = e.next.renewAt;
      e.size = e.next.size;
      e.dry = false;
      e.next = undefined;
    }
    return e.tokens >= cost ? e : undefined;
  };

  const take = (key: string, spec: BucketSpec, cost: number): MaybePromise<TakeResult> => {
    const t = now();
    // Empty in the common case: no map read (and clock read) per message for it.
    const until = refusedUntil.size === 0 ? undefined : refusedUntil.get(key);
    if (until !== undefined) return { allowed: false, remaining: 0, retryAfterMs: Math.max(1, until - t) };
    const want = Math.max(cost, Math.min(leaseMax, Math.floor(spec.capacity * leaseRatio)));
    const held = current(key, cost, t);
    if (held) {
      held.tokens -= cost;
      // Half spent, or half its time gone while in use (a bucket that refills fast ends a lease
      // before a busy user has spent it): ask for the next lease now, so no message waits for
      // Redis. A lease barely touched by then is left to end: its user needs no second one.
      if (
        want > cost &&
        !held.next &&
        !held.dry &&
        !leasing.has(key) &&
        (held.tokens < want / 2 || (t >= held.renewAt && held.size - held.tokens >= held.size / 8))
      )
        prefetch(key, spec, want);
      return { allowed: true, remaining: held.tokens, retryAfterMs: 0 };
    }
    // One lease request per key at a time: the others wait for it, then try the lease again.
    const pending = leasing.get(key);
    if (pending) return pending.then(() => take(key, spec, cost));
    const asked = now();
    const result = link.run(
      async (): Promise<TakeResult> => {
        const [granted, remaining, wait, fullInMs] = (await link.script(
          'wsgTake',
          key,
          spec.capacity,
          spec.refillPerSec,
          cost,
          want,
        )) as [number, number, number, number];
        if (granted < cost) {
          refusedUntil.set(key, now() + wait, now() + wait);
          return { allowed: false, remaining: 0, retryAfterMs: wait };
        }
        // Unspent lease tokens are dropped when the shared bucket would be full again (counted
        // from before the request, so never later): spending them after that would put a user
        // over the burst. A leftover below `cost` from an older lease is dropped too.
        const left = granted - cost;
        if (left > 0) keep(key, left, asked, asked + fullInMs);
        return { allowed: true, remaining: remaining + left, retryAfterMs: 0 };
      },
      () => fallback.take(key, spec, cost),
    );
    // Redis down (fail open): the local fallback answered at once.
    if (!(result instanceof Promise)) return result;
    const request = result.finally(() => leasing.delete(key));
    leasing.set(key, request);
    return request;
  };

  return {
    take,
    hit(key, windowMs) {
      return link.run(
        async () => Number(await link.script('wsgHit', key, windowMs)),
        () => fallback.hit(key, windowMs),
      );
    },
    acquire(key, ttlMs) {
      return link.run(
        async () => {
          const n = Number(await link.script('wsgAcquire', key, ttlMs));
          inRedis.set(key, (inRedis.get(key) ?? 0) + 1);
          return n;
        },
        () => fallback.acquire(key, ttlMs),
      );
    },
    release(key) {
      const held = inRedis.get(key) ?? 0;
      // A slot taken during an outage lives in the fallback: give it back there.
      if (held === 0) return fallback.release(key);
      if (held === 1) inRedis.delete(key);
      else inRedis.set(key, held - 1);
      // A slot taken in Redis goes back to Redis, now or when Redis answers again, never to the
      // fallback: else the shared count would keep it and lock the user out.
      if (!link.usable()) {
        unreleased.set(key, (unreleased.get(key) ?? 0) + 1);
        return;
      }
      return link.script('wsgRelease', key, 1).then(
        () => undefined,
        () => {
          unreleased.set(key, (unreleased.get(key) ?? 0) + 1);
        },
      );
    },
    getBlock(key) {
      // The fallback holds every block this node made or read: it is also the local cache.
      const known = fallback.getBlock(key);
      if (known) return known;
      return link.run(
        async () => {
          const raw = await link.client.get(prefix + key);
          const block = raw ? parseBlock(raw) : undefined;
          if (block && block.until > now()) {
            fallback.setBlock(key, block);
            return block;
          }
          return undefined;
        },
        () => undefined,
      );
    },
    setBlock(key, block) {
      const ttl = Math.ceil(block.until - now());
      if (ttl <= 0) return;
      // Kept here too, so an outage cannot lift a block or ban this node knows of.
      fallback.setBlock(key, block);
      return link.run(
        async () => {
          await link.client.set(prefix + key, JSON.stringify(block), 'PX', ttl);
        },
        () => undefined,
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

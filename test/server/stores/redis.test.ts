import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WsgError } from '../../../src/server/errors.js';
import { type RedisStore, redisStore } from '../../../src/server/stores/redis/index.js';
import type { TakeResult } from '../../../src/server/stores/types.js';
import { hasRedis, type RedisServer, startRedis } from '../../helpers/redis.js';

const spec = { capacity: 5, refillPerSec: 1 };

describe.skipIf(!hasRedis)('redisStore against a real redis-server', () => {
  let redis: RedisServer;
  const stores: RedisStore[] = [];
  let n = 0;
  const open = async (o: Parameters<typeof redisStore>[0] = {}) => {
    const s = redisStore({ url: redis.url, prefix: `t${++n}:`, ...o });
    stores.push(s);
    await s.ready();
    return s;
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('token bucket: burst, then refusal with the wait, shared between two stores (two nodes)', async () => {
    const a = await open({ prefix: 'shared:' });
    const b = await open({ prefix: 'shared:' });
    const results: TakeResult[] = [];
    for (let i = 0; i < 6; i++) results.push(await (i % 2 ? b : a).take('rate:user:u1', spec, 1));
    expect(results.slice(0, 5).every((r) => r.allowed)).toBe(true);
    expect(results[5]).toMatchObject({ allowed: false, remaining: 0 });
    expect(results[5]?.retryAfterMs).toBeGreaterThan(0);
    expect(results[5]?.retryAfterMs).toBeLessThanOrEqual(1000);
    // The refusal is cached on the node that saw it: answered without a promise.
    expect(b.take('rate:user:u1', spec, 1)).toMatchObject({ allowed: false });
    // After the wait, one token is back.
    await new Promise((r) => setTimeout(r, (results[5]?.retryAfterMs ?? 1000) + 20));
    expect(await a.take('rate:user:u1', spec, 1)).toMatchObject({ allowed: true });
  });

  it('leases: most takes answer locally, and two nodes together never pass the limit', async () => {
    const big = { capacity: 400, refillPerSec: 0.001 };
    const a = await open({ prefix: 'lease:' });
    const b = await open({ prefix: 'lease:' });
    let allowed = 0;
    let local = 0;
    for (let i = 0; i < 1000; i++) {
      const r = (i % 2 ? b : a).take('rate:user:big', big, 1);
      if (!(r instanceof Promise)) local++;
      if ((await r).allowed) allowed++;
    }
    // Lease 5% of 400 = 20: one Redis call per 20 messages per node.
    expect(local).toBeGreaterThan(900);
    expect(allowed).toBeLessThanOrEqual(400);
    // Refused early by at most the other node's unspent leases (a current and a next one).
    expect(allowed).toBeGreaterThanOrEqual(400 - 2 * 20);
  });

  it('leases end when the shared bucket would be full again: no burst past the limit after a pause', async () => {
    const spec50 = { capacity: 400, refillPerSec: 50 };
    const a = await open({ prefix: 'refill:' });
    const b = await open({ prefix: 'refill:' });
    // Each node leases 20 tokens and spends one; Redis is back to full within 0.8 s.
    expect(await a.take('rate:user:r', spec50, 1)).toMatchObject({ allowed: true });
    expect(await b.take('rate:user:r', spec50, 1)).toMatchObject({ allowed: true });
    await new Promise((r) => setTimeout(r, 1000));
    const started = Date.now();
    let allowed = 0;
    for (let i = 0; i < 1000; i++)
      if ((await (i % 2 ? b : a).take('rate:user:r', spec50, 1)).allowed) allowed++;
    const refilled = Math.ceil(((Date.now() - started) / 1000) * 50) + 1;
    expect(allowed).toBeLessThanOrEqual(400 + refilled);
    expect(allowed).toBeGreaterThanOrEqual(400 - 2 * 20);
  });

  it('a lease that ends by time before half is spent: the next one is asked for early, no take waits', async () => {
    // Lease 5% of 4000 = 200 tokens, spendable for 200 / 200 per s = 1 s. One take every 10 ms
    // spends about 50 by half its time and 100 in all: the half-spent trigger comes too late, so
    // only the clock can ask for the next lease in time (half a second ahead).
    const steady = { capacity: 4000, refillPerSec: 200 };
    const s = await open();
    expect(await s.take('rate:user:steady', steady, 1)).toMatchObject({ allowed: true });
    const waited: number[] = [];
    const started = Date.now();
    for (let i = 0; Date.now() - started < 3000; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const r = s.take('rate:user:steady', steady, 1);
      if (r instanceof Promise) waited.push(i);
      expect((await r).allowed).toBe(true);
    }
    // Three lease lifetimes went by; every take was answered here.
    expect(waited).toEqual([]);
  });

  it('a renewal Redis has no tokens for is not asked for again while the lease lasts', async () => {
    // No refill to speak of; a lease is 5% of 200 = 10 tokens.
    const drained = { capacity: 200, refillPerSec: 0.001 };
    const a = await open({ prefix: 'dry:' });
    const b = await open({ prefix: 'dry:' });
    expect(await a.take('rate:user:d', drained, 1)).toMatchObject({ allowed: true });
    // The other node takes everything left.
    while ((await b.take('rate:user:d', drained, 1)).allowed);
    const raw = new Redis(redis.url);
    try {
      const evalCalls = async () =>
        Number(/cmdstat_evalsha:calls=(\d+)/.exec(await raw.info('commandstats'))?.[1] ?? 0);
      const before = await evalCalls();
      // The rest of a's lease, with time between takes for a renewal's answer to come back: past
      // half of it a renewal is asked for once, Redis has nothing, and none is asked again.
      for (let i = 0; i < 9; i++) {
        expect(await a.take('rate:user:d', drained, 1)).toMatchObject({ allowed: true });
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await evalCalls()) - before).toBe(1);
      // Spent: the next take asks Redis, which refuses.
      expect(await a.take('rate:user:d', drained, 1)).toMatchObject({ allowed: false });
    } finally {
      raw.disconnect();
    }
  });

  it('a reply error (a fractional TTL, a bad argument) is about one command: the store stays ok', async () => {
    const s = await open();
    const statuses: string[] = [];
    s.onStatus((x) => statuses.push(x));
    const t = Date.now() + 0.5;
    await s.putSession({
      id: 'f',
      userId: 'u',
      csrfToken: 'c',
      createdAt: t,
      lastActiveAt: t,
      expiresAt: t + 60_000.25,
    });
    expect(await s.getSession('f')).toMatchObject({ id: 'f' });
    await s.setBlock('block:user:f', { until: t + 60_000.75, level: 1, reason: 'x' });
    // An argument Redis refuses: the script errors, this call falls back, nothing trips.
    await s.take('rate:user:bad', { capacity: 10, refillPerSec: Number.NaN }, 1);
    expect(s.status()).toBe('ok');
    expect(statuses).toEqual([]);
    expect(s.take('rate:user:fine', spec, 1)).toBeInstanceOf(Promise);
  });

  it('lease: false asks Redis for every message', async () => {
    const s = await open({ lease: false });
    const r = s.take('rate:user:x', { capacity: 400, refillPerSec: 1 }, 1);
    expect(r).toBeInstanceOf(Promise);
    expect(await r).toMatchObject({ allowed: true });
    expect(s.take('rate:user:x', { capacity: 400, refillPerSec: 1 }, 1)).toBeInstanceOf(Promise);
  });

  it('a cost larger than the bucket is refused and does not consume', async () => {
    const s = await open();
    expect(await s.take('k', spec, 6)).toMatchObject({ allowed: false });
    expect(await s.take('k2', spec, 5)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('fixed windows, concurrent counters, offences and blocks', async () => {
    const s = await open({ prefix: 'blk:' });
    expect([await s.hit('w', 10_000), await s.hit('w', 10_000), await s.hit('w', 10_000)]).toEqual([1, 2, 3]);
    expect([await s.acquire('c', 60_000), await s.acquire('c', 60_000)]).toEqual([1, 2]);
    await s.release('c');
    await s.release('c');
    expect(await s.acquire('c', 60_000)).toBe(1);
    expect([await s.offend('o', 60_000), await s.offend('o', 60_000)]).toEqual([1, 2]);
    expect(await s.getBlock('block:user:x')).toBeUndefined();
    const block = { until: Date.now() + 60_000, level: 2, reason: 'WSG_RATE_LIMITED' };
    await s.setBlock('block:user:x', block);
    const other = await open({ prefix: 'blk:' });
    expect(await other.getBlock('block:user:x')).toEqual(block);
  });

  it('sessions and revocations live as long as they say, and are shared', async () => {
    const a = await open({ prefix: 'sess:' });
    const b = await open({ prefix: 'sess:' });
    const t = Date.now();
    const session = {
      id: 's1',
      userId: 'u1',
      csrfToken: 'c'.repeat(32),
      createdAt: t,
      lastActiveAt: t,
      expiresAt: t + 60_000,
      jti: 'j1',
    };
    await a.putSession(session);
    expect(await b.getSession('s1')).toEqual(session);
    await b.deleteSession('s1');
    expect(await a.getSession('s1')).toBeUndefined();
    await a.putSession({ ...session, id: 's2', expiresAt: t + 150 });
    await vi.waitFor(async () => expect(await b.getSession('s2')).toBeUndefined(), {
      timeout: 3000,
      interval: 50,
    });
    await a.revoke('user', 'u1', t + 60_000);
    expect(await b.revokedUntil('user', 'u1')).toBe(t + 60_000);
    expect(await b.revokedUntil('user', 'u2')).toBeUndefined();
  });

  it('pub/sub reaches every store on the channel, prefixed', async () => {
    const a = await open({ prefix: 'ps:' });
    const b = await open({ prefix: 'ps:' });
    const other = await open({ prefix: 'other:' });
    const got: string[] = [];
    const gotOther: string[] = [];
    b.subscribe('chan', (m) => got.push(`b:${m}`));
    a.subscribe('chan', (m) => got.push(`a:${m}`));
    other.subscribe('chan', (m) => gotOther.push(m));
    // A subscription is live once Redis counts it.
    const probe = new Redis(redis.url);
    await vi.waitFor(async () => expect((await probe.pubsub('NUMSUB', 'ps:chan'))[1]).toBe(2));
    probe.disconnect();
    await a.publish('chan', 'hello');
    await vi.waitFor(() => expect(got.sort()).toEqual(['a:hello', 'b:hello']));
    expect(gotOther).toEqual([]);
  });

  it('leaves no key without a TTL', async () => {
    const s = await open({ prefix: 'ttl:' });
    const t = Date.now();
    await s.take('rate:user:u', spec, 1);
    await s.hit('attempts:1.2.3.4', 60_000);
    await s.acquire('sockets:user:u', 60_000);
    await s.offend('offences:u', 60_000);
    await s.setBlock('block:user:u', { until: t + 60_000, level: 1, reason: 'x' });
    await s.putSession({
      id: 's',
      userId: 'u',
      csrfToken: 'c',
      createdAt: t,
      lastActiveAt: t,
      expiresAt: t + 60_000,
    });
    await s.revoke('token', 'j', t + 60_000);
    expect((await redis.keys('ttl:')).length).toBe(7);
    expect(await redis.keysWithoutTtl('ttl:')).toEqual([]);
  });
});

describe.skipIf(!hasRedis)('redisStore when Redis goes away', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('fail open: degraded with a status event, local answers meanwhile, shared again when Redis is back', async () => {
    const store = redisStore({ url: redis.url, prefix: 'open:' });
    const statuses: string[] = [];
    store.onStatus((s) => statuses.push(s));
    try {
      await store.ready();
      expect(store.status()).toBe('ok');
      await redis.kill();
      await vi.waitFor(() => expect(store.status()).toBe('degraded'), { timeout: 5000 });
      expect(statuses).toEqual(['degraded']);
      // The local fallback answers at once (no promise, no wait on a dead socket).
      const r = store.take('rate:user:u', spec, 1);
      expect(r).toMatchObject({ allowed: true, remaining: 4 });
      expect(await store.hit('w', 10_000)).toBe(1);
      await store.revoke('user', 'evil', Date.now() + 60_000);
      await redis.start();
      await vi.waitFor(() => expect(store.status()).toBe('ok'), { timeout: 10_000, interval: 50 });
      expect(statuses).toEqual(['degraded', 'ok']);
      // Shared again: a second node sees this one's writes.
      const other = redisStore({ url: redis.url, prefix: 'open:' });
      await other.ready();
      await store.setBlock('block:user:z', { until: Date.now() + 60_000, level: 1, reason: 'x' });
      expect(await other.getBlock('block:user:z')).toMatchObject({ level: 1 });
      await other.close();
      // A revocation made during the outage still holds on this node.
      expect(await store.revokedUntil('user', 'evil')).toBeGreaterThan(Date.now());
    } finally {
      await store.close();
    }
  });

  it('fail closed: operations reject with WSG_OVERLOADED while Redis is down', async () => {
    const store = redisStore({ url: redis.url, prefix: 'closed:', failMode: 'closed' });
    try {
      await store.ready();
      await redis.kill();
      await vi.waitFor(() => expect(store.status()).toBe('degraded'), { timeout: 5000 });
      const err = await Promise.resolve(store.take('k', spec, 1)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WsgError);
      expect((err as WsgError).code).toBe('WSG_OVERLOADED');
      await expect(Promise.resolve(store.getSession('s'))).rejects.toMatchObject({ code: 'WSG_OVERLOADED' });
      await redis.start();
      await vi.waitFor(() => expect(store.status()).toBe('ok'), { timeout: 10_000, interval: 50 });
      expect(await store.take('k', spec, 1)).toMatchObject({ allowed: true });
    } finally {
      await store.close();
    }
  });

  it('a node started before Redis gets its channels once Redis is up', async () => {
    await redis.kill();
    const early = redisStore({ url: redis.url, prefix: 'early:' });
    const got: string[] = [];
    early.subscribe('chan', (m) => got.push(m));
    try {
      await redis.start();
      await early.ready(15_000);
      const late = redisStore({ url: redis.url, prefix: 'early:' });
      await late.ready();
      const probe = new Redis(redis.url);
      await vi.waitFor(async () => expect((await probe.pubsub('NUMSUB', 'early:chan'))[1]).toBe(1), {
        timeout: 5000,
      });
      probe.disconnect();
      await late.publish('chan', 'hello');
      await vi.waitFor(() => expect(got).toEqual(['hello']));
      await late.close();
    } finally {
      await early.close();
    }
  });

  it('a SUBSCRIBE sent during the connection handshake leaves no channel deaf, and onResubscribed tells when all are heard', async () => {
    redis.pause();
    const early = redisStore({ url: redis.url, prefix: 'handshake:' });
    const got: string[] = [];
    let resubscribed = 0;
    early.onResubscribed(() => resubscribed++);
    // Queued while the connection is being made...
    early.subscribe('queued', (m) => got.push(`queued:${m}`));
    // ...and sent once it is connected, while Redis (frozen) has not answered the handshake.
    await new Promise((r) => setTimeout(r, 200));
    early.subscribe('during', (m) => got.push(`during:${m}`));
    const late = redisStore({ url: redis.url, prefix: 'handshake:' });
    try {
      redis.resume();
      await early.ready(15_000);
      await late.ready();
      expect(resubscribed).toBeGreaterThan(0);
      await late.publish('queued', 'a');
      await late.publish('during', 'b');
      await vi.waitFor(() => expect(got.sort()).toEqual(['during:b', 'queued:a']));
    } finally {
      redis.resume();
      await late.close();
      await early.close();
    }
  });

  it('a hung Redis: degraded until it answers a probe (no flapping), slots released meanwhile reach Redis after', async () => {
    const store = redisStore({ url: redis.url, prefix: 'hung:', commandTimeoutMs: 100 });
    const statuses: string[] = [];
    store.onStatus((s) => statuses.push(s));
    try {
      await store.ready();
      expect(await store.acquire('sockets:user:h', 60_000)).toBe(1);
      redis.pause();
      // A command times out and trips the store onto its fallback.
      expect(await store.take('rate:user:h', spec, 1)).toMatchObject({ allowed: true });
      expect(store.status()).toBe('degraded');
      // Released while Redis hangs: kept for Redis, not given to the fallback.
      await store.release('sockets:user:h');
      // Probes keep failing: the status never goes back to ok while Redis hangs.
      for (let i = 0; i < 15; i++) {
        await new Promise((r) => setTimeout(r, 100));
        expect(store.status()).toBe('degraded');
      }
      redis.resume();
      await vi.waitFor(() => expect(store.status()).toBe('ok'), { timeout: 15_000, interval: 50 });
      expect(statuses).toEqual(['degraded', 'ok']);
      const probe = new Redis(redis.url);
      await vi.waitFor(async () => expect(await probe.get('hung:sockets:user:h')).toBeNull());
      probe.disconnect();
    } finally {
      redis.resume();
      await store.close();
    }
  }, 30_000);
});

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisStore } from '../../../src/server/index.js';
import { hasRedis, type RedisServer, startRedis } from '../../helpers/redis.js';
import {
  type Client,
  nodeClient as client,
  frame,
  type ChannelsNode as Node,
  publications,
  received,
  request,
  startChannelsNode,
} from '../channels/helpers.js';

const startNode = (redisUrl: string, env: Record<string, string> = {}) =>
  startChannelsNode(redisUrl, { PREFIX: 'hs:', PRESENCE_TTL_MS: '1500', ...env });
const sub = (c: Client, channel: string, since?: { epoch: string; offset: number }) =>
  request(c, since ? { type: 'subscribe', channel, since } : { type: 'subscribe', channel });
const indexes = (c: Client) => publications(c).map((m) => (m.payload as { i: number }).i);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
const presenceOf = (c: Client, kind: 'joined' | 'left', userId: string) =>
  received(c).filter(
    (m) => m.type === 'presence' && JSON.stringify(m[kind]) === JSON.stringify([{ userId }]),
  );

describe.skipIf(!hasRedis)('history, recovery and presence across wsguard processes on a real Redis', () => {
  let redis: RedisServer;
  let a: Node;
  let b: Node;

  beforeAll(async () => {
    redis = await startRedis();
    [a, b] = await Promise.all([startNode(redis.url), startNode(redis.url)]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([a?.child.stop(), b?.child.stop()]);
    await redis?.stop();
  });

  it('publications made on A are recovered through B: 50 missed in order, then live, none twice', async () => {
    const onB = await client(b, 'bob');
    const ack = (await sub(onB, 'live:one')).result as { epoch: string; offset: number };
    expect(ack).toMatchObject({ channel: 'live:one', offset: 0 });
    await a.command({ cmd: 'publish', channel: 'live:one', event: 'chat', count: 3 });
    await frame(onB, (m) => m.type === 'publication' && m.offset === 3);
    onB.peer.close();
    await a.command({ cmd: 'publish', channel: 'live:one', event: 'chat', count: 50 });
    const back = await client(b, 'bob');
    const reply = await sub(back, 'live:one', { epoch: ack.epoch, offset: 3 });
    expect(reply.result).toMatchObject({
      channel: 'live:one',
      epoch: ack.epoch,
      offset: 53,
      recovered: true,
    });
    await a.command({ cmd: 'publish', channel: 'live:one', event: 'chat', payload: { i: 50 } });
    await frame(back, (m) => m.type === 'publication' && m.offset === 54);
    expect(indexes(back)).toEqual([...range(0, 50), 50]);
    expect(publications(back).map((m) => m.offset)).toEqual(range(4, 55));
    back.peer.close();
  });

  it('a client whose right was revoked while away gets WSG_FORBIDDEN, not the history', async () => {
    const c = await client(a, 'rita');
    const { epoch } = (await sub(c, 'live:two')).result as { epoch: string };
    c.peer.close();
    await b.command({ cmd: 'publish', channel: 'live:two', event: 'chat', count: 5 });
    await a.command({ cmd: 'revoke', userId: 'rita' });
    const back = await client(a, 'rita');
    expect(await sub(back, 'live:two', { epoch, offset: 0 })).toMatchObject({
      type: 'error',
      code: 'WSG_FORBIDDEN',
      message: 'Forbidden',
    });
    expect(publications(back)).toEqual([]);
    expect(await request(back, { type: 'echo', payload: 1 })).toMatchObject({ type: 'ack', result: 1 });
    back.peer.close();
  });

  it('presence: joins and leaves across nodes; a SIGKILLed node’s members leave within the bound; lists capped', async () => {
    const c = await startNode(redis.url);
    const alice = await client(a, 'alice');
    expect((await sub(alice, 'live:p')).result).toMatchObject({
      presence: { count: 1, members: [{ userId: 'alice' }] },
    });
    const bob = await client(b, 'bob');
    await sub(bob, 'live:p');
    await vi.waitFor(() => expect(presenceOf(alice, 'joined', 'bob')).toHaveLength(1), { timeout: 5000 });
    const carol = await client(c, 'carol');
    const capped = (await sub(carol, 'live:p')).result as { presence: { count: number; members: unknown[] } };
    expect(capped.presence.count).toBe(3);
    expect(capped.presence.members).toHaveLength(2);
    await vi.waitFor(() => expect(presenceOf(bob, 'joined', 'carol')).toHaveLength(1), { timeout: 5000 });
    // A clean leave is told at once.
    bob.peer.close();
    await vi.waitFor(() => expect(presenceOf(alice, 'left', 'bob')).toHaveLength(1), { timeout: 5000 });
    // A node that dies says nothing: its marks expire (ttl 1500 ms, renewed every 500 ms), and a
    // surviving node's sweep reports the member left.
    c.child.proc.kill('SIGKILL');
    await c.child.stop();
    await vi.waitFor(() => expect(presenceOf(alice, 'left', 'carol')).toHaveLength(1), {
      timeout: 10_000,
      interval: 50,
    });
    const dave = await client(b, 'dave');
    expect((await sub(dave, 'live:p')).result).toMatchObject({ presence: { count: 2 } });
    expect(presenceOf(alice, 'left', 'alice')).toEqual([]);
    alice.peer.close();
    dave.peer.close();
  }, 30_000);

  it('Redis restarted: a new epoch, recovered false', async () => {
    const c = await client(a, 'erin');
    const { epoch } = (await sub(c, 'live:three')).result as { epoch: string };
    await b.command({ cmd: 'publish', channel: 'live:three', event: 'chat', count: 2 });
    await frame(c, (m) => m.type === 'publication' && m.offset === 2);
    c.peer.close();
    await redis.kill();
    await redis.start();
    const back = await vi.waitFor(
      async () => {
        const x = await client(a, 'erin');
        const reply = await sub(x, 'live:three', { epoch, offset: 2 });
        if (reply.type !== 'ack' || (reply.result as { epoch?: string }).epoch === undefined) {
          x.peer.close();
          throw new Error('store not back yet');
        }
        return { x, result: reply.result as Record<string, unknown> };
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(back.result.recovered).toBe(false);
    expect(back.result.epoch).not.toBe(epoch);
    expect(back.result.offset).toBe(0);
    back.x.peer.close();
  }, 30_000);
});

describe.skipIf(!hasRedis)('Redis history bounds', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('keeps at most size entries and maxBytes per channel, and historyMaxBytes in total; every key has a TTL', async () => {
    const store = redisStore({
      url: redis.url,
      prefix: 'hb:',
      historyMaxBytes: 300_000,
      commandTimeoutMs: 2000,
    });
    await store.ready();
    const history = store.history as NonNullable<typeof store.history>;
    const limits = { size: 20, ttlMs: 60_000, maxBytes: 100_000 };
    const big = 'x'.repeat(30_000);
    for (let i = 0; i < 10; i++)
      await history.append('room:big', 'wsguard:ch:room:big', `{"p":"${big}${i}"`, limits);
    // 30 KB each, 100 KB per channel: the last 3 are kept.
    const first = await history.read('room:big', undefined, limits);
    expect(first.offset).toBe(10);
    expect((await history.read('room:big', { epoch: first.epoch, offset: 7 }, limits)).frames).toHaveLength(
      3,
    );
    expect(
      (await history.read('room:big', { epoch: first.epoch, offset: 6 }, limits)).frames,
    ).toBeUndefined();
    for (let i = 0; i < 50; i++)
      await history.append('room:small', 'wsguard:ch:room:small', `{"i":${i}`, limits);
    const small = await history.read('room:small', undefined, limits);
    expect(
      (await history.read('room:small', { epoch: small.epoch, offset: 30 }, limits)).frames,
    ).toHaveLength(20);
    expect(
      (await history.read('room:small', { epoch: small.epoch, offset: 29 }, limits)).frames,
    ).toBeUndefined();
    // The total budget: 5 channels of ~90 KB exceed 300 KB, so the oldest logs go whole (new epoch).
    for (let ch = 0; ch < 5; ch++) {
      for (let i = 0; i < 3; i++)
        await history.append(`room:c${ch}`, `wsguard:ch:room:c${ch}`, `{"p":"${big}"`, limits);
    }
    const raw = store as unknown as { history: unknown };
    expect(raw.history).toBeDefined();
    const { Redis } = await import('ioredis');
    const r = new Redis(redis.url);
    const total = Number(await r.get('hb:hist:total'));
    expect(total).toBeLessThanOrEqual(300_000);
    let listBytes = 0;
    for (const key of await redis.keys('hb:hist:log:')) {
      for (const e of await r.lrange(key, 0, -1)) listBytes += e.length - e.indexOf(' ') - 1;
    }
    expect(listBytes).toBe(total);
    const c0 = await history.read('room:c0', undefined, limits);
    expect(c0.offset).toBe(0);
    expect(await redis.keysWithoutTtl('hb:')).toEqual([]);
    r.disconnect();
    await store.close();
  });
});

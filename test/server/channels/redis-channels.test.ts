import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRedis, type RedisServer, startRedis } from '../../helpers/redis.js';
import {
  nodeClient as client,
  frame,
  type ChannelsNode as Node,
  publications,
  received,
  request,
  startChannelsNode,
  subscribe,
} from './helpers.js';

const startNode = (redisUrl: string) => startChannelsNode(redisUrl, { PREFIX: 'ch:' });

describe.skipIf(!hasRedis)('channels across two wsguard processes on one real Redis', () => {
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

  it('a publication on A reaches the subscribers on B (and on A), in order, once; non-subscribers get none', async () => {
    const onB = await client(b, 'bob');
    const onA = await client(a, 'alice');
    const idleB = await client(b, 'carol');
    await subscribe(onB, 'room:general');
    await subscribe(onA, 'room:general');
    await subscribe(idleB, 'room:other');
    await a.command({ cmd: 'publish', channel: 'room:general', event: 'chat', count: 25 });
    for (const c of [onB, onA]) {
      await frame(c, (m) => m.type === 'publication' && (m.payload as { i: number }).i === 24);
      expect(publications(c).map((m) => (m.payload as { i: number }).i)).toEqual(
        Array.from({ length: 25 }, (_, i) => i),
      );
      expect(publications(c)[0]).toEqual({
        type: 'publication',
        channel: 'room:general',
        event: 'chat',
        payload: { i: 0 },
      });
    }
    // A client's publish on B reaches the subscriber on A.
    expect(
      await request(onB, { type: 'publish', channel: 'room:general', event: 'typing', payload: {} }),
    ).toMatchObject({ type: 'ack' });
    await frame(onA, (m) => m.type === 'publication' && m.event === 'typing');
    expect(await request(idleB, { type: 'echo', payload: 1 })).toMatchObject({ type: 'ack' });
    expect(publications(idleB)).toEqual([]);
    for (const c of [onA, onB, idleB]) c.peer.close();
  });

  it('sendToUser on A reaches every socket of that user on every node, and no one else', async () => {
    const sockets = [await client(a, 'target'), await client(b, 'target'), await client(b, 'target')];
    const other = await client(b, 'other');
    await a.command({ cmd: 'sendToUser', userId: 'target', type: 'notice', payload: { n: 1 } });
    for (const c of sockets) {
      expect(await frame(c, (m) => m.type === 'notice')).toEqual({ type: 'notice', payload: { n: 1 } });
    }
    expect(await request(other, { type: 'echo', payload: 1 })).toMatchObject({ type: 'ack' });
    expect(received(other).some((m) => m.type === 'notice')).toBe(false);
    for (const c of [...sockets, other]) c.peer.close();
  });

  it('wss.unsubscribe on A drops the user’s subscription on B', async () => {
    const onB = await client(b, 'dropme');
    await subscribe(onB, 'room:x');
    await a.command({ cmd: 'unsubscribe', channel: 'room:x', userId: 'dropme' });
    expect(await frame(onB, (m) => m.type === 'unsubscribed')).toEqual({
      type: 'unsubscribed',
      channel: 'room:x',
      code: 'WSG_FORBIDDEN',
    });
    await a.command({ cmd: 'publish', channel: 'room:x', event: 'chat', payload: { late: true } });
    expect(await request(onB, { type: 'echo', payload: 1 })).toMatchObject({ type: 'ack' });
    expect(publications(onB)).toEqual([]);
    onB.peer.close();
  });

  it('authorization holds on every node: room:staff without the claim is refused on B', async () => {
    const guest = await client(b, 'guest');
    expect(await subscribe(guest, 'room:staff')).toMatchObject({ type: 'error', code: 'WSG_FORBIDDEN' });
    expect(await subscribe(guest, 'user:someone-else')).toMatchObject({ code: 'WSG_FORBIDDEN' });
    guest.peer.close();
  });
});

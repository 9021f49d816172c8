import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { DEFAULTS } from '../../../src/server/defaults.js';
import { keys } from '../../../src/server/limits/keys.js';
import {
  decodeRevoke,
  encodeRevoke,
  REVOKE_CHANNEL,
  type RevokeMessage,
} from '../../../src/server/session/revocation.js';
import { memoryStore } from '../../../src/server/stores/memory/index.js';
import { type RedisStore, redisStore } from '../../../src/server/stores/redis/index.js';
import type { Store, StoreStatus } from '../../../src/server/stores/types.js';
import { type MemoryGuard, memoryGuard, turns } from '../../helpers/memory-guard.js';
import { type Closed, connect, connectAuthed, upgradeStatus } from '../../helpers/peer.js';
import { hasRedis, type RedisServer, startRedis } from '../../helpers/redis.js';
import { expectStillServing } from '../../helpers/served.js';
import { signToken, startServer, type TestServer } from '../../helpers/server.js';

const echo = { messages: { echo: z.unknown() }, handlers: { echo: (_c: unknown, p: unknown) => p } };

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

/** The token is refused both at the upgrade and in the first message, as revoked. */
async function expectRefused(url: string, token: string) {
  expect((await upgradeStatus(url, { Authorization: `Bearer ${token}` })).status).not.toBe(101);
  const peer = await connect(url);
  peer.send({ type: 'auth', token });
  expect(await peer.next('error')).toMatchObject({ code: 'WSG_SESSION_REVOKED' });
  expect((await peer.closed).code).toBe(4403);
}

describe('revokeSession', () => {
  it('refuses the token that opened the session as well as the one that refreshed it', async () => {
    srv = await startServer(echo);
    const opening = await signToken('rev-a', { jti: 'opening-jti' });
    const refreshed = await signToken('rev-a', { jti: 'refresh-jti' });
    const { peer, ok } = await connectAuthed(srv.url, opening);
    peer.send({ type: 'refresh', token: refreshed });
    await peer.next('refresh_ok');
    await srv.wss.revokeSession(ok.sessionId as string);
    expect((await peer.closed).code).toBe(4403);
    await expectRefused(srv.url, opening);
    await expectRefused(srv.url, refreshed);
    // Another session of the same user, with its own token, is not touched.
    const other = await connectAuthed(srv.url, await signToken('rev-a', { jti: 'other-jti' }));
    other.peer.close();
    await expectStillServing(srv.url);
  });

  it('refuses the tokens of a session revoked after its socket closed, with or without jti', async () => {
    srv = await startServer(echo);
    for (const claims of [{ jti: 'closed-jti' }, {}]) {
      const token = await signToken('rev-b', claims);
      const { peer, ok } = await connectAuthed(srv.url, token);
      peer.close();
      await peer.closed;
      while (srv.wss.stats().socketsOpen > 0) await new Promise((r) => setTimeout(r, 10));
      await srv.wss.revokeSession(ok.sessionId as string);
      await expectRefused(srv.url, token);
    }
    await expectStillServing(srv.url);
  });
});

let guards: MemoryGuard[] = [];
afterEach(async () => {
  for (const g of guards) await g.close();
  guards = [];
});
const make = (store: Store) => {
  const g = memoryGuard({ store, limits: false });
  guards.push(g);
  return g;
};

describe('the revoke channel codec', () => {
  it.each<RevokeMessage>([
    { kind: 'session', id: 's1', until: 1_000 },
    { kind: 'user', id: 'u1', until: 2_000 },
    { kind: 'ip', id: '203.0.113.7', until: 3_000, reason: 'manual' },
  ])('round-trips %o', (m) => {
    expect(decodeRevoke(encodeRevoke(m))).toEqual(m);
  });

  it.each(['not json', 'null', '42', '{"kind":"other","id":"x","until":1}', '{"kind":"user","until":1}'])(
    'ignores %s (another publisher)',
    (text) => expect(decodeRevoke(text)).toBeUndefined(),
  );

  it('keeps a message without a usable end (the sockets still close; nothing is remembered)', () => {
    expect(decodeRevoke('{"kind":"session","id":"s1"}')).toMatchObject({ kind: 'session', id: 's1' });
    expect(decodeRevoke('{"kind":"session","id":"s1"}')?.until).toBeNaN();
  });
});

describe('revocation across nodes sharing a store', () => {
  it('revokeUser on one node closes the user’s sockets on both with 4403, and only theirs', async () => {
    const store = memoryStore();
    const a = make(store);
    const b = make(store);
    const eve1 = await a.open('eve');
    const eve2 = await b.open('eve', '127.0.0.2');
    const bob = await b.open('bob', '127.0.0.3');
    await a.guard.revokeUser('eve');
    await turns();
    for (const s of [eve1.socket, eve2.socket]) {
      expect(s.closed).toEqual({ code: 4403, reason: 'WSG_SESSION_REVOKED' });
    }
    expect(bob.socket.closed).toBeUndefined();
    expect(b.events.some((e) => e.event === 'session.revoked' && e.userId === 'eve')).toBe(true);
  });

  it('revokeSession closes that session only', async () => {
    const store = memoryStore();
    const a = make(store);
    const one = await a.open('carol');
    const two = await a.open('carol');
    await a.guard.revokeSession(one.conn.sessionId as string);
    await turns();
    expect(one.socket.closed?.code).toBe(4403);
    expect(two.socket.closed).toBeUndefined();
  });

  it('ban closes every socket of the IP with WSG_BANNED, on every node, and records the ban', async () => {
    const store = memoryStore();
    const a = make(store);
    const b = make(store);
    const x = await b.open('x', '198.51.100.9');
    const y = await b.open('y', '198.51.100.10');
    await a.guard.ban('198.51.100.9', { durationMs: 60_000, reason: 'test' });
    await turns();
    expect(x.socket.closed).toEqual({ code: 4403, reason: 'WSG_BANNED' });
    expect(y.socket.closed).toBeUndefined();
    expect((await store.getBlock(keys.ban('198.51.100.9')))?.reason).toBe('test');
  });

  it('a ban matches sockets as the ban is keyed: an IPv6 /64 in any spelling, an IPv4 address written as IPv6', async () => {
    const store = memoryStore();
    const a = make(store);
    const b = make(store);
    const v6 = await b.open('v6', '2001:db8:7:1::10');
    const neighbour = await b.open('v6-neighbour', '2001:db8:7:1:ffff::99');
    const otherNet = await b.open('v6-other', '2001:db8:7:2::10');
    const v4 = await b.open('v4', '198.51.100.77');
    const v4Other = await b.open('v4-other', '198.51.100.78');
    await a.guard.ban('2001:DB8:7:1:0:0:0:1');
    await a.guard.ban('::ffff:198.51.100.77');
    await turns();
    for (const s of [v6, neighbour, v4])
      expect(s.socket.closed).toEqual({ code: 4403, reason: 'WSG_BANNED' });
    expect(otherNet.socket.closed).toBeUndefined();
    expect(v4Other.socket.closed).toBeUndefined();
    // The gate reads the same keys: a new socket from the mapped address's IPv4 is refused.
    expect(await store.getBlock(keys.ban('198.51.100.77'))).toBeDefined();
    expect(await store.getBlock(keys.ban('198.51.100.78'))).toBeUndefined();
  });

  it('junk on the channel changes nothing', async () => {
    const store = memoryStore();
    const a = make(store);
    const s = await a.open('dave');
    await store.publish(REVOKE_CHANNEL, '{"kind":"user","id":');
    await store.publish(
      REVOKE_CHANNEL,
      encodeRevoke({ kind: 'user', id: 'someone-else', until: Date.now() + 1000 }),
    );
    await turns();
    expect(s.socket.closed).toBeUndefined();
  });
});

describe('after a store outage', () => {
  /** The memory store, with the status changes a shared store reports. */
  function storeWithStatus() {
    const store = memoryStore();
    let listener: ((s: StoreStatus, d: string | undefined) => void) | undefined;
    const s: Store = Object.assign(Object.create(store) as Store, {
      onStatus(l: (s: StoreStatus, d: string | undefined) => void) {
        listener = l;
        return () => {
          listener = undefined;
        };
      },
    });
    return { store: s, report: (status: StoreStatus) => listener?.(status, 'link down') };
  }

  it('re-checks every socket when the store is back: a ban written meanwhile closes it', async () => {
    const { store, report } = storeWithStatus();
    const g = make(store);
    const s = await g.open('frank', '192.0.2.44');
    const other = await g.open('grace', '192.0.2.45');
    report('degraded');
    expect(g.events.at(-1)).toMatchObject({ event: 'store.degraded', code: 'WSG_OVERLOADED' });
    // Published while this node could not hear it: only the store has it.
    await store.setBlock(keys.ban('192.0.2.44'), { until: Date.now() + 60_000, level: 1, reason: 'manual' });
    report('ok');
    await vi.waitFor(() => expect(s.socket.closed).toEqual({ code: 4403, reason: 'WSG_BANNED' }));
    expect(other.socket.closed).toBeUndefined();
    expect(g.events.some((e) => e.event === 'store.recovered')).toBe(true);
  });
});

describe('revocations the store could not take', () => {
  it('are kept to send again up to the documented bound, oldest dropped first and said so, and sent when the store is back', async () => {
    const base = memoryStore();
    let status: StoreStatus = 'degraded';
    let listener: ((s: StoreStatus, d: string | undefined) => void) | undefined;
    const published: string[] = [];
    const store: Store = Object.assign(Object.create(base) as Store, {
      status: () => status,
      onStatus(l: (s: StoreStatus, d: string | undefined) => void) {
        listener = l;
        return () => {};
      },
      publish(channel: string, message: string) {
        if (status === 'ok') published.push(message);
        return base.publish(channel, message);
      },
    });
    const g = make(store);
    const max = DEFAULTS.internal.revokeOutboxEntries;
    const ipOf = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    for (let i = 0; i < max + 3; i++) await g.guard.ban(ipOf(i), { durationMs: 60_000 });
    const full = g.events.filter((e) => e.event === 'store.degraded' && /outbox full/.test(String(e.detail)));
    expect(full).toHaveLength(3);
    expect(published).toEqual([]);
    status = 'ok';
    listener?.('ok', undefined);
    await vi.waitFor(() => expect(published).toHaveLength(max), { timeout: 20_000 });
    expect(decodeRevoke(published[0] as string)).toMatchObject({ kind: 'ip', id: ipOf(3) });
    expect(decodeRevoke(published.at(-1) as string)).toMatchObject({ kind: 'ip', id: ipOf(max + 2) });
    // Sent once: a later recovery has nothing left to send.
    listener?.('degraded', 'again');
    listener?.('ok', undefined);
    await turns();
    expect(published).toHaveLength(max);
  });
});

describe.skipIf(!hasRedis)('across two servers sharing a real redis-server', { timeout: 60_000 }, () => {
  let redis: RedisServer;
  let run = 0;
  const opened: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    redis.resume();
    for (const o of opened.splice(0).reverse()) await o.close();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  /** A node: its own Redis store (named, to find its connections) and server, on a prefix of this run. */
  async function node(name: string, prefix: string, ready = true, failMode: 'open' | 'closed' = 'open') {
    const store = redisStore({ url: redis.url, prefix, failMode, redisOptions: { connectionName: name } });
    const server = await startServer({ ...echo, trustProxy: ['127.0.0.1'], store });
    opened.push(store, server);
    if (ready) await store.ready();
    return { store, server };
  }
  const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
  /** The close, or 'still open' after `ms` (a missed revocation must fail, not hang, the test). */
  const closedWithin = (p: Promise<Closed>, ms = 10_000) =>
    Promise.race([p, new Promise<string>((r) => setTimeout(() => r('still open'), ms).unref())]);

  type Kind = 'ban' | 'revokeSession' | 'revokeUser';
  const KINDS: Kind[] = ['ban', 'revokeSession', 'revokeUser'];
  const reasonOf = (k: Kind) => (k === 'ban' ? 'WSG_BANNED' : 'WSG_SESSION_REVOKED');

  /**
   * A victim and a bystander held by node B; `act` on node A (at the moment `around` chooses).
   * The victim's socket on B must close with 4403 and the code of the action, B must refuse the
   * victim afresh, and serve the bystander.
   */
  async function scenario(
    kind: Kind,
    around: (act: () => Promise<void>, nodes: { a: RedisStore; b: RedisStore }) => Promise<void>,
    o: { aReady?: boolean; bEarly?: boolean } = {},
  ) {
    const prefix = `rv${++run}:`;
    const ip = `198.51.100.${run}`;
    const token = await signToken(`victim-${run}`);
    // bEarly: B lets the victim in (failing open) while its Redis connections are still in
    // their handshake; Redis answers only afterwards.
    if (o.bEarly) redis.pause();
    const b = await node(`node-b-${run}`, prefix, !o.bEarly);
    const victim = await connectAuthed(b.server.url, token, from(ip));
    if (o.bEarly) {
      redis.resume();
      await b.store.ready();
    }
    const bystander = `203.0.113.${run}`;
    const a = await node(`node-a-${run}`, prefix, o.aReady ?? true);
    const act = async () => {
      if (kind === 'ban') await a.server.wss.ban(ip, { reason: 'test' });
      else if (kind === 'revokeSession') await a.server.wss.revokeSession(victim.ok.sessionId as string);
      else await a.server.wss.revokeUser(`victim-${run}`);
    };
    await around(act, { a: a.store, b: b.store });
    expect(await closedWithin(victim.peer.closed)).toEqual({ code: 4403, reason: reasonOf(kind) });
    if (kind === 'ban') {
      expect((await upgradeStatus(b.server.url, from(ip).headers)).status).toBe(403);
    } else if (kind === 'revokeUser') {
      const again = await connect(b.server.url, from(ip));
      again.send({ type: 'auth', token });
      expect(await again.next('error')).toMatchObject({ code: 'WSG_SESSION_REVOKED' });
      expect((await again.closed).code).toBe(4403);
    }
    await expectStillServing(b.server.url, { headers: from(bystander).headers });
    await expectStillServing(a.server.url, { headers: from(bystander).headers });
  }

  it.each(KINDS)(
    "%s: A's write lands but its reply comes after the command timeout (Redis frozen): B closes the held socket once A hears Redis again",
    async (kind) => {
      await scenario(kind, async (act) => {
        // The write reaches Redis; A times it out, falls back and cannot publish meanwhile.
        redis.pause();
        await act();
        redis.resume();
      });
    },
  );

  it.each(KINDS)(
    '%s issued on A right after it started, before its store connected: reaches the socket B holds',
    async (kind) => {
      await scenario(kind, (act) => act(), { aReady: false });
    },
  );

  it.each(KINDS)(
    '%s: B let the socket in while its Redis connections were still in their handshake: B still hears it',
    async (kind) => {
      await scenario(kind, (act) => act(), { bEarly: true });
    },
  );

  it.each(KINDS)(
    "%s published while B's subscriber connection is down: B closes the held socket when it is back",
    async (kind) => {
      await scenario(kind, async (act, { b }) => {
        const admin = new Redis(redis.url);
        try {
          const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
          const name = `node-b-${run}`;
          const id = list
            .split('\n')
            .find((l) => l.includes(` name=${name} `))
            ?.match(/^id=(\d+)/)?.[1];
          expect(id).toBeDefined();
          await admin.call('CLIENT', 'KILL', 'ID', id as string);
        } finally {
          admin.disconnect();
        }
        await act();
        await b.ready();
      });
    },
  );

  it('a ban on a node that fails closed, with Redis frozen: rejects WSG_OVERLOADED, closes the socket that node holds at once and the one B holds once Redis is back', async () => {
    const prefix = `rv${++run}:`;
    const ip = `198.51.100.${run}`;
    const b = await node(`node-b-${run}`, prefix);
    const a = await node(`node-a-${run}`, prefix, true, 'closed');
    const onA = await connectAuthed(a.server.url, await signToken(`on-a-${run}`), from(ip));
    const onB = await connectAuthed(b.server.url, await signToken(`on-b-${run}`), from(ip));
    redis.pause();
    await expect(a.server.wss.ban(ip)).rejects.toMatchObject({ code: 'WSG_OVERLOADED' });
    expect(await closedWithin(onA.peer.closed)).toEqual({ code: 4403, reason: 'WSG_BANNED' });
    redis.resume();
    expect(await closedWithin(onB.peer.closed)).toEqual({ code: 4403, reason: 'WSG_BANNED' });
    expect((await upgradeStatus(b.server.url, from(ip).headers)).status).toBe(403);
    await expectStillServing(b.server.url, { headers: from(`203.0.113.${run}`).headers });
  });
});

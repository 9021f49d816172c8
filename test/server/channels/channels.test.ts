import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { capabilities, requireClaim, type WsGuardOptions } from '../../../src/server/index.js';
import { assertNoLeak, connectAuthed } from '../../helpers/peer.js';
import { signToken, startServer, type TestServer } from '../../helpers/server.js';
import { type Client, frame, publications, received, request, subscribe } from './helpers.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

const channels: WsGuardOptions['channels'] = {
  'room:{name}': {
    params: { name: /[a-z0-9-]{1,32}/ },
    authorize: () => true,
    publish: { typing: z.object({}) },
    transformPublish: (user, _event, payload) => ({ ...(payload as object), from: user.id }),
  },
  'room:staff': { authorize: requireClaim('role', 'staff') },
  'user:{id}': { authorize: (user, { id }) => user.id === id },
  'chat:{room}': { authorize: capabilities(), publish: { say: z.object({ text: z.string() }) } },
  'ops:{room}': { authorize: capabilities() },
};

const base: Partial<WsGuardOptions> = {
  channels,
  messages: { echo: z.unknown(), note: z.object({ channel: z.string() }) },
  handlers: {
    echo: (_ctx, p) => p,
    note: async (ctx, p) => {
      await ctx.subscribe((p as { channel: string }).channel);
      await ctx.publish((p as { channel: string }).channel, 'noted', { by: ctx.user.id });
    },
  },
  anomaly: false,
};

async function serve(extra: Partial<WsGuardOptions> = {}) {
  srv = await startServer({ ...base, ...extra });
  return srv;
}

async function client(s: TestServer, sub: string, claims: Record<string, unknown> = {}): Promise<Client> {
  const { peer, csrf } = await connectAuthed(s.url, await signToken(sub, claims));
  return { peer, csrf };
}

async function stillServing(s: TestServer) {
  const other = await client(s, 'bystander');
  expect(await request(other, { type: 'echo', payload: 'ok' })).toMatchObject({ type: 'ack', result: 'ok' });
  other.peer.close();
}

describe('subscribe and publications', () => {
  it('a subscriber gets exactly its channels’ publications, in order, once; a non-subscriber none', async () => {
    const s = await serve();
    const a = await client(s, 'alice');
    const b = await client(s, 'bob');
    expect(await subscribe(a, 'room:general')).toEqual({
      type: 'ack',
      id: expect.any(String),
      result: { channel: 'room:general' },
    });
    expect((await subscribe(b, 'room:random')).type).toBe('ack');
    for (let i = 0; i < 30; i++) {
      await s.wss.publish(i % 2 ? 'room:random' : 'room:general', 'chat', { n: i });
    }
    await s.wss.publish('room:general', 'chat', { n: 'end' });
    await frame(a, (m) => m.type === 'publication' && (m.payload as { n: unknown }).n === 'end');
    await s.wss.publish('room:random', 'chat', { n: 'end' });
    await frame(b, (m) => m.type === 'publication' && (m.payload as { n: unknown }).n === 'end');
    const got = publications(a);
    expect(got.map((m) => (m.payload as { n: unknown }).n)).toEqual([
      ...Array.from({ length: 15 }, (_, i) => i * 2),
      'end',
    ]);
    expect(got[0]).toEqual({
      type: 'publication',
      channel: 'room:general',
      event: 'chat',
      payload: { n: 0 },
    });
    expect(publications(b).every((m) => m.channel === 'room:random')).toBe(true);
    expect(publications(b)).toHaveLength(16);
    // Subscribing twice is one subscription: still one copy of each publication.
    expect((await subscribe(a, 'room:general')).type).toBe('ack');
    await s.wss.publish('room:general', 'chat', { n: 'again' });
    await frame(a, (m) => (m.payload as { n: unknown } | undefined)?.n === 'again');
    expect(publications(a).filter((m) => (m.payload as { n: unknown }).n === 'again')).toHaveLength(1);
    expect(s.wss.channels()).toMatchObject({ channels: 2, subscriptions: 2 });
    a.peer.close();
    b.peer.close();
  });

  it('unsubscribe stops publications; auth_ok announces maxSubscriptions', async () => {
    const s = await serve({ maxSubscriptions: 7 });
    const { peer, csrf, ok } = await connectAuthed(s.url, await signToken('u'));
    expect(ok.limits).toEqual({
      maxPayload: 65536,
      maxSubscriptions: 7,
      messagesPerSecond: 50,
      burst: 100,
      bytes: { rate: 1048576, burst: 2097152 },
      user: { rate: 100, burst: 200 },
      connectionsPerIp: { max: 30, windowMs: 60_000 },
    });
    const c = { peer, csrf };
    await subscribe(c, 'room:a');
    expect(await request(c, { type: 'unsubscribe', channel: 'room:a' })).toMatchObject({ type: 'ack' });
    await s.wss.publish('room:a', 'chat', { n: 1 });
    await stillServing(s);
    expect(publications(c)).toEqual([]);
    peer.close();
  });

  it('client publish: declared event reaches subscribers with the sender added; undeclared or invalid refused', async () => {
    const s = await serve();
    const a = await client(s, 'alice');
    const b = await client(s, 'bob');
    await subscribe(b, 'room:general');
    expect(
      await request(a, { type: 'publish', channel: 'room:general', event: 'typing', payload: {} }),
    ).toMatchObject({ type: 'ack' });
    expect(await frame(b, (m) => m.type === 'publication')).toEqual({
      type: 'publication',
      channel: 'room:general',
      event: 'typing',
      payload: { from: 'alice' },
    });
    // An event the channel does not declare, on a channel that declares none, a bad payload.
    for (const [msg, code] of [
      [{ channel: 'room:general', event: 'chat', payload: { text: 'x' } }, 'WSG_FORBIDDEN'],
      [{ channel: 'user:alice', event: 'typing', payload: {} }, 'WSG_FORBIDDEN'],
      [{ channel: 'room:general', event: 'typing', payload: 'not an object' }, 'WSG_VALIDATION_FAILED'],
      [{ channel: 'nowhere:x', event: 'typing', payload: {} }, 'WSG_UNKNOWN_CHANNEL'],
    ] as const) {
      const reply = await request(a, { type: 'publish', ...msg });
      expect(reply).toMatchObject({ type: 'error', code });
    }
    expect(publications(b)).toHaveLength(1);
    assertNoLeak(a.peer.frames);
    await stillServing(s);
    a.peer.close();
    b.peer.close();
  });
});

describe('channel IDOR and odd names', () => {
  it.each([
    ["another user's private channel", 'user:bob', 'WSG_FORBIDDEN'],
    ['room:staff without the claim', 'room:staff', 'WSG_FORBIDDEN'],
    ['a name outside every pattern', 'admin:all', 'WSG_UNKNOWN_CHANNEL'],
    ['a path in the name', 'room:../x', 'WSG_UNKNOWN_CHANNEL'],
    ['129 characters', `room:${'a'.repeat(124)}`, 'WSG_UNKNOWN_CHANNEL'],
    ['the pattern itself', 'room:{name}', 'WSG_UNKNOWN_CHANNEL'],
    ['unicode', 'room:généra', 'WSG_UNKNOWN_CHANNEL'],
    ['a parameter failing its constraint', 'room:General', 'WSG_UNKNOWN_CHANNEL'],
    ['a parameter spanning two segments', 'user:bob:x', 'WSG_UNKNOWN_CHANNEL'],
    ['a capability wildcard', 'room:*', 'WSG_UNKNOWN_CHANNEL'],
    ['no namespace', 'general', 'WSG_UNKNOWN_CHANNEL'],
  ])('%s (%s) is refused %s, the socket stays open, others are served', async (_what, channel, code) => {
    const s = await serve();
    const alice = await client(s, 'alice');
    const reply = await subscribe(alice, channel);
    expect(reply).toEqual({
      type: 'error',
      id: expect.any(String),
      code,
      message: code === 'WSG_FORBIDDEN' ? 'Forbidden' : 'Unknown channel',
    });
    assertNoLeak(alice.peer.frames);
    // No subscription was made: a publication on a real channel of that name reaches no one.
    if (channel === 'user:bob' || channel === 'room:staff') await s.wss.publish(channel, 'x', {});
    expect(await request(alice, { type: 'echo', payload: 1 })).toMatchObject({ type: 'ack' });
    expect(publications(alice)).toEqual([]);
    expect(s.wss.channels().subscriptions).toBe(0);
    await stillServing(s);
    alice.peer.close();
  });

  it('the own private channel and room:staff with the claim are allowed (the exact name wins)', async () => {
    const s = await serve();
    const staff = await client(s, 'sam', { role: 'staff' });
    expect(await subscribe(staff, 'user:sam')).toMatchObject({ type: 'ack' });
    expect(await subscribe(staff, 'room:staff')).toMatchObject({ type: 'ack' });
    staff.peer.close();
  });

  it('a channel request needs an id, a csrf token and a string channel', async () => {
    const s = await serve();
    const c = await client(s, 'u');
    c.peer.send({ type: 'subscribe', channel: 'room:a', csrf: c.csrf });
    expect(await c.peer.next('error')).toMatchObject({ code: 'WSG_INVALID_MESSAGE' });
    c.peer.send({ id: 'n1', type: 'subscribe', channel: 'room:a' });
    expect(await c.peer.next('error')).toMatchObject({ id: 'n1', code: 'WSG_CSRF_INVALID' });
    c.peer.send({ id: 'n2', type: 'subscribe', channel: 42, csrf: c.csrf });
    // Like any malformed envelope: refused before its fields (the id among them) are trusted.
    expect(await c.peer.next('error')).toMatchObject({ code: 'WSG_INVALID_MESSAGE' });
    c.peer.send({ id: 'n3', type: 'subscribe', channel: 'room:a', csrf: c.csrf, extra: 1 });
    expect(await c.peer.next('error')).toMatchObject({ code: 'WSG_INVALID_MESSAGE' });
    expect(s.wss.channels().subscriptions).toBe(0);
    await stillServing(s);
    c.peer.close();
  });
});

describe('capabilities from the token', () => {
  it('grant exactly what the claim says: no publish from subscribe-only, no other namespace', async () => {
    const s = await serve();
    const c = await client(s, 'cap', { capabilities: { 'chat:*': ['subscribe'] } });
    expect(await subscribe(c, 'chat:lobby')).toMatchObject({ type: 'ack' });
    expect(
      await request(c, { type: 'publish', channel: 'chat:lobby', event: 'say', payload: { text: 'x' } }),
    ).toMatchObject({ code: 'WSG_FORBIDDEN' });
    expect(await subscribe(c, 'ops:lobby')).toMatchObject({ code: 'WSG_FORBIDDEN' });
    const none = await client(s, 'nocap');
    expect(await subscribe(none, 'chat:lobby')).toMatchObject({ code: 'WSG_FORBIDDEN' });
    const forged = await client(s, 'forged', { capabilities: '{"*":["admin"]}' });
    expect(await subscribe(forged, 'ops:lobby')).toMatchObject({ code: 'WSG_FORBIDDEN' });
    const writer = await client(s, 'writer', { capabilities: { 'chat:*': ['subscribe', 'publish'] } });
    expect(
      await request(writer, {
        type: 'publish',
        channel: 'chat:lobby',
        event: 'say',
        payload: { text: 'hi' },
      }),
    ).toMatchObject({ type: 'ack' });
    expect(await frame(c, (m) => m.type === 'publication')).toMatchObject({ payload: { text: 'hi' } });
    for (const x of [c, none, forged, writer]) x.peer.close();
  });
});

describe('limits and penalties', () => {
  it('maxSubscriptions per socket: past it WSG_TOO_MANY_SUBSCRIPTIONS, after an unsubscribe room again', async () => {
    const s = await serve({ maxSubscriptions: 2 });
    const c = await client(s, 'u');
    await subscribe(c, 'room:a');
    await subscribe(c, 'room:b');
    expect(await subscribe(c, 'room:c')).toMatchObject({ type: 'error', code: 'WSG_TOO_MANY_SUBSCRIPTIONS' });
    await request(c, { type: 'unsubscribe', channel: 'room:a' });
    expect(await subscribe(c, 'room:c')).toMatchObject({ type: 'ack' });
    await stillServing(s);
    c.peer.close();
  });

  it('refused subscribes strike on the penalty ladder: the socket is closed 4429 at the threshold', async () => {
    const s = await serve({ limits: { penalties: { strikes: 3, blockIp: false } } });
    const c = await client(s, 'prober');
    expect(await subscribe(c, 'user:victim-1')).toMatchObject({ code: 'WSG_FORBIDDEN' });
    expect(await subscribe(c, 'secret:x')).toMatchObject({ code: 'WSG_UNKNOWN_CHANNEL' });
    c.peer.send({ id: 'third', type: 'subscribe', channel: 'user:victim-3', csrf: c.csrf });
    const closed = await c.peer.closed;
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/^WSG_BLOCKED;retryAfterMs=\d+$/);
    await stillServing(s);
  });

  it('subscribe attempts count toward the rate limits', async () => {
    const s = await serve({ limits: { user: { rate: 0.001, burst: 3 }, penalties: false } });
    const c = await client(s, 'eager');
    for (const room of ['a', 'b', 'c']) expect((await subscribe(c, `room:${room}`)).type).toBe('ack');
    expect(await subscribe(c, 'room:d')).toMatchObject({ type: 'error', code: 'WSG_RATE_LIMITED' });
    c.peer.close();
  });
});

describe('server-side API', () => {
  it('ctx.subscribe and ctx.publish from a handler; wss.publish refuses an undeclared channel', async () => {
    const s = await serve();
    const c = await client(s, 'u');
    expect(await request(c, { type: 'note', payload: { channel: 'room:notes' } })).toMatchObject({
      type: 'ack',
    });
    expect(await frame(c, (m) => m.type === 'publication')).toEqual({
      type: 'publication',
      channel: 'room:notes',
      event: 'noted',
      payload: { by: 'u' },
    });
    expect(await request(c, { type: 'note', payload: { channel: 'nope:x' } })).toMatchObject({
      type: 'error',
      code: 'WSG_UNKNOWN_CHANNEL',
    });
    await expect(s.wss.publish('nope:x', 'e', {})).rejects.toMatchObject({ code: 'WSG_UNKNOWN_CHANNEL' });
    c.peer.close();
  });

  it('sendToUser reaches every socket of that user and no one else', async () => {
    const s = await serve();
    const one = await client(s, 'target');
    const two = await client(s, 'target');
    const other = await client(s, 'other');
    await s.wss.sendToUser('target', 'notice', { hello: 1 });
    for (const c of [one, two]) {
      expect(await frame(c, (m) => m.type === 'notice')).toEqual({ type: 'notice', payload: { hello: 1 } });
    }
    await stillServing(s);
    expect(received(other).some((m) => m.type === 'notice')).toBe(false);
    await expect(s.wss.sendToUser('target', 'ack', {})).rejects.toThrow(/reserved/);
    for (const c of [one, two, other]) c.peer.close();
  });

  it('wss.unsubscribe drops one user’s subscription with unsubscribed WSG_FORBIDDEN, or everyone’s', async () => {
    const s = await serve();
    const a = await client(s, 'alice');
    const b = await client(s, 'bob');
    await subscribe(a, 'room:x');
    await subscribe(b, 'room:x');
    await s.wss.unsubscribe('room:x', { userId: 'alice' });
    expect(await frame(a, (m) => m.type === 'unsubscribed')).toEqual({
      type: 'unsubscribed',
      channel: 'room:x',
      code: 'WSG_FORBIDDEN',
    });
    await s.wss.publish('room:x', 'chat', { n: 1 });
    await frame(b, (m) => m.type === 'publication');
    expect(publications(a)).toEqual([]);
    await s.wss.unsubscribe('room:x');
    await frame(b, (m) => m.type === 'unsubscribed');
    expect(s.wss.channels().subscriptions).toBe(0);
    a.peer.close();
    b.peer.close();
  });
});

describe('subscriptions follow the session', () => {
  it('a refreshed token without the right drops the subscription (unsubscribed WSG_FORBIDDEN)', async () => {
    const s = await serve();
    const staff = await client(s, 'sam', { role: 'staff' });
    await subscribe(staff, 'room:staff');
    await subscribe(staff, 'room:general');
    staff.peer.send({ type: 'refresh', token: await signToken('sam', { role: 'guest' }) });
    expect(await frame(staff, (m) => m.type === 'unsubscribed')).toEqual({
      type: 'unsubscribed',
      channel: 'room:staff',
      code: 'WSG_FORBIDDEN',
    });
    await s.wss.publish('room:staff', 'chat', { secret: true });
    await s.wss.publish('room:general', 'chat', { open: true });
    await frame(staff, (m) => m.type === 'publication');
    expect(publications(staff)).toEqual([
      { type: 'publication', channel: 'room:general', event: 'chat', payload: { open: true } },
    ]);
    expect(received(staff).filter((m) => m.type === 'unsubscribed')).toHaveLength(1);
    staff.peer.close();
  });

  it('a refreshed token that keeps the right keeps the subscription', async () => {
    const s = await serve();
    const staff = await client(s, 'sam', { role: 'staff' });
    await subscribe(staff, 'room:staff');
    staff.peer.send({ type: 'refresh', token: await signToken('sam', { role: 'staff' }) });
    await staff.peer.next('refresh_ok');
    await s.wss.publish('room:staff', 'chat', { n: 1 });
    await frame(staff, (m) => m.type === 'publication');
    expect(received(staff).some((m) => m.type === 'unsubscribed')).toBe(false);
    staff.peer.close();
  });

  it('revocation drops every subscription, then closes 4403', async () => {
    const s = await serve();
    const c = await client(s, 'revoked-user');
    await subscribe(c, 'room:a');
    await subscribe(c, 'user:revoked-user');
    await s.wss.revokeUser('revoked-user');
    expect((await c.peer.closed).code).toBe(4403);
    const dropped = received(c).filter((m) => m.type === 'unsubscribed');
    expect(dropped).toEqual([
      { type: 'unsubscribed', channel: 'room:a', code: 'WSG_SESSION_REVOKED' },
      { type: 'unsubscribed', channel: 'user:revoked-user', code: 'WSG_SESSION_REVOKED' },
    ]);
    expect(s.wss.channels()).toMatchObject({ channels: 0, subscriptions: 0 });
    await stillServing(s);
  });

  it('a closed socket leaves no subscription behind', async () => {
    const s = await serve();
    const c = await client(s, 'u');
    await subscribe(c, 'room:a');
    c.peer.close();
    await c.peer.closed;
    await expect.poll(() => s.wss.channels().subscriptions).toBe(0);
  });
});

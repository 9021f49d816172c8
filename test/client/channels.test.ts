import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import {
  createProtocolSocket,
  InvalidMessageError,
  type ProtocolSocket,
  type Publication,
  SecureWebSocket,
  type SecureWebSocketOptions,
  ServerError,
  type WebSocketConstructor,
} from '../../src/client/index.js';
import { defineProtocol, messageSchemas } from '../../src/protocol/index.js';
import { appError, requireClaim } from '../../src/server/index.js';
import { nextEvent, type Outcome, outcome, reachState } from '../helpers/client.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';
import { type ChannelStub, startChannelStub } from './channel-stub.js';

let stub: ChannelStub | undefined;
const sockets: SecureWebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await stub?.close();
  stub = undefined;
});

function client(options: Partial<SecureWebSocketOptions> = {}) {
  const s = new SecureWebSocket({
    url: (stub as ChannelStub).url,
    authToken: 'token',
    heartbeat: false,
    reconnect: { minDelayMs: 10, maxDelayMs: 20 },
    ...options,
  });
  sockets.push(s);
  return s;
}

/** The error of a failed outcome (fails the test when it succeeded). */
function failure<E extends Error>(r: Outcome<unknown>): E {
  if (r.ok) throw new Error('expected a rejection');
  return r.error as E;
}

const until = async (check: () => boolean, timeoutMs = 5000) => {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('subscribe / publish / unsubscribe on the wire', () => {
  it('sends the exact subscribe frame, resolves on the ack and routes publications of that channel only, in order', async () => {
    stub = await startChannelStub();
    const socket = client();
    const got: Publication[] = [];
    const sub = await socket.subscribe('room:general', { onPublication: (p) => got.push(p) });
    expect(sub.channel).toBe('room:general');
    expect(sub.state).toBe('subscribed');
    const [frame] = stub.frames(1);
    expect(Object.keys(frame ?? {}).sort()).toEqual(['channel', 'csrf', 'id', 'type']);
    expect(frame).toMatchObject({ type: 'subscribe', channel: 'room:general' });
    expect(socket.subscriptions()).toEqual(['room:general']);

    const conn = await stub.authed(1);
    conn.send({ type: 'publication', channel: 'room:random', event: 'chat', payload: { text: 'not mine' } });
    for (let i = 1; i <= 3; i++) {
      conn.send({
        type: 'publication',
        channel: 'room:general',
        event: 'chat',
        payload: { text: `m${i}` },
        offset: i,
        epoch: 'e1',
      });
    }
    await until(() => got.length === 3);
    expect(got.map((p) => (p.payload as { text: string }).text)).toEqual(['m1', 'm2', 'm3']);
    expect(got[0]).toEqual({
      channel: 'room:general',
      event: 'chat',
      payload: { text: 'm1' },
      offset: 1,
      epoch: 'e1',
    });
  });

  it.each(['WSG_FORBIDDEN', 'WSG_UNKNOWN_CHANNEL', 'WSG_TOO_MANY_SUBSCRIPTIONS'])(
    'a subscribe refused with %s rejects with that code; the socket stays open and keeps working',
    async (code) => {
      stub = await startChannelStub({ subscribe: (ch) => (ch === 'room:staff' ? code : undefined) });
      const socket = client();
      const refused = await outcome(socket.subscribe('room:staff', { onPublication: () => {} }));
      expect(refused.ok).toBe(false);
      const err = failure<Error>(refused);
      expect(err).toBeInstanceOf(ServerError);
      expect((err as ServerError).code).toBe(code);
      expect((err as ServerError).maybeHandled).toBe(false);
      expect(socket.subscriptions()).toEqual([]);
      expect(socket.state).toBe('open');
      const ok = await socket.subscribe('room:general', { onPublication: () => {} });
      expect(ok.state).toBe('subscribed');
      await expect(socket.send({ type: 'echo', payload: 1 })).resolves.toBe(1);
    },
  );

  it('publish sends {id,type:"publish",channel,event,payload,csrf} and resolves on the ack; a refusal rejects with its code', async () => {
    stub = await startChannelStub({
      publish: (_ch, event) => (event === 'typing' ? undefined : 'WSG_FORBIDDEN'),
    });
    const socket = client();
    await socket.publish('room:general', 'typing', {});
    const frame = stub.frames(1)[0];
    expect(Object.keys(frame ?? {}).sort()).toEqual(['channel', 'csrf', 'event', 'id', 'payload', 'type']);
    expect(frame).toMatchObject({ type: 'publish', channel: 'room:general', event: 'typing', payload: {} });
    const refused = await outcome(socket.publish('room:general', 'shout', { text: 'x' }));
    expect(failure<ServerError>(refused).code).toBe('WSG_FORBIDDEN');
    expect(socket.state).toBe('open');
  });

  it('refuses bad channel names locally, before anything is sent', async () => {
    stub = await startChannelStub();
    const socket = client();
    await reachState(socket, 'open');
    for (const bad of [
      'room:../x',
      `room:${'a'.repeat(124)}`,
      'room:{name}',
      'room:ünï',
      'nocolon',
      '',
      42,
    ]) {
      const r = await outcome(socket.subscribe(bad as string, { onPublication: () => {} }));
      expect(r.ok, String(bad)).toBe(false);
      expect(failure<Error>(r)).toBeInstanceOf(InvalidMessageError);
      expect((failure<InvalidMessageError>(r) as InvalidMessageError).reason).toBe('channel');
    }
    const pub = await outcome(socket.publish('room:{name}', 'typing', {}));
    expect(failure<InvalidMessageError>(pub).reason).toBe('channel');
    await socket.send({ type: 'echo', payload: 'after' });
    expect(stub.frames(1).map((f) => f.type)).toEqual(['echo']);
  });

  it('unsubscribe sends {id,type:"unsubscribe",channel,csrf}; nothing is routed afterwards', async () => {
    stub = await startChannelStub();
    const socket = client();
    const got: Publication[] = [];
    const sub = await socket.subscribe('room:general', { onPublication: (p) => got.push(p) });
    await sub.unsubscribe();
    expect(sub.state).toBe('unsubscribed');
    const frame = stub.frames(1)[1];
    expect(Object.keys(frame ?? {}).sort()).toEqual(['channel', 'csrf', 'id', 'type']);
    expect(frame).toMatchObject({ type: 'unsubscribe', channel: 'room:general' });
    const conn = await stub.authed(1);
    conn.send({ type: 'publication', channel: 'room:general', event: 'chat', payload: 'late' });
    await socket.send({ type: 'echo', payload: 'barrier' });
    expect(got).toEqual([]);
    await expect(sub.unsubscribe()).resolves.toBeUndefined();
  });

  it('two handles on one channel share one server subscription; the last unsubscribe sends it', async () => {
    stub = await startChannelStub();
    const socket = client();
    const a: unknown[] = [];
    const b: unknown[] = [];
    const [ha, hb] = await Promise.all([
      socket.subscribe('room:general', { onPublication: (p) => a.push(p.payload) }),
      socket.subscribe('room:general', { onPublication: (p) => b.push(p.payload) }),
    ]);
    const hc = await socket.subscribe('room:general', { onPublication: () => {} });
    expect(stub.frames(1).filter((f) => f.type === 'subscribe')).toHaveLength(1);
    (await stub.authed(1)).send({ type: 'publication', channel: 'room:general', event: 'chat', payload: 1 });
    await until(() => a.length === 1 && b.length === 1);
    await ha.unsubscribe();
    await hc.unsubscribe();
    expect(stub.frames(1).filter((f) => f.type === 'unsubscribe')).toHaveLength(0);
    await hb.unsubscribe();
    expect(stub.frames(1).filter((f) => f.type === 'unsubscribe')).toHaveLength(1);
  });

  it('an unsubscribe right after subscribe (before the ack) ends with the server unsubscribed', async () => {
    stub = await startChannelStub();
    const socket = client();
    await reachState(socket, 'open');
    const pending = outcome(socket.subscribe('room:general', { onPublication: () => {} }));
    // The handle is not out yet: unsubscribing is the subscribe's caller's job; emulate a fast unmount.
    const first = await pending;
    expect(first.ok).toBe(true);
    const quick = socket.subscribe('room:quick', { onPublication: () => {} });
    const h = await quick;
    await h.unsubscribe();
    expect(stub.subscribed(1).has('room:quick')).toBe(false);
    expect(stub.frames(1).map((f) => `${f.type} ${f.channel}`)).toEqual([
      'subscribe room:general',
      'subscribe room:quick',
      'unsubscribe room:quick',
    ]);
  });
});

describe('the server ends a subscription: unsubscribed', () => {
  it('calls onUnsubscribed with WSG_FORBIDDEN, stops routing, and does not resubscribe after a reconnect', async () => {
    stub = await startChannelStub();
    const socket = client();
    const ended: Error[] = [];
    const got: unknown[] = [];
    const sub = await socket.subscribe('room:staff', {
      onPublication: (p) => got.push(p.payload),
      onUnsubscribed: (e) => ended.push(e),
    });
    const conn = await stub.authed(1);
    conn.send({ type: 'unsubscribed', channel: 'room:staff', code: 'WSG_FORBIDDEN' });
    conn.send({ type: 'publication', channel: 'room:staff', event: 'chat', payload: 'after' });
    await until(() => ended.length === 1);
    expect((ended[0] as ServerError).code).toBe('WSG_FORBIDDEN');
    expect(sub.state).toBe('unsubscribed');
    expect(socket.subscriptions()).toEqual([]);
    conn.ws.close(1001, 'WSG_SHUTTING_DOWN');
    await nextEvent(socket, 'open', (e) => e.reconnected);
    await socket.send({ type: 'echo', payload: 'barrier' });
    expect(stub.frames(2).map((f) => f.type)).toEqual(['echo']);
    expect(got).toEqual([]);
  });

  it('ignores unsubscribed and publication frames for channels it does not hold, and malformed ones', async () => {
    stub = await startChannelStub();
    const socket = client();
    const errors: Error[] = [];
    socket.addEventListener('error', (e) => errors.push(e));
    const got: unknown[] = [];
    await socket.subscribe('room:general', { onPublication: (p) => got.push(p.payload) });
    const conn = await stub.authed(1);
    conn.send({ type: 'unsubscribed', channel: 'room:other', code: 'WSG_FORBIDDEN' });
    conn.send({ type: 'unsubscribed', code: 'WSG_FORBIDDEN' });
    conn.send({ type: 'publication', channel: 42, event: 'chat', payload: 'x' });
    conn.send({ type: 'publication', channel: 'room:general', payload: 'no event' });
    conn.send({ type: 'publication', channel: 'room:general', event: 'chat', payload: 'ok' });
    await until(() => got.length === 1);
    expect(got).toEqual(['ok']);
    expect(socket.subscriptions()).toEqual(['room:general']);
    expect(errors).toEqual([]);
  });
});

describe('reconnects', () => {
  it('resubscribes every active subscription after each reconnect, with since = the last epoch/offset seen', async () => {
    stub = await startChannelStub({
      subscribe: (ch, conn) =>
        ch === 'room:history' && conn.index === 1 ? { result: { epoch: 'e1', offset: 4 } } : undefined,
    });
    const socket = client();
    const got: unknown[] = [];
    const acks: unknown[] = [];
    const hist = await socket.subscribe('room:history', {
      onPublication: (p) => got.push(p.payload),
      onSubscribed: (r) => acks.push(r),
    });
    await socket.subscribe('user:me', { onPublication: (p) => got.push(p.payload) });
    const c1 = await stub.authed(1);
    c1.send({
      type: 'publication',
      channel: 'room:history',
      event: 'chat',
      payload: 'five',
      offset: 5,
      epoch: 'e1',
    });
    await until(() => got.length === 1);
    c1.ws.close(1001, 'WSG_SHUTTING_DOWN');
    await until(() => hist.state === 'subscribing');
    await nextEvent(socket, 'open', (e) => e.reconnected);
    await until(() => stub?.subscribed(2).size === 2);
    const resubs = stub.frames(2).filter((f) => f.type === 'subscribe');
    expect(resubs.map((f) => f.channel).sort()).toEqual(['room:history', 'user:me']);
    expect(resubs.find((f) => f.channel === 'room:history')?.since).toEqual({ epoch: 'e1', offset: 5 });
    expect(resubs.find((f) => f.channel === 'user:me')?.since).toBeUndefined();
    await until(() => hist.state === 'subscribed');
    expect(acks).toHaveLength(2);
    const c2 = await stub.authed(2);
    c2.send({ type: 'publication', channel: 'user:me', event: 'dm', payload: 'again' });
    await until(() => got.length === 2);
    // and once more: every reconnect, not only the first
    c2.ws.close(1001, 'WSG_SHUTTING_DOWN');
    await nextEvent(socket, 'open', (e) => e.reconnected);
    await until(() => stub?.subscribed(3).size === 2);
  });

  it('resubscribes ahead of messages queued while disconnected, so their publications reach this client', async () => {
    stub = await startChannelStub();
    const socket = client();
    await socket.subscribe('room:general', { onPublication: () => {} });
    (await stub.authed(1)).ws.close(1001, 'WSG_SHUTTING_DOWN');
    await reachState(socket, 'reconnecting');
    const queued = socket.send({ type: 'chat', payload: { text: 'typed offline' } });
    await queued;
    expect(stub.frames(2).map((f) => f.type)).toEqual(['subscribe', 'chat']);
  });

  it('a resubscribe the server now refuses ends that subscription with onUnsubscribed; the others stay', async () => {
    stub = await startChannelStub({
      subscribe: (ch, conn) => (ch === 'room:staff' && conn.index > 1 ? 'WSG_FORBIDDEN' : undefined),
    });
    const socket = client();
    const ended: Error[] = [];
    const staff = await socket.subscribe('room:staff', {
      onPublication: () => {},
      onUnsubscribed: (e) => ended.push(e),
    });
    const general = await socket.subscribe('room:general', { onPublication: () => {} });
    (await stub.authed(1)).ws.close(1001, 'WSG_SHUTTING_DOWN');
    await until(() => ended.length === 1);
    expect((ended[0] as ServerError).code).toBe('WSG_FORBIDDEN');
    expect(staff.state).toBe('unsubscribed');
    await until(() => general.state === 'subscribed');
    expect(socket.subscriptions()).toEqual(['room:general']);
  });

  it('a subscribe made while disconnected is queued and sent once connected; close() ends every subscription', async () => {
    stub = await startChannelStub();
    const socket = client();
    const early = socket.subscribe('room:early', { onPublication: () => {} });
    const h = await early;
    expect(h.state).toBe('subscribed');
    const ended: Error[] = [];
    await socket.subscribe('room:two', { onPublication: () => {}, onUnsubscribed: (e) => ended.push(e) });
    socket.close();
    expect(h.state).toBe('unsubscribed');
    expect(ended).toHaveLength(1);
    expect(socket.subscriptions()).toEqual([]);
    const after = await outcome(socket.subscribe('room:x', { onPublication: () => {} }));
    expect(failure<Error>(after).name).toBe('ClosedError');
  });
});

describe('application error codes', () => {
  it('an APP_ code and its message reach send() as a ServerError with maybeHandled false', async () => {
    stub = await startChannelStub({ message: (type) => (type === 'find' ? 'APP_NOT_FOUND' : undefined) });
    const socket = client();
    const r = await outcome(socket.send({ type: 'find', payload: { id: 'nope' } }));
    const err = failure<ServerError>(r);
    expect(err).toBeInstanceOf(ServerError);
    expect(err.code).toBe('APP_NOT_FOUND');
    expect(err.maybeHandled).toBe(false);
  });

  it('a code outside WSG_/APP_ (or malformed) is reported as WSG_INTERNAL', async () => {
    stub = await startChannelStub({ message: (type) => (type === 'odd' ? 'not-a-code<script>' : undefined) });
    const socket = client();
    const r = await outcome(socket.send({ type: 'odd', payload: null }));
    expect(failure<ServerError>(r).code).toBe('WSG_INTERNAL');
  });
});

describe('against the real server, one protocol object on both sides', () => {
  const protocol = defineProtocol({
    messages: {
      echo: z.unknown(),
      chat: z.object({ room: z.string(), text: z.string().min(1).max(200) }),
      find: z.object({ id: z.string() }),
    },
    channels: {
      'room:{name}': {
        publish: { typing: z.object({}) },
        events: { chat: z.object({ from: z.string(), text: z.string(), at: z.number() }) },
      },
      'room:staff': {},
      'user:{id}': { events: { dm: z.object({ text: z.string() }) } },
    },
  });
  type Socket = ProtocolSocket<typeof protocol>;
  let srv: TestServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  async function serve() {
    srv = await startServer({
      messages: messageSchemas(protocol.messages),
      channels: {
        'room:{name}': {
          params: { name: /[a-z0-9-]{1,32}/ },
          authorize: () => true,
          publish: protocol.channels['room:{name}'].publish,
          transformPublish: (user, _event, payload) => ({ ...(payload as object), from: user.id }),
        },
        'room:staff': { authorize: requireClaim('role', 'staff') },
        'user:{id}': { authorize: (user, { id }) => user.id === id },
      },
      handlers: {
        echo: (_c, p) => p,
        chat: async (ctx, { room, text }) => {
          await ctx.publish(`room:${room}`, 'chat', { from: ctx.user.id, text, at: Date.now() });
        },
        find: () => {
          throw appError('APP_NOT_FOUND', 'No such thing');
        },
      },
      anomaly: false,
    });
    return srv;
  }

  async function user(s: TestServer, sub: string, claims: Record<string, unknown> = {}): Promise<Socket> {
    const socket = createProtocolSocket<typeof protocol>({
      url: s.url,
      authToken: await signToken(sub, claims),
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      heartbeat: false,
      reconnect: { minDelayMs: 10, maxDelayMs: 20 },
    });
    sockets.push(socket as unknown as SecureWebSocket);
    return socket;
  }

  it('subscribers get chat and typing in order; refusals carry WSG_FORBIDDEN / WSG_UNKNOWN_CHANNEL / APP_NOT_FOUND', async () => {
    const s = await serve();
    const alice = await user(s, 'alice');
    const bob = await user(s, 'bob');
    const seen: string[] = [];
    await bob.subscribe('room:general', {
      onPublication: (p) =>
        seen.push(
          p.event === 'chat'
            ? `chat ${p.payload.from}: ${p.payload.text}`
            : `typing ${String((p.payload as { from?: string }).from)}`,
        ),
    });
    await alice.subscribe('room:general', { onPublication: () => {} });
    await alice.publish('room:general', 'typing', {});
    await alice.send({ type: 'chat', payload: { room: 'general', text: 'one' } });
    await alice.send({ type: 'chat', payload: { room: 'general', text: 'two' } });
    await until(() => seen.length === 3);
    expect(seen).toEqual(['typing alice', 'chat alice: one', 'chat alice: two']);

    const staff = await outcome(alice.subscribe('room:staff', { onPublication: () => {} }));
    expect(failure<ServerError>(staff).code).toBe('WSG_FORBIDDEN');
    const other = await outcome(alice.subscribe('user:bob', { onPublication: () => {} }));
    expect(failure<ServerError>(other).code).toBe('WSG_FORBIDDEN');
    const unknown = await outcome(
      (alice as unknown as SecureWebSocket).subscribe('lobby:main', { onPublication: () => {} }),
    );
    expect(failure<ServerError>(unknown).code).toBe('WSG_UNKNOWN_CHANNEL');
    const app = await outcome(alice.send({ type: 'find', payload: { id: 'x' } }));
    expect(failure<ServerError>(app).code).toBe('APP_NOT_FOUND');
    expect(failure<ServerError>(app).message).toBe('No such thing');
    expect(alice.state).toBe('open');
    await expect(alice.send({ type: 'echo', payload: 'still' })).resolves.toBe('still');
  });

  it('a staff token may subscribe to room:staff; after a server restart-like drop the client resubscribes and the server re-authorizes', async () => {
    const s = await serve();
    const boss = await user(s, 'boss', { role: 'staff' });
    const mine: unknown[] = [];
    const sub = await boss.subscribe('user:boss', { onPublication: (p) => mine.push(p.payload) });
    await boss.subscribe('room:staff', { onPublication: () => {} });
    for (const sock of s.sockets) sock.destroy();
    await nextEvent(boss as unknown as SecureWebSocket, 'open', (e) => e.reconnected);
    await until(() => sub.state === 'subscribed');
    await until(() => s.wss.channels().subscriptions >= 2);
    await s.wss.publish('user:boss', 'dm', { text: 'after reconnect' });
    await until(() => mine.length === 1);
    expect(mine).toEqual([{ text: 'after reconnect' }]);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { type PresenceView, type Publication, SecureWebSocket } from '../../src/client/index.js';
import { memoryStore, type WsGuardOptions } from '../../src/server/index.js';
import { nextEvent } from '../helpers/client.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer | undefined;
const sockets: SecureWebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await srv?.close();
  srv = undefined;
});

const channels: NonNullable<WsGuardOptions['channels']> = {
  'room:{name}': { authorize: () => true, history: { size: 100, ttlMs: 120_000 }, presence: true },
  'tiny:{name}': { authorize: () => true, history: { size: 5, ttlMs: 120_000 } },
};

async function client(s: TestServer, sub: string) {
  const socket = new SecureWebSocket({
    url: s.url,
    authToken: await signToken(sub),
    heartbeat: false,
    reconnect: { minDelayMs: 10, maxDelayMs: 20 },
  });
  sockets.push(socket);
  return socket;
}

const until = async (check: () => boolean, timeoutMs = 5000) => {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

/** Cuts the connection from the server's side, then publishes while the client is away. */
async function away(s: TestServer, socket: SecureWebSocket, during: () => Promise<void>) {
  const reopened = nextEvent(socket, 'open', (e) => e.reconnected);
  for (const tcp of s.sockets) tcp.destroy();
  await during();
  await reopened;
}

describe('client recovery after a reconnect (real server)', () => {
  it('delivers the missed publications in order before live ones, none twice, and says recovered', async () => {
    srv = await startServer({ channels, store: memoryStore(), limits: { connectionsPerIp: false } });
    const s = srv;
    const socket = await client(s, 'alice');
    const got: Publication[] = [];
    const results: unknown[] = [];
    const sub = await socket.subscribe('room:r', {
      onPublication: (p) => got.push(p),
      onSubscribed: (r) => results.push(r.recovered),
    });
    for (let i = 0; i < 3; i++) await s.wss.publish('room:r', 'chat', { i });
    await until(() => got.length === 3);
    await away(s, socket, async () => {
      for (let i = 3; i < 53; i++) await s.wss.publish('room:r', 'chat', { i });
    });
    await until(() => sub.state === 'subscribed' && results.length === 2);
    for (let i = 53; i < 58; i++) await s.wss.publish('room:r', 'chat', { i });
    await until(() => got.length >= 58);
    expect(got.map((p) => (p.payload as { i: number }).i)).toEqual(range(0, 58));
    expect(got.map((p) => p.offset)).toEqual(range(1, 59));
    expect(sub.recovered).toBe(true);
    expect(results).toEqual([undefined, true]);
  });

  it('reports recovered false when the gap is gone, and goes on from the new position', async () => {
    srv = await startServer({ channels, store: memoryStore(), limits: { connectionsPerIp: false } });
    const s = srv;
    const socket = await client(s, 'bob');
    const got: Publication[] = [];
    const results: unknown[] = [];
    const sub = await socket.subscribe('tiny:t', {
      onPublication: (p) => got.push(p),
      onSubscribed: (r) => results.push(r.recovered),
    });
    await away(s, socket, async () => {
      for (let i = 0; i < 20; i++) await s.wss.publish('tiny:t', 'chat', { i });
    });
    await until(() => results.length === 2);
    expect(sub.recovered).toBe(false);
    expect(got).toEqual([]);
    await s.wss.publish('tiny:t', 'chat', { i: 20 });
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ offset: 21, payload: { i: 20 } });
  });

  it('presence: the handle and onPresence follow joins and leaves', async () => {
    srv = await startServer({ channels, limits: { connectionsPerIp: false } });
    const s = srv;
    const a = await client(s, 'ann');
    const views: PresenceView[] = [];
    const sub = await a.subscribe('room:p', { onPublication: () => {}, onPresence: (v) => views.push(v) });
    expect(sub.presence).toEqual({ count: 1, members: [{ userId: 'ann' }] });
    const b = await client(s, 'ben');
    const bSub = await b.subscribe('room:p', { onPublication: () => {} });
    await until(() => sub.presence?.count === 2);
    expect(sub.presence?.members.map((m) => m.userId).sort()).toEqual(['ann', 'ben']);
    await bSub.unsubscribe();
    await until(() => sub.presence?.count === 1);
    expect(sub.presence).toEqual({ count: 1, members: [{ userId: 'ann' }] });
    expect(views.length).toBeGreaterThanOrEqual(3);
  });
});

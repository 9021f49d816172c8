import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { memoryStore, type WsGuardOptions } from '../../../src/server/index.js';
import { assertNoLeak, connectAuthed } from '../../helpers/peer.js';
import { signToken, startServer, type TestServer } from '../../helpers/server.js';
import { type Client, frame, publications, received, request } from './helpers.js';

let servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

const staff = new Set<string>();
const channels: NonNullable<WsGuardOptions['channels']> = {
  'room:{name}': {
    authorize: () => true,
    history: { size: 100, ttlMs: 120_000 },
    presence: { maxMembers: 3 },
    publish: { typing: z.object({}) },
  },
  'small:{name}': { authorize: () => true, history: { size: 10, ttlMs: 60_000, maxBytes: 4096 } },
  'staff:{name}': { authorize: (user) => staff.has(user.id), history: true },
};

async function serve(extra: Partial<WsGuardOptions> = {}) {
  const s = await startServer({
    channels,
    messages: { echo: z.unknown() },
    handlers: { echo: (_c, p) => p },
    anomaly: false,
    limits: { connectionsPerIp: false },
    ...extra,
  });
  servers.push(s);
  return s;
}

async function client(s: TestServer, sub: string): Promise<Client> {
  const { peer, csrf } = await connectAuthed(s.url, await signToken(sub));
  return { peer, csrf };
}

const sub = (c: Client, channel: string, since?: { epoch: string; offset: number }) =>
  request(c, since ? { type: 'subscribe', channel, since } : { type: 'subscribe', channel });
const indexes = (c: Client) => publications(c).map((m) => (m.payload as { i: number }).i);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

async function publishMany(s: TestServer, channel: string, from: number, to: number) {
  for (let i = from; i < to; i++) await s.wss.publish(channel, 'chat', { i });
}

describe('history and recovery (memory store)', () => {
  it('replays the 50 publications missed while away, in order, then live ones; none twice, none missing', async () => {
    const s = await serve();
    const a = await client(s, 'alice');
    const ack = await sub(a, 'room:general');
    expect(ack.result).toMatchObject({ channel: 'room:general', offset: 0 });
    const epoch = (ack.result as { epoch: string }).epoch;
    expect(epoch).toMatch(/^[A-Za-z0-9_-]{12}$/);
    await publishMany(s, 'room:general', 0, 5);
    await frame(a, (m) => m.type === 'publication' && (m.payload as { i: number }).i === 4);
    const last = publications(a).at(-1) as { offset: number; epoch: string };
    expect(last).toMatchObject({ offset: 5, epoch, event: 'chat', channel: 'room:general' });
    a.peer.close();

    await publishMany(s, 'room:general', 5, 55);
    const back = await client(s, 'alice');
    const reply = await sub(back, 'room:general', { epoch, offset: 5 });
    expect(reply.result).toEqual({
      channel: 'room:general',
      epoch,
      offset: 55,
      recovered: true,
      presence: { count: 1, members: [{ userId: 'alice' }] },
    });
    await publishMany(s, 'room:general', 55, 60);
    await frame(back, (m) => m.type === 'publication' && (m.payload as { i: number }).i === 59);
    expect(indexes(back)).toEqual(range(5, 60));
    expect(publications(back).map((m) => m.offset)).toEqual(range(6, 61));
    // The ack comes before the first replayed publication.
    const frames = received(back);
    expect(frames.findIndex((m) => m.id === reply.id)).toBeLessThan(
      frames.findIndex((m) => m.type === 'publication'),
    );
    back.peer.close();
  });

  it('outside the window (more missed than kept): recovered false, no replay, live ones still come', async () => {
    const s = await serve();
    const a = await client(s, 'alice');
    const { epoch } = (await sub(a, 'small:x')).result as { epoch: string };
    a.peer.close();
    await publishMany(s, 'small:x', 0, 25);
    const back = await client(s, 'alice');
    expect((await sub(back, 'small:x', { epoch, offset: 0 })).result).toEqual({
      channel: 'small:x',
      epoch,
      offset: 25,
      recovered: false,
    });
    // Within the window it still recovers: the last 10 are kept.
    const c = await client(s, 'carol');
    expect((await sub(c, 'small:x', { epoch, offset: 15 })).result).toMatchObject({
      recovered: true,
      offset: 25,
    });
    await frame(c, (m) => (m.payload as { i: number } | undefined)?.i === 24);
    expect(indexes(c)).toEqual(range(15, 25));
    await publishMany(s, 'small:x', 25, 26);
    await frame(back, (m) => m.type === 'publication');
    expect(indexes(back)).toEqual([25]);
    // A position from the future or another epoch is not recovered either.
    for (const since of [
      { epoch, offset: 99 },
      { epoch: 'other-epoch1', offset: 1 },
    ]) {
      const d = await client(s, 'dave');
      expect((await sub(d, 'small:x', since)).result).toMatchObject({ recovered: false, epoch, offset: 26 });
      d.peer.close();
    }
    back.peer.close();
    c.peer.close();
  });

  it('outside the window (older than ttlMs): recovered false', async () => {
    let t = 1_000_000;
    const s = await serve({ store: memoryStore({ now: () => t }) });
    const a = await client(s, 'alice');
    const { epoch } = (await sub(a, 'small:y')).result as { epoch: string };
    a.peer.close();
    await publishMany(s, 'small:y', 0, 3);
    t += 61_000;
    const back = await client(s, 'alice');
    expect((await sub(back, 'small:y', { epoch, offset: 0 })).result).toMatchObject({
      epoch,
      offset: 3,
      recovered: false,
    });
    back.peer.close();
  });

  it('a restarted process (new memory store) has a new epoch: recovered false', async () => {
    const s1 = await serve();
    const a = await client(s1, 'alice');
    const { epoch } = (await sub(a, 'room:r')).result as { epoch: string };
    await publishMany(s1, 'room:r', 0, 3);
    await s1.close();
    servers = [];
    const s2 = await serve();
    const back = await client(s2, 'alice');
    const result = (await sub(back, 'room:r', { epoch, offset: 3 })).result as Record<string, unknown>;
    expect(result.recovered).toBe(false);
    expect(result.epoch).not.toBe(epoch);
    expect(result.offset).toBe(0);
    back.peer.close();
  });

  it('a client whose right was revoked while away gets WSG_FORBIDDEN, not the history', async () => {
    staff.add('sam');
    const s = await serve();
    const a = await client(s, 'sam');
    const { epoch } = (await sub(a, 'staff:ops')).result as { epoch: string };
    a.peer.close();
    await publishMany(s, 'staff:ops', 0, 10);
    staff.delete('sam');
    const back = await client(s, 'sam');
    const reply = await sub(back, 'staff:ops', { epoch, offset: 0 });
    expect(reply).toMatchObject({ type: 'error', code: 'WSG_FORBIDDEN', message: 'Forbidden' });
    expect(await request(back, { type: 'echo', payload: 1 })).toMatchObject({ type: 'ack' });
    expect(publications(back)).toEqual([]);
    assertNoLeak(back.peer.frames);
    expect(JSON.stringify(received(back))).not.toContain(epoch);
    back.peer.close();
  });

  it('a bad since is refused WSG_INVALID_MESSAGE; the server still serves', async () => {
    const s = await serve();
    const a = await client(s, 'alice');
    for (const since of [
      { epoch: 'e', offset: -1 },
      { epoch: 'e', offset: 1.5 },
      { epoch: 'x'.repeat(65), offset: 1 },
      'e:1',
    ]) {
      a.peer.send({ id: 'bad', type: 'subscribe', channel: 'room:a', csrf: a.csrf, since });
      // Like any malformed envelope: refused before its fields (the id among them) are trusted.
      expect(await a.peer.next('error')).toMatchObject({ type: 'error', code: 'WSG_INVALID_MESSAGE' });
    }
    assertNoLeak(a.peer.frames);
    expect(s.wss.channels().subscriptions).toBe(0);
    expect((await sub(a, 'room:a')).type).toBe('ack');
    a.peer.close();
  });

  it('channels without history carry no offset; history: true uses the defaults', async () => {
    const s = await serve({ channels: { ...channels, 'plain:{x}': { authorize: () => true } } });
    const a = await client(s, 'alice');
    expect((await sub(a, 'plain:x')).result).toEqual({ channel: 'plain:x' });
    await s.wss.publish('plain:x', 'e', {});
    const p = await frame(a, (m) => m.type === 'publication');
    expect(p).toEqual({ type: 'publication', channel: 'plain:x', event: 'e', payload: {} });
    a.peer.close();
  });
});

describe('presence (memory store)', () => {
  it('the ack lists members (capped, count is the full number); joined and left reach subscribers', async () => {
    const s = await serve();
    const a = await client(s, 'alice');
    expect((await sub(a, 'room:p')).result).toMatchObject({
      presence: { count: 1, members: [{ userId: 'alice' }] },
    });
    const others: Client[] = [];
    for (const name of ['bob', 'carol', 'dave', 'erin']) {
      const c = await client(s, name);
      others.push(c);
      await sub(c, 'room:p');
    }
    const last = (await sub(await client(s, 'frank'), 'room:p')).result as {
      presence: { count: number; members: unknown[] };
    };
    expect(last.presence.count).toBe(6);
    expect(last.presence.members).toHaveLength(3);
    await frame(a, (m) => m.type === 'presence' && JSON.stringify(m.joined) === '[{"userId":"frank"}]');
    // A second socket of the same user is no new member; its leaving is no leave.
    const bob2 = await client(s, 'bob');
    await sub(bob2, 'room:p');
    bob2.peer.close();
    (others[0] as Client).peer.close();
    const left = await frame(a, (m) => m.type === 'presence' && m.left !== undefined);
    expect(left).toEqual({ type: 'presence', channel: 'room:p', left: [{ userId: 'bob' }] });
    expect(
      received(a).filter((m) => m.type === 'presence' && JSON.stringify(m.joined) === '[{"userId":"bob"}]'),
    ).toHaveLength(1);
    expect(await request(a, { type: 'unsubscribe', channel: 'room:p' })).toMatchObject({ type: 'ack' });
    await frame(
      others[1] as Client,
      (m) => m.type === 'presence' && JSON.stringify(m.left) === '[{"userId":"alice"}]',
    );
    a.peer.close();
    for (const c of others) c.peer.close();
  });
});

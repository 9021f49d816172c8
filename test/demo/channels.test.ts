import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNoLeak, connectAuthed } from '../helpers/peer.js';
import { type Child, freePort, startDemo } from '../helpers/process.js';
import { signToken } from '../helpers/server.js';
import {
  type Client,
  frame,
  publications,
  received,
  request,
  subscribe,
} from '../server/channels/helpers.js';

// The built demo server (`npm start`), second version: rooms, the staff room, private user
// channels, chat in a room, DMs.
const SECRET = 'demo-channels-secret-0123456789-abcdef';
let child: Child;
let url: string;

beforeAll(async () => {
  const port = await freePort();
  child = startDemo(port, { WSGUARD_JWT_SECRET: SECRET });
  await child.waitFor(/dev token \(12 h\): \S+/);
  url = `ws://127.0.0.1:${port}/ws`;
});
afterAll(() => child.stop());

async function as(sub: string, claims: Record<string, unknown> = {}): Promise<Client> {
  const { peer, csrf } = await connectAuthed(url, await signToken(sub, claims, SECRET));
  return { peer, csrf };
}
async function devUser(): Promise<Client> {
  const { peer, csrf } = await connectAuthed(url, 'test_token');
  return { peer, csrf };
}

describe('demo channels', () => {
  it('room:{name}: any user subscribes; chat with a room publishes {from, text, at} there only', async () => {
    const alice = await as('alice');
    const bob = await devUser();
    const outsider = await as('outsider');
    expect(await subscribe(alice, 'room:general')).toMatchObject({
      type: 'ack',
      result: { channel: 'room:general' },
    });
    expect(await subscribe(bob, 'room:general')).toMatchObject({ type: 'ack' });
    expect(await subscribe(outsider, 'room:random')).toMatchObject({ type: 'ack' });
    expect(
      await request(bob, { type: 'chat', payload: { room: 'general', text: 'hello room' } }),
    ).toMatchObject({
      type: 'ack',
    });
    for (const c of [alice, bob]) {
      const pub = await frame(c, (m) => m.type === 'publication' && m.event === 'chat');
      expect(pub).toMatchObject({
        type: 'publication',
        channel: 'room:general',
        event: 'chat',
        payload: { from: 'dev-user', text: 'hello room', at: expect.any(Number) },
      });
    }
    expect(await request(outsider, { type: 'echo', payload: 1 })).toMatchObject({ type: 'ack' });
    expect(publications(outsider)).toEqual([]);
    // Not a broadcast: no v1 `chat` event for anyone.
    expect(received(outsider).some((m) => m.type === 'chat')).toBe(false);
    for (const c of [alice, bob, outsider]) c.peer.close();
  });

  it('typing: clients may publish it on a room, subscribers see who types', async () => {
    const a = await as('typist');
    const b = await as('watcher');
    await subscribe(b, 'room:general');
    expect(
      await request(a, { type: 'publish', channel: 'room:general', event: 'typing', payload: {} }),
    ).toMatchObject({ type: 'ack' });
    expect(await frame(b, (m) => m.event === 'typing')).toEqual({
      type: 'publication',
      channel: 'room:general',
      event: 'typing',
      payload: { from: 'typist' },
      // Rooms keep history: every publication carries its position.
      offset: expect.any(Number),
      epoch: expect.stringMatching(/^[A-Za-z0-9_-]{12}$/),
    });
    // Only `typing` is declared: a client cannot forge a chat line as a publication.
    expect(
      await request(a, { type: 'publish', channel: 'room:general', event: 'chat', payload: { text: 'x' } }),
    ).toMatchObject({ code: 'WSG_FORBIDDEN' });
    a.peer.close();
    b.peer.close();
  });

  it('room:staff only with role=staff: the guest is refused, for subscribe and for chat', async () => {
    const guest = await as('guest-1');
    const staff = await as('sam', { role: 'staff' });
    expect(await subscribe(guest, 'room:staff')).toMatchObject({ type: 'error', code: 'WSG_FORBIDDEN' });
    expect(await subscribe(staff, 'room:staff')).toMatchObject({ type: 'ack' });
    expect(
      await request(guest, { type: 'chat', payload: { room: 'staff', text: 'let me in' } }),
    ).toMatchObject({
      type: 'error',
      code: 'WSG_FORBIDDEN',
    });
    expect(
      await request(staff, { type: 'chat', payload: { room: 'staff', text: 'staff only' } }),
    ).toMatchObject({
      type: 'ack',
    });
    await frame(
      staff,
      (m) => m.type === 'publication' && (m.payload as { text: string }).text === 'staff only',
    );
    expect(publications(staff).map((m) => (m.payload as { text: string }).text)).toEqual(['staff only']);
    assertNoLeak(guest.peer.frames);
    guest.peer.close();
    staff.peer.close();
  });

  it('user:{id}: only that user; a dm publishes {from, text, at} on user:<to> and reaches only its target', async () => {
    const target = await as('target-user');
    const snoop = await as('snoop');
    const sender = await devUser();
    expect(await subscribe(target, 'user:target-user')).toMatchObject({ type: 'ack' });
    expect(await subscribe(snoop, 'user:target-user')).toMatchObject({ code: 'WSG_FORBIDDEN' });
    expect(await request(sender, { type: 'dm', payload: { to: 'target-user', text: 'psst' } })).toMatchObject(
      {
        type: 'ack',
      },
    );
    expect(await frame(target, (m) => m.type === 'publication')).toMatchObject({
      type: 'publication',
      channel: 'user:target-user',
      event: 'dm',
      payload: { from: 'dev-user', text: 'psst', at: expect.any(Number) },
    });
    expect(await request(snoop, { type: 'echo', payload: 1 })).toMatchObject({ type: 'ack' });
    expect(publications(snoop)).toEqual([]);
    expect(publications(sender)).toEqual([]);
    for (const c of [target, snoop, sender]) c.peer.close();
  });

  it('odd room names are refused with WSG_UNKNOWN_CHANNEL (subscribe) or WSG_VALIDATION_FAILED (chat)', async () => {
    const c = await as('odd');
    for (const name of [
      'room:../x',
      `room:${'a'.repeat(33)}`,
      'room:{name}',
      'room:Général',
      'room:UPPER',
      'lobby:x',
    ]) {
      expect(await subscribe(c, name)).toMatchObject({ type: 'error', code: 'WSG_UNKNOWN_CHANNEL' });
    }
    expect(await request(c, { type: 'chat', payload: { room: '../x', text: 'x' } })).toMatchObject({
      code: 'WSG_VALIDATION_FAILED',
    });
    expect(await request(c, { type: 'echo', payload: 'still served' })).toMatchObject({ type: 'ack' });
    assertNoLeak(c.peer.frames);
    c.peer.close();
  });

  it('v1 stays: chat without a room broadcasts to every socket', async () => {
    const a = await as('v1-a');
    const b = await as('v1-b');
    expect(await request(a, { type: 'chat', payload: { text: 'to all' } })).toMatchObject({ type: 'ack' });
    expect(await frame(b, (m) => m.type === 'chat')).toMatchObject({
      type: 'chat',
      payload: { from: 'v1-a', text: 'to all' },
    });
    a.peer.close();
    b.peer.close();
  });

  it('rooms keep history for recovery and have presence: a client back misses nothing', async () => {
    const a = await as('ann');
    const first = (await subscribe(a, 'room:recover')).result as Record<string, unknown>;
    expect(first).toMatchObject({
      channel: 'room:recover',
      offset: 0,
      presence: { count: 1, members: [{ userId: 'ann' }] },
    });
    const b = await as('ben');
    await subscribe(b, 'room:recover');
    expect(await frame(a, (m) => m.type === 'presence' && JSON.stringify(m).includes('ben'))).toEqual({
      type: 'presence',
      channel: 'room:recover',
      joined: [{ userId: 'ben' }],
    });
    a.peer.close();
    await frame(b, (m) => m.type === 'presence' && m.left !== undefined);
    for (let i = 0; i < 5; i++)
      await request(b, { type: 'chat', payload: { room: 'recover', text: `m${i}` } });
    const back = await as('ann');
    const reply = await request(back, {
      type: 'subscribe',
      channel: 'room:recover',
      since: { epoch: first.epoch, offset: 0 },
    });
    expect(reply.result).toMatchObject({ epoch: first.epoch, offset: 5, recovered: true });
    await frame(back, (m) => m.type === 'publication' && m.offset === 5);
    expect(publications(back).map((m) => (m.payload as { text: string }).text)).toEqual([
      'm0',
      'm1',
      'm2',
      'm3',
      'm4',
    ]);
    back.peer.close();
    b.peer.close();
  });
});

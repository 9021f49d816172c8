import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { LimitsOptions } from '../../../src/server/limits/options.js';
import { assertNoLeak, connect, connectAuthed, upgradeStatus } from '../../helpers/peer.js';
import { expectStillServing } from '../../helpers/served.js';
import { signToken, startServer, type TestServer } from '../../helpers/server.js';

const echo = {
  messages: { echo: z.unknown(), chat: z.unknown() },
  handlers: { echo: (_c: unknown, p: unknown) => p },
};

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

async function serve(limits: LimitsOptions, extra: object = {}) {
  srv = await startServer({ ...echo, limits, anomaly: false, ...extra });
  return srv;
}

describe('rate limits and the penalty ladder (real sockets)', () => {
  it('flood -> WSG_RATE_LIMITED replies -> close 4429 -> 429 until the block ends -> a second offence blocks twice as long', async () => {
    const s = await serve({
      messages: { rate: 20, burst: 20 },
      connectionsPerIp: false,
      penalties: { strikes: 20, blockMs: 2000, factor: 2, blockIp: false },
    });
    const bystander = await connectAuthed(s.url, await signToken('bob'));

    const flood = async () => {
      const { peer, csrf } = await connectAuthed(s.url, await signToken('mallory'));
      for (let i = 0; i < 1000; i++) peer.send({ id: `f${i}`, type: 'echo', payload: i, csrf });
      const closed = await peer.closed;
      const errors = peer.frames.map((f) => JSON.parse(f)).filter((m) => m.type === 'error');
      return { closed, errors, peer };
    };

    const first = await flood();
    expect(first.errors.filter((e) => e.code === 'WSG_RATE_LIMITED').length).toBeGreaterThanOrEqual(19);
    for (const e of first.errors.filter((x) => x.code === 'WSG_RATE_LIMITED'))
      expect(e.retryAfterMs).toBeGreaterThan(0);
    expect(first.closed.code).toBe(4429);
    expect(first.closed.reason).toBe('WSG_BLOCKED;retryAfterMs=2000');
    assertNoLeak(first.peer.frames);

    // the bystander is served throughout
    bystander.peer.send({ id: 'b1', type: 'echo', payload: 'still here', csrf: bystander.csrf });
    expect(await bystander.peer.next('ack')).toMatchObject({ id: 'b1', result: 'still here' });

    // reconnecting while blocked: 429 with Retry-After at the gate (token in the header)
    const blocked = await upgradeStatus(s.url, { Authorization: `Bearer ${await signToken('mallory')}` });
    expect(blocked.status).toBe(429);
    expect(JSON.parse(blocked.body)).toEqual({ error: 'WSG_BLOCKED' });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // ...and 4429 when the token comes in the first message
    const late = await connect(s.url);
    late.send({ type: 'auth', token: await signToken('mallory') });
    expect((await late.closed).code).toBe(4429);

    // the block ends by itself; then a second offence is blocked twice as long
    const mallory = async () =>
      (await upgradeStatus(s.url, { Authorization: `Bearer ${await signToken('mallory')}` })).status;
    await expect.poll(mallory, { timeout: 6000, interval: 200 }).toBe(101);
    const second = await flood();
    expect(second.closed).toEqual({ code: 4429, reason: 'WSG_BLOCKED;retryAfterMs=4000' });
    expect(await mallory()).toBe(429);
    await expect.poll(mallory, { timeout: 10_000, interval: 250 }).toBe(101);

    bystander.peer.send({ id: 'b2', type: 'echo', payload: 2, csrf: bystander.csrf });
    expect(await bystander.peer.next('ack')).toMatchObject({ id: 'b2' });
  });

  it('blocks the IP as well when blockIp (default), and bans a repeat offender with 403', async () => {
    const s = await serve({
      messages: { rate: 5, burst: 5 },
      connectionsPerIp: false,
      penalties: { strikes: 3, blockMs: 1000, banAfter: 2, banMs: 60_000 },
    });
    for (let round = 0; round < 2; round++) {
      const { peer, csrf } = await connectAuthed(s.url, await signToken(`m${round}`));
      for (let i = 0; i < 50; i++) peer.send({ id: `x${i}`, type: 'echo', payload: i, csrf });
      expect((await peer.closed).code).toBe(4429);
      if (round === 0) {
        expect((await upgradeStatus(s.url)).status).toBe(429);
        await expect
          .poll(async () => (await upgradeStatus(s.url)).status, { timeout: 5000, interval: 100 })
          .toBe(101);
      }
    }
    const banned = await upgradeStatus(s.url);
    expect(banned.status).toBe(403);
    expect(JSON.parse(banned.body)).toEqual({ error: 'WSG_BANNED' });
    expect(banned.headers['retry-after']).toBeUndefined();
  });

  it('limits bytes per socket', async () => {
    const s = await serve({ bytes: { rate: 1000, burst: 2000 }, penalties: false });
    const { peer, csrf } = await connectAuthed(s.url, await signToken('big'));
    peer.send({ id: 'a', type: 'echo', payload: 'x'.repeat(1500), csrf });
    expect(await peer.next('ack')).toMatchObject({ id: 'a' });
    peer.send({ id: 'b', type: 'echo', payload: 'x'.repeat(1500), csrf });
    // refused before any JSON work; the id is still read from the frame's start
    expect(await peer.next('error')).toMatchObject({ id: 'b', code: 'WSG_RATE_LIMITED' });
  });

  it('limits messages per user across sockets, and per type', async () => {
    const s = await serve({
      user: { rate: 1, burst: 3 },
      types: { chat: { rate: 1, burst: 1 } },
      penalties: false,
    });
    const token = await signToken('shared');
    const a = await connectAuthed(s.url, token);
    const b = await connectAuthed(s.url, token);
    const results: string[] = [];
    for (const [i, p] of [a, b, a, b].entries()) {
      p.peer.send({ id: `u${i}`, type: 'echo', payload: i, csrf: p.csrf });
      results.push(String((await p.peer.next()).type));
    }
    expect(results).toEqual(['ack', 'ack', 'ack', 'error']);
    const c = await connectAuthed(s.url, await signToken('typist'));
    c.peer.send({ id: 'c1', type: 'chat', payload: 1, csrf: c.csrf });
    expect(await c.peer.next()).toMatchObject({ type: 'ack', id: 'c1' });
    c.peer.send({ id: 'c2', type: 'chat', payload: 2, csrf: c.csrf });
    expect(await c.peer.next()).toMatchObject({ type: 'error', id: 'c2', code: 'WSG_RATE_LIMITED' });
    c.peer.send({ id: 'c3', type: 'echo', payload: 3, csrf: c.csrf });
    expect(await c.peer.next()).toMatchObject({ type: 'ack', id: 'c3' });
  });

  it('caps concurrent sockets per IP (429 at the gate) and per user (4429 after auth)', async () => {
    const s = await serve({ concurrentPerIp: 3, concurrentPerUser: 2, connectionsPerIp: false });
    const token = await signToken('carol');
    const one = await connectAuthed(s.url, token);
    const two = await connectAuthed(s.url, token);
    const three = await connect(s.url);
    three.send({ type: 'auth', token });
    expect(await three.next('error')).toMatchObject({ code: 'WSG_TOO_MANY_CONNECTIONS' });
    expect(await three.closed).toEqual({ code: 4429, reason: 'WSG_TOO_MANY_CONNECTIONS;retryAfterMs=1000' });
    const other = await connectAuthed(s.url, await signToken('dave'));
    const refused = await upgradeStatus(s.url);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toEqual({ error: 'WSG_TOO_MANY_CONNECTIONS' });
    // a slot frees when a socket closes
    one.peer.close();
    await one.peer.closed;
    await expect.poll(async () => (await upgradeStatus(s.url)).status).toBe(101);
    two.peer.close();
    other.peer.close();
  });

  it('limits connection attempts per IP with 429 and Retry-After', async () => {
    const s = await serve({ connectionsPerIp: { max: 3, windowMs: 60_000 } });
    for (let i = 0; i < 3; i++) expect((await upgradeStatus(s.url)).status).toBe(101);
    const r = await upgradeStatus(s.url);
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBe('60');
    expect(JSON.parse(r.body)).toEqual({ error: 'WSG_RATE_LIMITED' });
  });

  it('blocks an IP that keeps failing auth (brute force), at the upgrade and in the first message', async () => {
    const s = await serve({
      authFailures: { max: 4, windowMs: 60_000, blockMs: 60_000 },
      connectionsPerIp: false,
    });
    for (let i = 0; i < 2; i++) {
      expect((await upgradeStatus(s.url, { Authorization: `Bearer wrong${i}` })).status).toBe(401);
      const p = await connect(s.url);
      p.send({ type: 'auth', token: `wrong-again${i}` });
      expect((await p.closed).code).toBe(4401);
    }
    const r = await upgradeStatus(s.url, { Authorization: `Bearer ${await signToken('good')}` });
    expect(r.status).toBe(429);
    expect(JSON.parse(r.body)).toEqual({ error: 'WSG_BLOCKED' });
  });

  it('keys by X-Forwarded-For only behind a trusted proxy', async () => {
    const untrusted = await serve({ concurrentPerIp: 1, connectionsPerIp: false });
    const a = await connect(untrusted.url, { headers: { 'X-Forwarded-For': '198.51.100.1' } });
    expect((await upgradeStatus(untrusted.url, { 'X-Forwarded-For': '198.51.100.2' })).status).toBe(429);
    a.close();
    await a.closed;
    await untrusted.close();

    const trusted = await serve(
      { concurrentPerIp: 1, connectionsPerIp: false },
      { trustProxy: ['127.0.0.1'] },
    );
    const b = await connect(trusted.url, { headers: { 'X-Forwarded-For': '198.51.100.1' } });
    expect((await upgradeStatus(trusted.url, { 'X-Forwarded-For': '198.51.100.2' })).status).toBe(101);
    // the client is the right-most address our proxies did not add: a spoofed left part is ignored
    expect((await upgradeStatus(trusted.url, { 'X-Forwarded-For': '6.6.6.6, 198.51.100.1' })).status).toBe(
      429,
    );
    b.close();
    await expectStillServing(trusted.url);
  });

  it('limits: false switches every layer off', async () => {
    const s = await serve(false as never);
    const { peer, csrf } = await connectAuthed(s.url, await signToken('free'));
    for (let i = 0; i < 500; i++) peer.send({ id: `n${i}`, type: 'echo', payload: i, csrf });
    for (let i = 0; i < 500; i++) expect((await peer.next()).type).toBe('ack');
  });
});

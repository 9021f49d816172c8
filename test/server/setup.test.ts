import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { WsgConfigError } from '../../src/server/index.js';
import { assertNoLeak, connect, connectAuthed, upgradeStatus } from '../helpers/peer.js';
import { expectStillServing } from '../helpers/served.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe('setupWebSockets', () => {
  it('authenticates with a first auth message and acks an echo', async () => {
    srv = await startServer({ messages: { echo: z.unknown() }, handlers: { echo: (_c, p) => p } });
    const { peer, csrf, ok } = await connectAuthed(srv.url, await signToken('alice'));
    expect(ok).toMatchObject({ type: 'auth_ok', heartbeatMs: 30000 });
    expect(typeof ok.sessionId).toBe('string');
    peer.send({ id: 'm1', type: 'echo', payload: { n: 1 }, csrf });
    expect(await peer.next('ack')).toEqual({ type: 'ack', id: 'm1', result: { n: 1 } });
    expect(srv.wss.clients).toBe(1);
    assertNoLeak(peer.frames);
    peer.close();
  });

  it('refuses a message before auth with 4401', async () => {
    srv = await startServer({ messages: { echo: z.unknown() } });
    const peer = await connect(srv.url);
    peer.send({ id: 'x', type: 'echo', payload: 1 });
    expect(await peer.next('error')).toMatchObject({ code: 'WSG_AUTH_REQUIRED' });
    expect(await peer.closed).toEqual({ code: 4401, reason: 'WSG_AUTH_REQUIRED' });
  });
});

describe('wss.ban(ip)', () => {
  it("closes the IP's sockets with 4403 WSG_BANNED, refuses its upgrades with 403, and serves others", async () => {
    srv = await startServer({
      messages: { echo: z.unknown() },
      handlers: { echo: (_c, p) => p },
      trustProxy: ['127.0.0.1'],
      limits: { connectionsPerIp: false },
    });
    const from = (ip: string) => ({ headers: { 'X-Forwarded-For': ip } });
    const victim = await connectAuthed(srv.url, await signToken('mallory'), from('203.0.113.5'));
    const events: string[] = [];
    srv.wss.onEvent((e) => events.push(`${e.event}:${e.code}:${e.ip}`));
    await srv.wss.ban('203.0.113.5', { durationMs: 60_000, reason: 'abuse report' });
    expect(await victim.peer.closed).toEqual({ code: 4403, reason: 'WSG_BANNED' });
    expect(events).toContain('penalty.blocked:WSG_BANNED:203.0.113.5');
    expect(srv.wss.stats().activeBlocks).toBe(1);
    const refused = await upgradeStatus(srv.url, { 'X-Forwarded-For': '203.0.113.5' });
    expect(refused.status).toBe(403);
    assertNoLeak([refused.body]);
    await expectStillServing(srv.url, { headers: { 'X-Forwarded-For': '203.0.113.6' } });
  });

  it('rejects a duration that is not a positive number with WsgConfigError', async () => {
    srv = await startServer({});
    await expect(srv.wss.ban('203.0.113.7', { durationMs: 0 })).rejects.toBeInstanceOf(WsgConfigError);
    await expect(srv.wss.ban('203.0.113.7', { durationMs: Number.NaN })).rejects.toBeInstanceOf(
      WsgConfigError,
    );
  });
});

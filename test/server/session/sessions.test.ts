import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { assertNoLeak, connect, connectAuthed, upgradeStatus } from '../../helpers/peer.js';
import { expectStillServing } from '../../helpers/served.js';
import { signToken, startServer, type TestServer } from '../../helpers/server.js';

const echo = { messages: { echo: z.unknown() }, handlers: { echo: (_c: unknown, p: unknown) => p } };
const inSeconds = (s: number) => Math.floor(Date.now() / 1000) + s;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

async function serve(session: object = {}) {
  srv = await startServer({ ...echo, session: { checkIntervalMs: 50, ...session } });
  return srv;
}

describe('sessions', () => {
  it('pushes session_expiring, then closes 4401 WSG_SESSION_EXPIRED when not refreshed', async () => {
    const s = await serve({ refreshWindowMs: 800 });
    const { peer, ok } = await connectAuthed(s.url, await signToken('u', { exp: inSeconds(2) }));
    const expiring = await peer.next('session_expiring');
    expect(expiring).toEqual({ type: 'session_expiring', expiresAt: ok.expiresAt });
    expect(await peer.next('error', 4000)).toMatchObject({ code: 'WSG_SESSION_EXPIRED' });
    expect(await peer.closed).toEqual({ code: 4401, reason: 'WSG_SESSION_EXPIRED' });
    assertNoLeak(peer.frames);
    await expectStillServing(s.url);
  });

  it('refresh extends the session on the same socket', async () => {
    const s = await serve({ refreshWindowMs: 1000 });
    const { peer, csrf } = await connectAuthed(s.url, await signToken('u', { exp: inSeconds(2) }));
    await peer.next('session_expiring');
    peer.send({ type: 'refresh', token: await signToken('u', { exp: inSeconds(3600) }) });
    const ok = await peer.next('refresh_ok');
    expect(ok.expiresAt).toBeGreaterThan(Date.now() + 3_000_000);
    expect(ok.csrfToken).toBe(csrf);
    await sleep(2200);
    peer.send({ id: 'later', type: 'echo', payload: 'after the first exp', csrf });
    expect(await peer.next('ack')).toMatchObject({ id: 'later', result: 'after the first exp' });
    expect(s.wss.stats().socketsAuthenticated).toBe(1);
    peer.close();
  });

  it('rotates the CSRF token on refresh when asked', async () => {
    const s = await serve({ rotateCsrfOnRefresh: true });
    const { peer, csrf } = await connectAuthed(s.url, await signToken('u'));
    peer.send({ type: 'refresh', token: await signToken('u') });
    const ok = await peer.next('refresh_ok');
    expect(ok.csrfToken).not.toBe(csrf);
    peer.send({ id: 'old', type: 'echo', payload: 1, csrf });
    expect(await peer.next('error')).toMatchObject({ id: 'old', code: 'WSG_CSRF_INVALID' });
    peer.send({ id: 'new', type: 'echo', payload: 1, csrf: ok.csrfToken });
    expect(await peer.next('ack')).toMatchObject({ id: 'new' });
  });

  it.each([
    ['another subject', () => signToken('mallory')],
    ['a bad token', async () => 'not.a.token'],
  ])('refuses a refresh with %s: close 4401', async (_n, make) => {
    const s = await serve();
    const { peer } = await connectAuthed(s.url, await signToken('u'));
    peer.send({ type: 'refresh', token: await make() });
    expect(await peer.next('error')).toMatchObject({ code: 'WSG_AUTH_FAILED' });
    expect(await peer.closed).toEqual({ code: 4401, reason: 'WSG_AUTH_FAILED' });
    assertNoLeak(peer.frames);
    await expectStillServing(s.url);
  });

  it('closes an idle session (no application messages) with 4401; pings do not count as activity', async () => {
    const s = await serve({ idleTimeoutMs: 400 });
    const { peer } = await connectAuthed(s.url, await signToken('idle'));
    peer.send({ type: 'ping', ts: 1 });
    await peer.next('pong');
    expect(await peer.closed).toEqual({ code: 4401, reason: 'WSG_SESSION_EXPIRED' });
    await expectStillServing(s.url);
  });

  it('never outlives maxAgeMs, whatever the token says', async () => {
    const s = await serve({ maxAgeMs: 600, refreshWindowMs: 100 });
    const { peer, ok } = await connectAuthed(s.url, await signToken('u', { exp: inSeconds(3600) }));
    expect(ok.expiresAt).toBeLessThanOrEqual(Date.now() + 600);
    expect((await peer.closed).code).toBe(4401);
  });
});

describe('revocation', () => {
  it('revokeSession closes exactly that socket with 4403; its token cannot reconnect', async () => {
    const s = await serve();
    const token = await signToken('alice', { jti: 'token-a1' });
    const a1 = await connectAuthed(s.url, token);
    const a2 = await connectAuthed(s.url, await signToken('alice', { jti: 'token-a2' }));
    const b = await connectAuthed(s.url, await signToken('bob'));
    await s.wss.revokeSession(a1.ok.sessionId as string);
    expect(await a1.peer.next('error')).toMatchObject({ code: 'WSG_SESSION_REVOKED' });
    expect(await a1.peer.closed).toEqual({ code: 4403, reason: 'WSG_SESSION_REVOKED' });
    for (const p of [a2, b]) {
      p.peer.send({ id: 'x', type: 'echo', payload: 1, csrf: p.csrf });
      expect(await p.peer.next('ack')).toMatchObject({ id: 'x' });
    }
    const again = await upgradeStatus(s.url, { Authorization: `Bearer ${token}` });
    expect(again.status).toBe(403);
    expect(JSON.parse(again.body)).toEqual({ error: 'WSG_SESSION_REVOKED' });
    const viaMessage = await connect(s.url);
    viaMessage.send({ type: 'auth', token });
    expect(await viaMessage.closed).toEqual({ code: 4403, reason: 'WSG_SESSION_REVOKED' });
  });

  it('revokeUser closes all the user\u2019s sockets and only theirs; tokens issued later work', async () => {
    const s = await serve();
    const old = await signToken('carol', { iat: inSeconds(-10) });
    const c1 = await connectAuthed(s.url, old);
    const c2 = await connectAuthed(s.url, await signToken('carol', { iat: inSeconds(-5) }));
    const d = await connectAuthed(s.url, await signToken('dave'));
    await s.wss.revokeUser('carol');
    expect(await c1.peer.closed).toEqual({ code: 4403, reason: 'WSG_SESSION_REVOKED' });
    expect(await c2.peer.closed).toEqual({ code: 4403, reason: 'WSG_SESSION_REVOKED' });
    d.peer.send({ id: 'd', type: 'echo', payload: 1, csrf: d.csrf });
    expect(await d.peer.next('ack')).toMatchObject({ id: 'd' });
    expect((await upgradeStatus(s.url, { Authorization: `Bearer ${old}` })).status).toBe(403);
    await sleep(1100); // a token issued after the revocation (iat has one-second resolution)
    const fresh = await connectAuthed(s.url, await signToken('carol'));
    expect(fresh.ok.type).toBe('auth_ok');
  });
});

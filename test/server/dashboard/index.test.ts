import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../../src/protocol/index.js';
import { memoryStore, type SecurityEvent } from '../../../src/server/index.js';
import { keys } from '../../../src/server/limits/keys.js';
import { assertNoLeak, connect, connectAuthed, upgradeStatus } from '../../helpers/peer.js';
import { signToken, startServer, type TestServer } from '../../helpers/server.js';

const TOKEN = 'admin-token-admin-token-admin-token-0123456789';
const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start() {
  const events: SecurityEvent[] = [];
  const store = memoryStore();
  const s = await startServer({
    store,
    dashboard: { token: TOKEN, intervalMs: 200 },
    trustProxy: ['127.0.0.1'],
    onEvent: (e) => events.push(e),
  });
  servers.push(s);
  return { ...s, admin: `ws://127.0.0.1:${s.port}/admin/ws`, events, store };
}

const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

describe("the dashboard's socket", () => {
  it('refuses unauthenticated frames exactly like the endpoint does', async () => {
    const s = await start();
    const frame = { type: 'hello', id: '1', payload: {} };
    const endpoint = await connect(s.url);
    endpoint.send(frame);
    const admin = await connect(s.admin);
    admin.send(frame);
    const [a, b] = await Promise.all([endpoint.closed, admin.closed]);
    expect(b.code).toBe(a.code);
    expect(b.code).toBe(CloseCode.Unauthorized);
    expect(b.reason).toBe(a.reason);
    expect(admin.frames.join('')).not.toContain('history');
    assertNoLeak(admin.frames);
  });

  it('refuses a wrong token, an endpoint JWT and a replayed ticket', async () => {
    const s = await start();
    for (const token of [`${TOKEN}x`, await signToken('admin')]) {
      const p = await connect(s.admin);
      p.send({ type: 'auth', token });
      const closed = await p.closed;
      expect(closed.reason).toContain('WSG_AUTH_FAILED');
      assertNoLeak(p.frames);
    }
    // A ticket from the HTTP side opens one socket, once.
    const res = await fetch(`http://127.0.0.1:${s.port}/admin/api/ticket`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const { ticket } = (await res.json()) as { ticket: string };
    const first = await connectAuthed(s.admin, ticket);
    expect(first.ok.type).toBe('auth_ok');
    const again = await connect(s.admin);
    again.send({ type: 'auth', token: ticket });
    expect((await again.closed).reason).toContain('WSG_AUTH_FAILED');
    first.peer.close();
  });

  it('refuses a cross-origin upgrade (403) and still serves the page and the endpoint', async () => {
    const s = await start();
    const cross = await upgradeStatus(s.admin, { origin: 'https://evil.example' });
    expect(cross.status).toBe(403);
    const ok = await connectAuthed(s.admin, TOKEN);
    expect(ok.ok.type).toBe('auth_ok');
    ok.peer.close();
    expect((await upgradeStatus(s.url, { authorization: `Bearer ${await signToken()}` })).status).toBe(101);
  });

  it('pushes snapshots with the connection count and the history on hello', async () => {
    const s = await start();
    const jwts = await Promise.all([1, 2, 3].map((i) => signToken(`u${i}`)));
    const users = await Promise.all(jwts.map((jwt) => connectAuthed(s.url, jwt)));
    users[0]?.peer.send({ type: 'not-a-type', id: 'x', payload: { secret: 'payload-secret' } });
    const { peer, csrf } = await connectAuthed(s.admin, TOKEN);
    let snap = (await peer.next('snapshot')) as { payload: { nodes: { socketsOpen: number }[] } };
    while (snap.payload.nodes[0]?.socketsOpen !== 3) snap = (await peer.next('snapshot')) as typeof snap;
    expect(snap.payload.nodes).toHaveLength(1);
    peer.send({ type: 'hello', id: 'h1', payload: {}, csrf });
    const ack = (await peer.next('ack')) as { result: { history: unknown[]; events: { event: string }[] } };
    expect(ack.result.history.length).toBeGreaterThan(0);
    expect(ack.result.events.some((e) => e.event === 'auth.success')).toBe(true);
    // The users' tokens, CSRF tokens and payloads never reach the page.
    const secrets = [...jwts, ...users.map((u) => u.csrf), 'payload-secret'];
    for (const f of peer.frames.slice(1)) for (const x of secrets) expect(f).not.toContain(x);
    for (const u of users) u.peer.close();
    peer.close();
  });
});

describe('dashboard actions', () => {
  it('refuses an action without the CSRF token (WSG_CSRF_INVALID) and does nothing', async () => {
    const s = await start();
    const { peer } = await connectAuthed(s.admin, TOKEN);
    peer.send({ type: 'action', id: 'a1', payload: { action: 'ban', ip: '10.9.9.9' } });
    const err = await peer.next('error');
    expect(err).toMatchObject({ id: 'a1', code: 'WSG_CSRF_INVALID' });
    peer.send({ type: 'action', id: 'a2', payload: { action: 'ban', ip: '10.9.9.9' }, csrf: 'forged' });
    expect(await peer.next('error')).toMatchObject({ id: 'a2', code: 'WSG_CSRF_INVALID' });
    const up = await upgradeStatus(s.url, {
      authorization: `Bearer ${await signToken()}`,
      'x-forwarded-for': '10.9.9.9',
    });
    expect(up.status).toBe(101);
    expect(s.events.some((e) => e.event === 'admin.action')).toBe(false);
    peer.close();
  });

  it('refuses a malformed action (WSG_VALIDATION_FAILED)', async () => {
    const s = await start();
    const { peer, csrf } = await connectAuthed(s.admin, TOKEN);
    for (const payload of [
      { action: 'ban', ip: '<script>' },
      { action: 'shutdown' },
      { action: 'ban', ip: '1.2.3.4', x: 1 },
    ]) {
      peer.send({ type: 'action', id: 'v', payload, csrf });
      expect(await peer.next('error')).toMatchObject({ code: 'WSG_VALIDATION_FAILED' });
    }
    assertNoLeak(peer.frames);
    peer.close();
  });

  it('bans and unbans an IP, disconnects a socket, revokes a user: each logged with the admin identity', async () => {
    const s = await start();
    const { peer, csrf } = await connectAuthed(s.admin, TOKEN);
    const act = async (id: string, payload: unknown) => {
      peer.send({ type: 'action', id, payload, csrf });
      return peer.next('ack');
    };
    const victim = await connectAuthed(s.url, await signToken('mallory'), from('10.9.9.9'));
    expect(await act('b', { action: 'ban', ip: '10.9.9.9' })).toMatchObject({ result: { ok: true } });
    expect((await victim.peer.closed).reason).toContain('WSG_BANNED');
    const jwt = await signToken('mallory');
    const refused = await upgradeStatus(s.url, {
      authorization: `Bearer ${jwt}`,
      'x-forwarded-for': '10.9.9.9',
    });
    expect(refused.status).toBe(403);
    expect(refused.body).toBe('{"error":"WSG_BANNED"}');
    await act('u', { action: 'unban', ip: '10.9.9.9' });
    // A lifted block is replaced by one that ends a millisecond later (the store has no delete).
    await new Promise((r) => setTimeout(r, 5));
    expect(
      (await upgradeStatus(s.url, { authorization: `Bearer ${jwt}`, 'x-forwarded-for': '10.9.9.9' })).status,
    ).toBe(101);

    const bob = await connectAuthed(s.url, await signToken('bob'));
    const accepted = s.events.find((e) => e.event === 'auth.success' && e.userId === 'bob');
    await act('d', { action: 'disconnect', connectionId: accepted?.connectionId });
    expect((await bob.peer.closed).code).toBe(4403);

    const carol = await connectAuthed(s.url, await signToken('carol'));
    await act('r', { action: 'revokeUser', userId: 'carol' });
    expect((await carol.peer.closed).reason).toContain('WSG_SESSION_REVOKED');

    const logged = s.events.filter((e) => (e.event as string) === 'admin.action');
    expect(logged.map((e) => (e.detail as { action: string }).action)).toEqual([
      'ban',
      'unban',
      'disconnect',
      'revokeUser',
    ]);
    for (const e of logged) expect((e.detail as { admin: string }).admin).toBe('admin (bearer)');
    peer.close();
  });

  it('revokes one session and lifts a user block', async () => {
    const s = await start();
    const { peer, csrf } = await connectAuthed(s.admin, TOKEN);
    const act = async (id: string, payload: unknown) => {
      peer.send({ type: 'action', id, payload, csrf });
      return peer.next('ack');
    };
    const dave = await connectAuthed(s.url, await signToken('dave'));
    await act('s', { action: 'revokeSession', sessionId: dave.ok.sessionId });
    expect((await dave.peer.closed).reason).toContain('WSG_SESSION_REVOKED');

    await s.store.setBlock(keys.userBlock('erin'), {
      until: Date.now() + 60_000,
      level: 1,
      reason: 'WSG_RATE_LIMITED',
    });
    const jwt = await signToken('erin');
    const blocked = await upgradeStatus(s.url, { authorization: `Bearer ${jwt}` });
    expect(blocked.status).toBe(429);
    await act('ub', { action: 'unblockUser', userId: 'erin' });
    await new Promise((r) => setTimeout(r, 5));
    expect((await upgradeStatus(s.url, { authorization: `Bearer ${jwt}` })).status).toBe(101);
    peer.close();
  });
});

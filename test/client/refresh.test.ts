import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { AuthError, SecureWebSocket, type SecureWebSocketOptions } from '../../src/client/index.js';
import {
  createSessionRefresh,
  MIN_REFRESH_DELAY_MS,
  refreshDelay,
  sessionExpiry,
} from '../../src/client/refresh.js';
import { nextEvent, reachState } from '../helpers/client.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';
import { type MinimalServer, startMinimalProtocolServer } from './minimal-protocol-server.js';

let srv: TestServer | undefined;
let stub: MinimalServer | undefined;
const sockets: SecureWebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await srv?.close();
  await stub?.close();
  srv = undefined;
  stub = undefined;
});

function client(options: SecureWebSocketOptions) {
  const s = new SecureWebSocket(options);
  sockets.push(s);
  return s;
}

describe('session refresh on session_expiring (minimal protocol server: the real server side is the Sessions issue)', () => {
  it('gets a fresh token, refreshes on the same socket, holds sends meanwhile, then uses the rotated CSRF token', async () => {
    const chats: Record<string, unknown>[] = [];
    const refreshes: Record<string, unknown>[] = [];
    let csrfs: string[] = [];
    stub = await startMinimalProtocolServer(async (conn) => {
      const { csrf } = await conn.authenticate();
      csrfs = [csrf, 'rotated-csrf-token'];
      const ack = (m: Record<string, unknown>) => {
        chats.push(m);
        conn.send({ type: 'ack', id: m.id, result: m.payload });
      };
      ack(await conn.next('chat'));
      conn.send({ type: 'session_expiring', expiresAt: Date.now() + 30_000 });
      refreshes.push(await conn.next('refresh'));
      await new Promise((resolve) => setTimeout(resolve, 50)); // a slow refresh
      conn.send({ type: 'refresh_ok', expiresAt: Date.now() + 3_600_000, csrfToken: csrfs[1] });
      ack(await conn.next('chat'));
      ack(await conn.next('chat'));
    });
    let calls = 0;
    let during: Promise<unknown> | undefined;
    let queuedDuring = 0;
    const socket: SecureWebSocket = client({
      url: stub.url,
      getToken: () => `token-${++calls}`,
      debug: true,
      // The debug log is the hook: send at the very moment the refresh starts.
      logger: {
        debug: (message) => {
          if (message !== 'refreshing the session') return;
          during = socket.send({ type: 'chat', payload: 'during' });
          queuedDuring = socket.queueSize;
        },
      },
    });
    await expect(socket.send({ type: 'chat', payload: 'before' })).resolves.toBe('before');
    const changes: string[] = [];
    socket.addEventListener('stateChange', (e) => changes.push(e.to));
    socket.addEventListener('close', () => changes.push('close'));
    await expect.poll(() => during).toBeDefined();
    expect(queuedDuring).toBe(1);
    await expect(during).resolves.toBe('during');
    await expect(socket.send({ type: 'chat', payload: 'after' })).resolves.toBe('after');
    expect(refreshes).toEqual([{ type: 'refresh', token: 'token-2' }]);
    expect(chats.map((m) => [m.payload, m.csrf])).toEqual([
      ['before', csrfs[0]],
      ['during', csrfs[1]],
      ['after', csrfs[1]],
    ]);
    expect(calls).toBe(2);
    expect(stub.connections).toHaveLength(1);
    expect(changes).toEqual([]);
    expect(socket.state).toBe('open');
  });

  it('resends once, with the new token, a message the server refused because a refresh rotated its CSRF token', async () => {
    const seen: Record<string, unknown>[] = [];
    stub = await startMinimalProtocolServer(async (conn) => {
      const first = (await conn.authenticate()).csrf;
      const m = await conn.next('chat'); // arrived with the old token; checked after the rotation
      seen.push(m);
      conn.send({ type: 'session_expiring', expiresAt: Date.now() + 30_000 });
      await conn.next('refresh');
      conn.send({ type: 'refresh_ok', expiresAt: Date.now() + 3_600_000, csrfToken: 'new-csrf-token' });
      conn.send({ type: 'error', id: m.id, code: 'WSG_CSRF_INVALID', message: 'Invalid CSRF token' });
      const again = await conn.next('chat');
      seen.push(again);
      conn.send({ type: 'ack', id: again.id, result: first === m.csrf });
    });
    const socket = client({ url: stub.url, getToken: () => 'tok' });
    await expect(socket.send({ type: 'chat', payload: 1 })).resolves.toBe(true);
    expect(seen[1]?.id).toBe(seen[0]?.id);
    expect(seen[1]?.csrf).toBe('new-csrf-token');
  });

  it('when the server refuses the refresh (close 4401), reconnects after the backoff with a fresh token', async () => {
    stub = await startMinimalProtocolServer(async (conn) => {
      await conn.authenticate();
      if (conn.index > 1) return;
      conn.send({ type: 'session_expiring', expiresAt: Date.now() + 30_000 });
      await conn.next('refresh');
      conn.ws.close(4401, 'WSG_AUTH_FAILED');
    });
    let calls = 0;
    const socket = client({
      url: stub.url,
      getToken: () => `token-${++calls}`,
      reconnect: { minDelayMs: 50, maxDelayMs: 50 },
    });
    const close = await nextEvent(socket, 'close');
    expect(close).toMatchObject({ code: 4401, cause: 'refresh-failed', willReconnect: true, delayMs: 50 });
    expect(await nextEvent(socket, 'open')).toMatchObject({ reconnected: true });
    expect(calls).toBe(3);
  });
});

describe('refresh before the JWT expires, against the real server (which has no refresh yet)', () => {
  it('refreshes at the margin before exp on the same socket (real server); a refresh for another subject reconnects', async () => {
    srv = await startServer({ messages: { echo: z.unknown() }, handlers: { echo: (_c, p) => p } });
    let connections = 0;
    srv.http.on('upgrade', () => connections++);
    // The client's clock is set 1.5 s before the first token's exp (an hour from now).
    const shift = 3_600_000 - 1_500;
    let calls = 0;
    const socket = client({
      url: srv.url,
      getToken: () =>
        signToken('refresher', calls++ === 0 ? {} : { exp: Math.floor(Date.now() / 1000) + 7200 }),
      now: () => Date.now() + shift,
      reconnect: { minDelayMs: 5_000, maxDelayMs: 10_000 },
    });
    await reachState(socket, 'open');
    await expect.poll(() => calls).toBe(2); // connect, refresh
    await expect(socket.send({ type: 'echo', payload: 'still here' })).resolves.toBe('still here');
    expect(connections).toBe(1);
    socket.close();

    let other = 0;
    const refused = client({
      url: srv.url,
      getToken: () => signToken(other++ === 1 ? 'someone-else' : 'refresher'),
      now: () => Date.now() + shift,
      reconnect: { minDelayMs: 10, maxDelayMs: 20 },
    });
    const error = nextEvent(refused, 'error');
    const close = nextEvent(refused, 'close');
    expect(await error).toBeInstanceOf(AuthError);
    expect(await close).toMatchObject({ cause: 'refresh-failed', willReconnect: true });
    refused.close();
  });

  it('answers session_expiring from the real server with refresh, and outlives the first expiry', async () => {
    srv = await startServer({
      messages: { echo: z.unknown() },
      handlers: { echo: (_c, p) => p },
      session: { refreshWindowMs: 1500, checkIntervalMs: 50 },
    });
    let calls = 0;
    const exp = () => Math.floor(Date.now() / 1000) + (calls++ === 0 ? 2 : 3600);
    // A tiny client margin: the refresh must come from the server's session_expiring push.
    const socket = client({
      url: srv.url,
      getToken: () => signToken('expiring', { exp: exp() }),
      refresh: { marginMs: 10 },
    });
    await reachState(socket, 'open');
    await expect.poll(() => calls, { timeout: 4000 }).toBe(2);
    await new Promise((r) => setTimeout(r, 2200)); // past the first token's exp
    expect(socket.state).toBe('open');
    await expect(socket.send({ type: 'echo', payload: 'alive' })).resolves.toBe('alive');
    expect(srv.wss.stats().closes).toEqual({});
    socket.close();
  });
});

describe('createSessionRefresh', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function refresher(getToken: () => Promise<string> = async () => 'fresh-token') {
    const log: string[] = [];
    const sent: string[] = [];
    const refreshed: string[] = [];
    const failures: Error[] = [];
    let changes = 0;
    const r = createSessionRefresh({
      marginMs: 2000,
      timeoutMs: 1000,
      now: () => Date.now(),
      log: (m) => log.push(m),
      getToken,
      sendRefresh: (token) => sent.push(token),
      onRefreshed: (csrf) => refreshed.push(csrf),
      onFailed: (error) => failures.push(error),
      onActiveChange: () => changes++,
    });
    return { r, log, sent, refreshed, failures, changes: () => changes };
  }

  it('refreshes marginMs before the expiry, sends the fresh token, and schedules the next one from refresh_ok', async () => {
    vi.useFakeTimers({ now: 0 });
    const h = refresher();
    h.r.start('opaque-token', 10_000);
    await vi.advanceTimersByTimeAsync(7_999);
    expect(h.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.sent).toEqual(['fresh-token']);
    expect([h.r.active, h.changes()]).toEqual([true, 1]);
    h.r.ok({ csrfToken: 'csrf-2', expiresAt: 30_000 });
    expect(h.refreshed).toEqual(['csrf-2']);
    expect(h.r.active).toBe(false);
    await vi.advanceTimersByTimeAsync(20_000); // 28_000: the next refresh
    expect(h.sent).toEqual(['fresh-token', 'fresh-token']);
    expect(h.failures).toEqual([]);
    h.r.stop();
  });

  it('a refresh_ok that does not move the expiry schedules nothing more', async () => {
    vi.useFakeTimers({ now: 0 });
    const h = refresher();
    h.r.start(undefined, 10_000);
    h.r.refresh();
    await vi.advanceTimersByTimeAsync(0);
    h.r.ok({ csrfToken: 'same', expiresAt: 10_000 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.sent).toHaveLength(1);
  });

  it('fails with an AuthError without refresh_ok in time, on a bad refresh_ok, or when getToken fails', async () => {
    vi.useFakeTimers({ now: 0 });
    const late = refresher();
    late.r.start(undefined, undefined);
    late.r.refresh();
    await vi.advanceTimersByTimeAsync(1000);
    expect(late.failures.map((e) => [e.name, e.message])).toEqual([['AuthError', 'no refresh_ok in time']]);

    const malformed = refresher();
    malformed.r.start(undefined, undefined);
    malformed.r.refresh();
    await vi.advanceTimersByTimeAsync(0);
    malformed.r.ok({ csrfToken: '' });
    expect(malformed.failures.map((e) => e.message)).toEqual(['malformed refresh_ok']);

    const cause = new Error('login server down');
    const noToken = refresher(() => Promise.reject(cause));
    noToken.r.start(undefined, undefined);
    noToken.r.refresh();
    await vi.advanceTimersByTimeAsync(0);
    expect(noToken.failures).toHaveLength(1);
    expect(noToken.failures[0]).toBeInstanceOf(AuthError);
    expect(noToken.failures[0]?.cause).toBe(cause);
  });

  it('does nothing before start or after stop; a token that arrives after stop is not sent', async () => {
    vi.useFakeTimers({ now: 0 });
    let release: (token: string) => void = () => {};
    const h = refresher(() => new Promise((resolve) => (release = resolve)));
    h.r.refresh();
    expect(h.r.active).toBe(false);
    h.r.start(undefined, undefined);
    h.r.refresh();
    h.r.stop();
    release('too-late');
    await vi.advanceTimersByTimeAsync(5000);
    expect([h.sent, h.failures, h.r.active]).toEqual([[], [], false]);
    h.r.ok({ csrfToken: 'x' });
    expect(h.refreshed).toEqual([]);
  });

  it('sessionExpiry takes the earlier of the JWT exp and the session; refreshDelay keeps to [1 s, half the time left]', () => {
    const jwt = (exp: number) => `e30.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.sig`;
    expect(sessionExpiry(jwt(100), 200_000)).toBe(100_000);
    expect(sessionExpiry(jwt(300), 200_000)).toBe(200_000);
    expect(sessionExpiry('opaque', 5)).toBe(5);
    expect(sessionExpiry(undefined, undefined)).toBeUndefined();
    expect(refreshDelay(100_000, 0, 60_000)).toBe(50_000); // half of the time left
    expect(refreshDelay(1_000_000, 0, 60_000)).toBe(940_000);
    expect(refreshDelay(500, 0, 60_000)).toBe(MIN_REFRESH_DELAY_MS);
  });
});

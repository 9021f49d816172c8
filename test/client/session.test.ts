import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuthError } from '../../src/client/errors.js';
import { createLiveSession } from '../../src/client/session.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

function live(
  heartbeat: { intervalMs: number; timeoutMs: number } | false = { intervalMs: 1000, timeoutMs: 500 },
) {
  const frames: Record<string, unknown>[] = [];
  const secrets: string[] = [];
  const latencies: number[] = [];
  const failures: AuthError[] = [];
  let dead = 0;
  let refreshed = 0;
  const s = createLiveSession(
    { heartbeat, refreshMarginMs: 1000, connectTimeoutMs: 2000, now: () => Date.now() },
    {
      log: () => {},
      getToken: async () => 'fresh',
      send: (frame) => frames.push(JSON.parse(frame) as Record<string, unknown>),
      remember: (secret) => secrets.push(secret),
      onDead: () => dead++,
      onLatency: (ms) => latencies.push(ms),
      onRefreshed: () => refreshed++,
      onRefreshFailed: (error) => failures.push(error),
      onRefreshChange: () => {},
    },
  );
  return { s, frames, secrets, latencies, failures, dead: () => dead, refreshed: () => refreshed };
}

describe('createLiveSession', () => {
  it('holds the session from auth_ok until stop, and remembers its CSRF token for redaction', () => {
    const h = live(false);
    expect(h.s.current).toBeUndefined();
    h.s.start({ id: 's1', csrf: 'csrf-1', maxPayload: 100 });
    expect([h.s.current?.id, h.s.openedAt, h.secrets]).toEqual(['s1', 0, ['csrf-1']]);
    h.s.stop();
    expect([h.s.current, h.s.openedAt]).toEqual([undefined, undefined]);
  });

  it('pings at keepAlive, measures the pong, and declares the connection dead without one', () => {
    const h = live();
    h.s.start({ id: 's1', csrf: 'c', maxPayload: undefined });
    h.s.keepAlive('token', undefined);
    expect(h.frames).toEqual([{ type: 'ping', ts: 0 }]);
    vi.advanceTimersByTime(30);
    h.s.pong(0);
    expect([h.latencies, h.s.latencyMs]).toEqual([[30], 30]);
    vi.advanceTimersByTime(970); // the next ping, never answered
    vi.advanceTimersByTime(500);
    expect(h.dead()).toBe(1);
  });

  it('ping() resolves with its own round trip, reported as latency too', async () => {
    const h = live(false);
    h.s.start({ id: 's1', csrf: 'c', maxPayload: undefined });
    const rtt = h.s.ping(1000);
    const ts = h.frames[0]?.ts as number;
    h.s.pong(ts);
    const ms = await rtt;
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(h.latencies).toEqual([ms]);
    const late = h.s.ping(1000);
    vi.advanceTimersByTime(1000);
    await expect(late).rejects.toMatchObject({ name: 'AckTimeoutError' });
  });

  it('refreshes on demand: sends the fresh token, then rotates the CSRF token on refresh_ok', async () => {
    const h = live(false);
    h.s.start({ id: 's1', csrf: 'old', maxPayload: undefined });
    h.s.keepAlive('token', undefined);
    h.s.refresh();
    expect(h.s.refreshing).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(h.frames).toEqual([{ type: 'refresh', token: 'fresh' }]);
    h.s.refreshOk({ csrfToken: 'new' });
    expect([h.s.refreshing, h.s.current?.csrf, h.refreshed()]).toEqual([false, 'new', 1]);
    expect(h.secrets).toEqual(['old', 'fresh', 'new']);
  });

  it('reports a failed refresh, and ignores refresh_ok without a session', async () => {
    const h = live(false);
    h.s.refreshOk({ csrfToken: 'x' });
    expect(h.refreshed()).toBe(0);
    h.s.start({ id: 's1', csrf: 'old', maxPayload: undefined });
    h.s.keepAlive('token', undefined);
    h.s.refresh();
    h.s.refreshFailed(new Error('WSG_AUTH_FAILED'));
    expect(h.failures.map((e) => e.name)).toEqual(['AuthError']);
  });
});

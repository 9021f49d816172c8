import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, SecureWebSocket } from '../../src/client/index.js';
import { nextEvent, outcome, seededRandom } from '../helpers/client.js';
import { signToken, startServer } from '../helpers/server.js';

const opts = { minDelayMs: 100, maxDelayMs: 10_000, factor: 2 };

afterEach(() => {
  vi.useRealTimers();
});

describe('backoffDelay (full jitter with a floor and a cap)', () => {
  it('stays within [floor, min(cap, floor * factor^(n+1))] for every attempt', () => {
    const random = seededRandom(42);
    for (let attempt = 0; attempt < 40; attempt++) {
      const ceiling = Math.min(opts.maxDelayMs, opts.minDelayMs * opts.factor ** (attempt + 1));
      for (let i = 0; i < 200; i++) {
        const d = backoffDelay(attempt, opts, random);
        expect(d).toBeGreaterThanOrEqual(opts.minDelayMs);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
    // The extremes of the random source land on the bounds, and bad values are clamped.
    expect(backoffDelay(10, opts, () => 0)).toBe(100);
    expect(backoffDelay(10, opts, () => 1)).toBe(10_000);
    expect(backoffDelay(10, opts, () => 7)).toBe(10_000);
    expect(backoffDelay(10, opts, () => -3)).toBe(100);
    expect(backoffDelay(0, opts, () => 1)).toBe(200);
    expect(backoffDelay(5000, opts, () => 1)).toBe(10_000);
  });

  it('spreads a crowd of clients that lost the same server (seeded, fake clock)', () => {
    vi.useFakeTimers({ now: 0 });
    const reconnectAt: number[] = [];
    // 300 clients, each with its own seed, all on their 4th attempt at t = 0.
    for (let seed = 1; seed <= 300; seed++) {
      setTimeout(() => reconnectAt.push(Date.now()), backoffDelay(3, opts, seededRandom(seed)));
    }
    vi.advanceTimersByTime(opts.maxDelayMs);
    expect(reconnectAt).toHaveLength(300);
    const [lo, hi] = [100, 1600]; // floor and 100 * 2^4
    expect(Math.min(...reconnectAt)).toBeGreaterThanOrEqual(lo);
    expect(Math.max(...reconnectAt)).toBeLessThanOrEqual(hi);
    // No thundering herd: every tenth of the window gets some clients, none gets a crowd.
    const buckets = new Array(10).fill(0);
    for (const t of reconnectAt) buckets[Math.min(9, Math.floor(((t - lo) / (hi - lo)) * 10))]++;
    for (const b of buckets) {
      expect(b).toBeGreaterThan(10);
      expect(b).toBeLessThan(60);
    }
    expect(new Set(reconnectAt).size).toBeGreaterThan(200);
  });

  it('is what the client waits between real failed attempts, and the seed makes it reproducible', async () => {
    const srv = await startServer();
    const url = srv.url;
    await srv.close(); // connections to this port are refused from now on
    const reconnect = { minDelayMs: 5, maxDelayMs: 60, factor: 2, maxRetries: 6 };
    const socket = new SecureWebSocket({ url, authToken: 't', reconnect, random: seededRandom(7) });
    const pending = outcome(socket.send({ type: 'x', payload: 1 }));
    const delays: number[] = [];
    socket.addEventListener('close', (e) => {
      if (e.delayMs !== undefined) delays.push(e.delayMs);
    });
    await nextEvent(socket, 'close', (e) => !e.willReconnect);
    const expected = seededRandom(7);
    expect(delays).toEqual([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, reconnect, expected)));
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(5);
      expect(d).toBeLessThanOrEqual(60);
    }
    expect((await pending).ok).toBe(false);
  });

  it.each([
    [60_000, [0, 1, 2]],
    [0, [0, 0, 0]],
  ])(
    'resets the attempt counter only after a connection stayed up minUptimeMs (%i)',
    async (minUptimeMs, expected) => {
      const srv = await startServer();
      const socket = new SecureWebSocket({
        url: srv.url,
        authToken: await signToken('flappy'),
        reconnect: { minDelayMs: 5, maxDelayMs: 40, minUptimeMs },
      });
      const attempts: number[] = [];
      socket.addEventListener('close', (e) => attempts.push(e.attempt));
      // The server drops every connection as soon as it is authenticated.
      socket.addEventListener('open', () => {
        for (const s of srv.sockets) s.destroy();
      });
      await expect.poll(() => attempts.length).toBeGreaterThanOrEqual(3);
      socket.close();
      await srv.close();
      expect(attempts.slice(0, 3)).toEqual(expected);
    },
  );
});

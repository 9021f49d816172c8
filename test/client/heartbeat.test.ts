import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createHeartbeat, createPings } from '../../src/client/heartbeat.js';
import { SecureWebSocket } from '../../src/client/index.js';
import { nextEvent, reachState } from '../helpers/client.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

describe('createHeartbeat', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function beat(intervalMs: number, timeoutMs: number) {
    const pings: number[] = [];
    const latencies: number[] = [];
    let dead = 0;
    const hb = createHeartbeat({
      intervalMs,
      timeoutMs,
      now: Date.now,
      sendPing: (ts) => pings.push(ts),
      onDead: () => dead++,
      onLatency: (ms) => latencies.push(ms),
    });
    return { hb, pings, latencies, dead: () => dead };
  }

  it('pings at once and every interval, measures latency, ignores stale pongs', () => {
    vi.useFakeTimers({ now: 1_000 });
    const { hb, pings, latencies, dead } = beat(100, 50);
    hb.start();
    expect(pings).toEqual([1_000]);
    vi.advanceTimersByTime(20);
    hb.pong(999); // not the outstanding ping
    hb.pong(1_000);
    expect(latencies).toEqual([20]);
    vi.advanceTimersByTime(80);
    expect(pings).toEqual([1_000, 1_100]);
    hb.pong(1_100);
    vi.advanceTimersByTime(140); // the next ping (at 1_200) is within its deadline
    expect(pings).toEqual([1_000, 1_100, 1_200]);
    expect(dead()).toBe(0);
    hb.stop();
    vi.advanceTimersByTime(10_000);
    expect(dead()).toBe(0);
  });

  it('declares the connection dead when the pong misses its deadline', () => {
    vi.useFakeTimers({ now: 0 });
    const { hb, dead } = beat(100, 50);
    hb.start();
    vi.advanceTimersByTime(49);
    expect(dead()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(dead()).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(dead()).toBe(1); // once, then stopped
  });

  it('uses the wall clock: a throttled tab whose deadline timer never fired is still caught on the next tick', () => {
    vi.useFakeTimers({ now: 0 });
    const { hb, dead } = beat(1_000, 60_000);
    hb.start();
    // The tab was in the background: 61 s of wall clock passed, but no timer ran.
    vi.setSystemTime(61_000);
    expect(dead()).toBe(0);
    vi.advanceTimersByTime(1_000); // the first interval tick the browser lets through
    expect(dead()).toBe(1);
  });
});

describe('dead connection detection against a real server', () => {
  let srv: TestServer | undefined;
  const sockets: SecureWebSocket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    for (const s of srv?.sockets ?? []) s.destroy();
    await srv?.close();
    srv = undefined;
  });

  async function setup(options: { intervalMs: number; timeoutMs: number; now?: () => number }) {
    srv = await startServer({ messages: { echo: z.unknown() }, handlers: { echo: (_c, p) => p } });
    const { now, ...heartbeat } = options;
    const socket = new SecureWebSocket({
      url: srv.url,
      authToken: await signToken('hb'),
      heartbeat,
      reconnect: { minDelayMs: 10, maxDelayMs: 20 },
      ...(now ? { now } : {}),
    });
    sockets.push(socket);
    await reachState(socket, 'open');
    return socket;
  }

  it('a server that stops answering (socket open, nothing read) is detected by the pong deadline, and the client reconnects', async () => {
    const socket = await setup({ intervalMs: 50, timeoutMs: 200 });
    await expect.poll(() => socket.latencyMs).toBeGreaterThanOrEqual(0);
    // The server's side stays open but stops reading: no pong will come.
    for (const s of srv?.sockets ?? []) s.pause();
    const close = await nextEvent(socket, 'close');
    expect(close).toMatchObject({ cause: 'pong-timeout', code: 1006, willReconnect: true });
    expect(await nextEvent(socket, 'open')).toMatchObject({ reconnected: true });
    await expect(socket.send({ type: 'echo', payload: 'alive' })).resolves.toBe('alive');
  });

  it('compares the wall clock: after a clock jump (sleep, throttled tab) the next tick catches it', async () => {
    let offset = 0;
    const socket = await setup({ intervalMs: 50, timeoutMs: 60_000, now: () => Date.now() + offset });
    for (const s of srv?.sockets ?? []) s.pause();
    const close = nextEvent(socket, 'close');
    offset = 61_000; // the deadline timer (60 s) has not fired; the clock says it has passed
    expect(await close).toMatchObject({ cause: 'pong-timeout' });
  });
});

describe('createPings', () => {
  it('tells on-demand pings apart by timestamp, resolves each with its round trip, and times out the rest', async () => {
    const pings = createPings();
    const sent: number[] = [];
    const a = pings.ping((ts) => sent.push(ts), 1000);
    const b = pings.ping((ts) => sent.push(ts), 20);
    expect(new Set(sent).size).toBe(2);
    expect(pings.pong(-1)).toBeUndefined(); // not one of ours: the heartbeat's
    const ms = pings.pong(sent[0] as number);
    expect(ms).toBeGreaterThanOrEqual(0);
    await expect(a).resolves.toBe(ms);
    await expect(b).rejects.toMatchObject({ name: 'AckTimeoutError' });
    expect(pings.pong(sent[1] as number)).toBeUndefined();
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSockets } from '../../src/server/connection/registry.js';
import { startTicker } from '../../src/server/ticker.js';
import { type MemoryGuard, memoryGuard } from '../helpers/memory-guard.js';

let g: MemoryGuard | undefined;
afterEach(async () => {
  await g?.close();
  g = undefined;
});

describe('the ticker', () => {
  it('pings every socket, terminates one that missed a ping, keeps one that answers', async () => {
    g = memoryGuard({ heartbeatMs: 30, limits: false });
    const dead = await g.open('dead');
    const live = await g.open('live', '127.0.0.1', { answersPings: true });
    let pings = 0;
    const answer = live.socket.ping;
    live.socket.ping = () => {
      pings++;
      answer();
    };
    await vi.waitFor(() => expect(dead.socket.terminated).toBe(true));
    await vi.waitFor(() => expect(pings).toBeGreaterThanOrEqual(3));
    expect(live.socket.terminated).toBe(false);
    expect(g.events.some((e) => e.event === 'connection.closed' && e.detail === 'missed heartbeat')).toBe(
      true,
    );
  });

  it('pushes session_expiring inside the refresh window, once', async () => {
    g = memoryGuard({ session: { refreshWindowMs: 3_600_000, checkIntervalMs: 10, maxAgeMs: 1_800_000 } });
    const s = await g.open('u');
    await vi.waitFor(() => expect(g?.frames(s.socket, 'session_expiring')).toHaveLength(1));
    expect(g.frames(s.socket, 'session_expiring')[0]).toEqual({
      type: 'session_expiring',
      expiresAt: s.conn.expiresAt,
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(g.frames(s.socket, 'session_expiring')).toHaveLength(1);
  });

  it('closes an idle session 4401 WSG_SESSION_EXPIRED', async () => {
    g = memoryGuard({ session: { idleTimeoutMs: 20, checkIntervalMs: 10 } });
    const s = await g.open('idle');
    await vi.waitFor(() => expect(s.socket.closed).toEqual({ code: 4401, reason: 'WSG_SESSION_EXPIRED' }));
    expect(g.events.some((e) => e.event === 'session.expired' && e.detail === 'idle')).toBe(true);
  });

  it('closes a socket whose send queue stays over maxBufferedBytes for graceMs with 1013', async () => {
    g = memoryGuard({
      backpressure: { maxBufferedBytes: 1000, graceMs: 20 },
      session: { checkIntervalMs: 10 },
    });
    const slow = await g.open('slow');
    const fine = await g.open('fine');
    Object.defineProperty(slow.socket, 'bufferedAmount', { value: 5000 });
    await vi.waitFor(() => expect(slow.socket.closed).toEqual({ code: 1013, reason: 'WSG_OVERLOADED' }));
    expect(fine.socket.closed).toBeUndefined();
  });

  it('runs the sweep, and stop() ends both timers', async () => {
    let sweeps = 0;
    const stop = startTicker({
      sockets: createSockets(),
      sessions: { due: () => undefined },
      heartbeatMs: 10,
      checkIntervalMs: 10,
      backpressure: { maxBufferedBytes: 1, graceMs: 0 },
      sweepTtlMs: 1, // swept every second, the shortest period
      sweep: () => sweeps++,
      now: Date.now,
    });
    await vi.waitFor(() => expect(sweeps).toBe(1), { timeout: 3000 });
    stop();
    await new Promise((r) => setTimeout(r, 1500));
    expect(sweeps).toBe(1);
  });
});

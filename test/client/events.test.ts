import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createClientEvents } from '../../src/client/events.js';
import { type QueueEvent, SecureWebSocket, type SecureWebSocketOptions } from '../../src/client/index.js';
import { nextEvent, reachState } from '../helpers/client.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer | undefined;
const sockets: SecureWebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  delete (globalThis as Record<string, unknown>).navigator;
  await srv?.close();
  srv = undefined;
});

async function setup(options: Partial<SecureWebSocketOptions> = {}) {
  srv = await startServer({ messages: { echo: z.unknown() }, handlers: { echo: (_c, p) => p } });
  const socket = new SecureWebSocket({
    url: srv.url,
    authToken: await signToken('events'),
    heartbeat: false,
    ...options,
  });
  sockets.push(socket);
  const queue: QueueEvent[] = [];
  socket.addEventListener('queue', (e) => queue.push(e));
  return { server: srv, socket, queue };
}

describe('the queue event', () => {
  it('reports messages queued while connecting, then in flight, then none once acked', async () => {
    const { socket, queue } = await setup();
    const sent = [socket.send({ type: 'echo', payload: 1 }), socket.send({ type: 'echo', payload: 2 })];
    expect(queue.at(-1)).toEqual({ queued: 2, inflight: 0, paused: false, reason: 'connecting' });
    expect(await Promise.all(sent)).toEqual([1, 2]);
    expect(queue.at(-1)).toEqual({ queued: 0, inflight: 0, paused: false });
    expect(queue.some((e) => e.queued === 0 && e.inflight === 2)).toBe(true);
    expect(socket.queueSize).toBe(0);
  });

  it("says 'reconnecting' for what waits after a lost connection, and ends empty when closed", async () => {
    const { server, socket, queue } = await setup({ reconnect: { minDelayMs: 60_000, maxDelayMs: 60_000 } });
    await reachState(socket, 'open');
    const closed = nextEvent(socket, 'close');
    for (const s of server.sockets) s.destroy();
    expect(await closed).toMatchObject({ willReconnect: true });
    const waiting = socket.send({ type: 'echo', payload: 'later' }).catch((e: Error) => e.name);
    expect(queue.at(-1)).toEqual({ queued: 1, inflight: 0, paused: false, reason: 'reconnecting' });
    socket.close();
    expect(await waiting).toBe('ClosedError');
    expect(queue.at(-1)).toEqual({ queued: 0, inflight: 0, paused: false });
  });

  it("says 'offline' while the browser is offline", async () => {
    Object.defineProperty(globalThis, 'navigator', { value: { onLine: false }, configurable: true });
    const { socket, queue } = await setup();
    void socket.send({ type: 'echo' }).catch(() => {});
    expect(queue.at(-1)).toEqual({ queued: 1, inflight: 0, paused: false, reason: 'offline' });
  });
});

describe('the latency event', () => {
  it('comes with every heartbeat pong and every ping(), and matches latencyMs', async () => {
    const { socket } = await setup({ heartbeat: { intervalMs: 60_000, timeoutMs: 10_000 } });
    const first = await nextEvent(socket, 'latency');
    expect(first.latencyMs).toBeGreaterThanOrEqual(0);
    expect(socket.latencyMs).toBe(first.latencyMs);
    const next = nextEvent(socket, 'latency');
    const rtt = await socket.ping();
    expect((await next).latencyMs).toBe(rtt);
    expect(socket.latencyMs).toBe(rtt);
  });
});

describe('createClientEvents', () => {
  it('delivers to onMessage, message and on(type) in that order; a throwing listener becomes an error event', () => {
    const order: string[] = [];
    const log: string[] = [];
    const events = createClientEvents(
      (m) => log.push(m),
      () => {
        order.push('onMessage');
        throw new Error('boom');
      },
    );
    const errors: Error[] = [];
    events.lifecycle.on('error', (e) => errors.push(e));
    events.lifecycle.on('message', (m) => order.push(`message:${m.type}`));
    events.app.on('chat', (p) => order.push(`chat:${String(p)}`));
    events.deliver('chat', 'hi');
    expect(order).toEqual(['onMessage', 'message:chat', 'chat:hi']);
    expect(errors.map((e) => [e.name, e.message])).toEqual([
      ['SecureWebSocketError', 'a onMessage listener threw'],
    ]);
    events.lifecycle.on('error', () => {
      throw new Error('error listener');
    });
    events.error(new Error('x'));
    expect(log).toContain('an error listener threw');
  });
});

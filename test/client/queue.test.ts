import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ClosedError,
  MessageExpiredError,
  QueueOverflowError,
  SecureWebSocket,
  type SecureWebSocketOptions,
} from '../../src/client/index.js';
import { createMessageQueue } from '../../src/client/queue.js';
import { outcome, reachState } from '../helpers/client.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

const item = (n: number, bytes = 10, enqueuedAt = 0) => ({ n, bytes, enqueuedAt });

describe('createMessageQueue', () => {
  it('reject-new refuses a message that does not fit by count or by bytes', () => {
    const q = createMessageQueue<ReturnType<typeof item>>({
      maxMessages: 2,
      maxBytes: 25,
      ttlMs: 1000,
      overflow: 'reject-new',
    });
    expect(q.push(item(1)).accepted).toBe(true);
    expect(q.push(item(2)).accepted).toBe(true);
    expect(q.push(item(3))).toEqual({ accepted: false, dropped: [] });
    expect(q.shift()?.n).toBe(1);
    expect(q.push(item(4, 16)).accepted).toBe(false); // 10 + 16 > 25 bytes
    expect(q.push(item(5, 15)).accepted).toBe(true);
    expect([q.size, q.bytes]).toEqual([2, 25]);
  });

  it('drop-oldest pushes out the oldest until the new one fits, and refuses one that never could', () => {
    const q = createMessageQueue<ReturnType<typeof item>>({
      maxMessages: 3,
      maxBytes: 30,
      ttlMs: 1000,
      overflow: 'drop-oldest',
    });
    for (const n of [1, 2, 3]) q.push(item(n));
    expect(q.push(item(4)).dropped.map((d) => d.n)).toEqual([1]);
    expect(q.push(item(5, 25)).dropped.map((d) => d.n)).toEqual([2, 3, 4]);
    expect(q.push(item(6, 31))).toEqual({ accepted: false, dropped: [] });
    expect(q.drain().map((d) => d.n)).toEqual([5]);
    expect([q.size, q.bytes]).toEqual([0, 0]);
  });

  it('expires items older than the TTL, oldest first', () => {
    const q = createMessageQueue<ReturnType<typeof item>>({
      maxMessages: 10,
      maxBytes: 1000,
      ttlMs: 100,
      overflow: 'reject-new',
    });
    q.push(item(1, 10, 0));
    q.push(item(2, 10, 50));
    q.push(item(3, 10, 120));
    expect(q.nextExpiry()).toBe(100);
    expect(q.expire(99)).toEqual([]);
    expect(q.expire(150).map((d) => d.n)).toEqual([1, 2]);
    expect(q.nextExpiry()).toBe(220);
    expect(q.bytes).toBe(10);
  });
});

describe('the queue of a client that is not connected yet (real server, token held back)', () => {
  let srv: TestServer | undefined;
  const sockets: SecureWebSocket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    await srv?.close();
    srv = undefined;
  });

  /** A client whose first getToken() waits for `release()`, so it sits in `connecting`. */
  async function heldClient(options: Partial<SecureWebSocketOptions>) {
    const handled: number[] = [];
    srv = await startServer({
      messages: { n: z.number() },
      handlers: {
        n: (_c, n) => {
          handled.push(n);
          return n;
        },
      },
    });
    const token = await signToken('q');
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const socket = new SecureWebSocket({
      url: srv.url,
      getToken: () => held.then(() => token),
      ...options,
    });
    sockets.push(socket);
    return { socket, handled, release };
  }

  it("'reject-new': refuses what does not fit; the rest goes out in order once connected", async () => {
    const { socket, handled, release } = await heldClient({
      queue: { maxMessages: 3, overflow: 'reject-new' },
    });
    const results = [1, 2, 3, 4, 5].map((n) => outcome(socket.send({ type: 'n', payload: n })));
    expect(socket.queueSize).toBe(3);
    expect(socket.state).toBe('connecting');
    const refused = await Promise.all(results.slice(3));
    for (const r of refused) {
      expect(r.ok || r.error).toBeInstanceOf(QueueOverflowError);
      expect(r.ok || r.error).toMatchObject({ policy: 'reject-new', maybeHandled: false });
    }
    release();
    expect(await Promise.all(results.slice(0, 3))).toEqual([1, 2, 3].map((n) => ({ ok: true, value: n })));
    expect(handled).toEqual([1, 2, 3]);
  });

  it("'drop-oldest': drops the oldest; the newest go out in order once connected", async () => {
    const { socket, handled, release } = await heldClient({
      queue: { maxMessages: 3, maxBytes: 10_000, overflow: 'drop-oldest' },
    });
    const results = [1, 2, 3, 4, 5].map((n) => outcome(socket.send({ type: 'n', payload: n })));
    const dropped = await Promise.all(results.slice(0, 2));
    for (const r of dropped)
      expect(r.ok || r.error).toMatchObject({ name: 'QueueOverflowError', policy: 'drop-oldest' });
    release();
    expect(await Promise.all(results.slice(2))).toEqual([3, 4, 5].map((n) => ({ ok: true, value: n })));
    expect(handled).toEqual([3, 4, 5]);
  });

  it('bounds the queue by bytes too (UTF-8 of type and payload)', async () => {
    const { socket, handled, release } = await heldClient({
      queue: { maxBytes: 40 },
    });
    const first = outcome(socket.send({ type: 'n', payload: 'é'.repeat(10) })); // 1 + 22 bytes
    const second = outcome(socket.send({ type: 'n', payload: 'x'.repeat(20) })); // 1 + 22 bytes: 46 > 40
    const refused = await second;
    expect(refused.ok || refused.error).toBeInstanceOf(QueueOverflowError);
    expect(socket.queueSize).toBe(1);
    release();
    const sent = await first;
    expect(sent.ok || sent.error).toMatchObject({ name: 'ServerError', code: 'WSG_VALIDATION_FAILED' });
    expect(handled).toEqual([]);
  });

  it('expires a message that waited longer than ttlMs: rejected, never sent', async () => {
    const { socket, handled, release } = await heldClient({ queue: { ttlMs: 50 } });
    const expired = await outcome(socket.send({ type: 'n', payload: 1 }));
    expect(expired.ok || expired.error).toBeInstanceOf(MessageExpiredError);
    expect(expired.ok || expired.error).toMatchObject({ maybeHandled: false, ttlMs: 50 });
    expect(socket.queueSize).toBe(0);
    release();
    await reachState(socket, 'open');
    await expect(socket.send({ type: 'n', payload: 2 })).resolves.toBe(2);
    expect(handled).toEqual([2]);
  });

  it('close() rejects every queued message with ClosedError (not handled), and nothing reaches the server', async () => {
    const { socket, handled, release } = await heldClient({});
    const results = [1, 2, 3].map((n) => outcome(socket.send({ type: 'n', payload: n })));
    socket.close();
    release();
    for (const r of await Promise.all(results)) {
      expect(r.ok || r.error).toBeInstanceOf(ClosedError);
      expect(r.ok || r.error).toMatchObject({ maybeHandled: false });
    }
    expect(socket.queueSize).toBe(0);
    expect(srv?.wss.clients).toBe(0);
    expect(handled).toEqual([]);
  });
});

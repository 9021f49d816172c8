import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AckTimeoutError,
  ClosedError,
  InvalidMessageError,
  MessageExpiredError,
  QueueOverflowError,
  ServerError,
} from '../../src/client/errors.js';
import type { QueueOptions } from '../../src/client/options.js';
import { createOutbox, type QueueEvent, type SessionLink, type WaitReason } from '../../src/client/outbox.js';
import type { AnnouncedLimits } from '../../src/protocol/index.js';
import { outcome } from '../helpers/client.js';

type Frame = { id: string; type: string; payload?: unknown; csrf: string };

/** An outbox with a fake link: `open()` authenticates it, `lose()` drops it. */
function harness(queue: QueueOptions = {}, retryRateLimited = true) {
  let blocked: Exclude<WaitReason, 'paused'> | undefined = 'connecting';
  let session: SessionLink | undefined;
  const frames: Frame[] = [];
  const events: QueueEvent[] = [];
  const outbox = createOutbox(
    {
      queue: { maxMessages: 3, maxBytes: 1000, ttlMs: 500, overflow: 'reject-new', ...queue },
      ackTimeoutMs: 2000,
      retryRateLimited,
      now: () => Date.now(),
    },
    {
      log: () => {},
      blocked: () => blocked,
      session: () => session,
      write: (frame) => frames.push(JSON.parse(frame) as Frame),
      onChange: (event) => events.push(event),
    },
  );
  return {
    outbox,
    frames,
    events,
    open(csrf = 'csrf-1', maxPayload?: number, limits?: AnnouncedLimits) {
      blocked = undefined;
      session = { csrf, maxPayload };
      outbox.resume(limits);
    },
    lose(reason: Exclude<WaitReason, 'paused'> = 'reconnecting') {
      blocked = reason;
      session = undefined;
      outbox.disconnected();
      outbox.changed();
    },
    rotate(csrf: string) {
      if (session) session.csrf = csrf;
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 10_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createOutbox', () => {
  it('queues while connecting, then sends in order with the CSRF token; acks resolve; queue events follow', async () => {
    const h = harness();
    const a = h.outbox.send({ type: 'chat', payload: 'a' });
    const b = h.outbox.send({ type: 'chat' });
    expect(h.frames).toEqual([]);
    expect(h.events.at(-1)).toEqual({ queued: 2, inflight: 0, paused: false, reason: 'connecting' });
    h.open();
    expect(h.frames.map((f) => [f.type, f.payload, f.csrf])).toEqual([
      ['chat', 'a', 'csrf-1'],
      ['chat', undefined, 'csrf-1'],
    ]);
    expect(h.events.at(-1)).toEqual({ queued: 0, inflight: 2, paused: false });
    h.outbox.ack(h.frames[0]?.id, 'ok-a');
    h.outbox.ack(h.frames[1]?.id, 'ok-b');
    h.outbox.ack('unknown-id', 'ignored');
    await expect(a).resolves.toBe('ok-a');
    await expect(b).resolves.toBe('ok-b');
    expect(h.events.at(-1)).toEqual({ queued: 0, inflight: 0, paused: false });
    expect(h.outbox.pendingAcks).toBe(0);
  });

  it('refuses a bad message with InvalidMessageError, and anything once closed with ClosedError', async () => {
    const h = harness();
    await expect(h.outbox.send({ type: 'auth' })).rejects.toMatchObject({ reason: 'type' });
    await expect(h.outbox.send({ type: 'has space' })).rejects.toBeInstanceOf(InvalidMessageError);
    await expect(h.outbox.send({ type: 'x', payload: 1n })).rejects.toMatchObject({ reason: 'payload' });
    await expect(h.outbox.send('not an object')).rejects.toBeInstanceOf(InvalidMessageError);
    h.open('csrf', 60);
    await expect(h.outbox.send({ type: 'x', payload: 'y'.repeat(100) })).rejects.toMatchObject({
      reason: 'too-large',
    });
    h.lose('closed');
    await expect(h.outbox.send({ type: 'x' })).rejects.toBeInstanceOf(ClosedError);
    expect(h.frames).toEqual([]);
  });

  it('after a lost connection, resends the unacked with the same id before anything newer', async () => {
    const h = harness();
    h.open();
    const first = h.outbox.send({ type: 'chat', payload: 1 });
    h.lose();
    expect(h.events.at(-1)).toEqual({ queued: 1, inflight: 0, paused: false, reason: 'reconnecting' });
    const second = h.outbox.send({ type: 'chat', payload: 2 });
    expect(h.outbox.queued).toBe(2);
    h.open('csrf-2');
    expect(h.frames.map((f) => [f.payload, f.csrf])).toEqual([
      [1, 'csrf-1'],
      [1, 'csrf-2'],
      [2, 'csrf-2'],
    ]);
    expect(h.frames[1]?.id).toBe(h.frames[0]?.id);
    for (const f of h.frames.slice(1)) h.outbox.ack(f.id, f.payload);
    expect(await Promise.all([first, second])).toEqual([1, 2]);
  });

  it('rejects with AckTimeoutError ackTimeoutMs after the first transmission, across reconnects', async () => {
    const h = harness();
    h.open();
    const sent = outcome(h.outbox.send({ type: 'chat' }));
    vi.advanceTimersByTime(1500);
    h.lose();
    h.open();
    vi.advanceTimersByTime(500);
    const o = await sent;
    expect(o.ok || o.error).toBeInstanceOf(AckTimeoutError);
    expect(o.ok || o.error.message).toBe('no ack within 2000 ms');
    expect(o.ok || (o.error as AckTimeoutError).maybeHandled).toBe(true);
    expect(h.outbox.pendingAcks).toBe(0);
  });

  it('expires a message that waited longer than the TTL, and reports the queue empty', async () => {
    const h = harness();
    const sent = outcome(h.outbox.send({ type: 'chat' }));
    vi.advanceTimersByTime(500);
    const o = await sent;
    expect(o.ok || o.error).toBeInstanceOf(MessageExpiredError);
    expect(h.events.at(-1)).toEqual({ queued: 0, inflight: 0, paused: false });
  });

  it('overflow: reject-new refuses the new message, drop-oldest drops the oldest', async () => {
    const rejectNew = harness({ maxMessages: 1 });
    void outcome(rejectNew.outbox.send({ type: 'a' }));
    const refused = await outcome(rejectNew.outbox.send({ type: 'b' }));
    expect(refused.ok || refused.error).toMatchObject({ policy: 'reject-new' });
    const dropOldest = harness({ maxMessages: 1, overflow: 'drop-oldest' });
    const oldest = outcome(dropOldest.outbox.send({ type: 'a' }));
    void outcome(dropOldest.outbox.send({ type: 'b' }));
    const o = await oldest;
    expect(o.ok || o.error).toBeInstanceOf(QueueOverflowError);
    expect(dropOldest.outbox.queued).toBe(1);
  });

  it('WSG_RATE_LIMITED: pauses, reports why, resends the same id after retryAfterMs; later sends wait their turn', async () => {
    const h = harness();
    h.open();
    const first = h.outbox.send({ type: 'chat', payload: 1 });
    h.outbox.refused(h.frames[0]?.id as string, 'WSG_RATE_LIMITED', 'slow down', 300);
    expect(h.events.at(-1)).toEqual({ queued: 1, inflight: 0, paused: true, reason: 'paused' });
    const second = h.outbox.send({ type: 'chat', payload: 2 });
    expect(h.frames).toHaveLength(1);
    vi.advanceTimersByTime(300);
    expect(h.frames.map((f) => f.payload)).toEqual([1, 1, 2]);
    expect(h.frames[1]?.id).toBe(h.frames[0]?.id);
    expect(h.events.at(-1)).toEqual({ queued: 0, inflight: 2, paused: false });
    for (const f of h.frames.slice(1)) h.outbox.ack(f.id, f.payload);
    expect(await Promise.all([first, second])).toEqual([1, 2]);
  });

  it('WSG_RATE_LIMITED with retryRateLimited off rejects with the ServerError', async () => {
    const h = harness({}, false);
    h.open();
    const sent = outcome(h.outbox.send({ type: 'chat' }));
    h.outbox.refused(h.frames[0]?.id as string, 'WSG_RATE_LIMITED', 'slow down', 300);
    const o = await sent;
    expect(o.ok || o.error).toMatchObject({
      code: 'WSG_RATE_LIMITED',
      retryAfterMs: 300,
      maybeHandled: false,
    });
  });

  it('WSG_CSRF_INVALID after a rotation: resent once with the new token; a second refusal rejects', async () => {
    const h = harness();
    h.open('old');
    const sent = outcome(h.outbox.send({ type: 'chat' }));
    h.rotate('new');
    h.outbox.refused(h.frames[0]?.id as string, 'WSG_CSRF_INVALID', 'bad csrf', undefined);
    expect(h.frames.map((f) => f.csrf)).toEqual(['old', 'new']);
    h.outbox.refused(h.frames[1]?.id as string, 'WSG_CSRF_INVALID', 'bad csrf', undefined);
    const o = await sent;
    expect(o.ok || o.error).toBeInstanceOf(ServerError);
    expect(h.frames).toHaveLength(2);
  });

  it('close(): queued reject with maybeHandled false, unacked with true, both with the code and cause', async () => {
    const h = harness();
    h.open();
    const unacked = outcome(h.outbox.send({ type: 'a' }));
    h.lose();
    const queued = outcome(h.outbox.send({ type: 'b' }));
    const cause = new Error('gave up');
    h.outbox.close(4403, cause);
    const [u, q] = await Promise.all([unacked, queued]);
    expect(u.ok || u.error).toMatchObject({
      name: 'ClosedError',
      maybeHandled: true,
      closeCode: 4403,
      cause,
    });
    expect(q.ok || q.error).toMatchObject({
      name: 'ClosedError',
      maybeHandled: false,
      closeCode: 4403,
      cause,
    });
    expect(h.events.at(-1)).toEqual({ queued: 0, inflight: 0, paused: false });
  });

  it('reports a queue event only when something in it changed', () => {
    const h = harness();
    h.outbox.changed();
    h.outbox.changed();
    expect(h.events).toEqual([]);
    void outcome(h.outbox.send({ type: 'a' }));
    h.outbox.changed();
    expect(h.events).toHaveLength(1);
  });
});

describe('pacing by the announced limits', () => {
  // Client copy: burst floor(5 * 0.9) = 4, rate 10 * 0.95 = 9.5/s.
  const limits: AnnouncedLimits = { maxPayload: 10_000, messagesPerSecond: 10, burst: 5 };

  it('never writes faster than the buckets; the rest waits in order with reason paced', async () => {
    const h = harness({ maxMessages: 100, ttlMs: 10_000 });
    h.open('csrf-1', undefined, limits);
    const sends = Array.from({ length: 8 }, (_, i) => h.outbox.send({ type: 'chat', payload: i }));
    expect(h.frames.map((f) => f.payload)).toEqual([0, 1, 2, 3]);
    expect(h.events.at(-1)).toEqual({ queued: 4, inflight: 4, paused: false, reason: 'paced' });
    await vi.advanceTimersByTimeAsync(110);
    expect(h.frames).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.frames.map((f) => f.payload)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const f of h.frames) h.outbox.ack(f.id, f.payload);
    expect(await Promise.all(sends)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(h.events.at(-1)).toEqual({ queued: 0, inflight: 0, paused: false });
  });

  it('the flush after a reconnect is paced too, resends first', async () => {
    const h = harness({ maxMessages: 100, ttlMs: 10_000 });
    h.open('csrf-1', undefined, limits);
    for (let i = 0; i < 3; i++) void outcome(h.outbox.send({ type: 'chat', payload: i }));
    h.lose();
    for (let i = 3; i < 9; i++) void outcome(h.outbox.send({ type: 'chat', payload: i }));
    const before = h.frames.length;
    h.open('csrf-2', undefined, limits);
    // A new socket: its bucket starts full (4 here), so 4 go now, the 3 resends first.
    expect(h.frames.slice(before).map((f) => f.payload)).toEqual([0, 1, 2, 3]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(h.frames.slice(before).map((f) => f.payload)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('the queue bounds and the TTL still hold while paced', async () => {
    const h = harness({ maxMessages: 2, ttlMs: 500 });
    h.open('csrf-1', undefined, { maxPayload: 10_000, messagesPerSecond: 0.5, burst: 1 });
    const first = h.outbox.send({ type: 'chat', payload: 'goes' });
    const waiting = [
      outcome(h.outbox.send({ type: 'chat', payload: 'w1' })),
      outcome(h.outbox.send({ type: 'chat', payload: 'w2' })),
    ];
    const over = await outcome(h.outbox.send({ type: 'chat', payload: 'over' }));
    expect(over.ok ? undefined : over.error).toBeInstanceOf(QueueOverflowError);
    await vi.advanceTimersByTimeAsync(600);
    for (const w of waiting) {
      const r = await w;
      expect(r.ok ? undefined : r.error).toBeInstanceOf(MessageExpiredError);
    }
    h.outbox.ack(h.frames[0]?.id, 'ok');
    expect(await first).toBe('ok');
  });

  it('per-type and byte buckets pace too; control frames take from the same buckets', async () => {
    const h = harness({ maxMessages: 100, ttlMs: 10_000 });
    h.open('csrf-1', undefined, {
      maxPayload: 10_000,
      bytes: { rate: 1000, burst: 400 },
      types: { chat: { rate: 1, burst: 2, cost: 1 } },
    });
    void outcome(h.outbox.send({ type: 'chat', payload: 1 }));
    void outcome(h.outbox.send({ type: 'chat', payload: 2 }));
    expect(h.frames).toHaveLength(1);
    void outcome(h.outbox.send({ type: 'other', payload: 'x'.repeat(100) }));
    expect(h.frames).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1100);
    expect(h.frames.map((f) => f.payload)).toEqual([1, 2, 'x'.repeat(100)]);
    h.outbox.control('x'.repeat(360));
    void outcome(h.outbox.send({ type: 'other', payload: 'y' }));
    expect(h.frames).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(500);
    expect(h.frames).toHaveLength(4);
  });

  it('without announced rates nothing is paced', () => {
    const h = harness({ maxMessages: 100, ttlMs: 10_000 });
    h.open('csrf-1', undefined, { maxPayload: 10_000 });
    for (let i = 0; i < 50; i++) void outcome(h.outbox.send({ type: 'chat', payload: i }));
    expect(h.frames).toHaveLength(50);
  });
});

describe('retry-after per message', () => {
  it('a retryable refusal with retryAfterMs resends the same id after it', async () => {
    const h = harness();
    h.open();
    const sent = h.outbox.send({ type: 'chat', payload: 1 });
    const id = h.frames[0]?.id as string;
    h.outbox.refused(id, 'WSG_OVERLOADED', 'Server overloaded', 300);
    expect(h.events.at(-1)).toMatchObject({ paused: true, reason: 'paused' });
    await vi.advanceTimersByTimeAsync(310);
    expect(h.frames.map((f) => f.id)).toEqual([id, id]);
    h.outbox.ack(id, 'done');
    expect(await sent).toBe('done');
  });

  it('clamps retryAfterMs to 60 s (no 32-bit timer overflow that would resend at once)', async () => {
    const h = harness();
    h.open();
    const sent = outcome(h.outbox.send({ type: 'chat', payload: 1 }));
    h.outbox.refused(h.frames[0]?.id as string, 'WSG_RATE_LIMITED', 'Rate limited', 1e12);
    await vi.advanceTimersByTimeAsync(2100);
    expect(h.frames).toHaveLength(1);
    const r = await sent;
    expect(r.ok ? undefined : r.error).toBeInstanceOf(AckTimeoutError);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.events.at(-1)).toMatchObject({ paused: false });
  });

  it('a non-retryable refusal rejects that one send with the typed error; the others go on', async () => {
    const h = harness();
    h.open();
    const bad = outcome(h.outbox.send({ type: 'chat', payload: 1 }));
    const good = h.outbox.send({ type: 'chat', payload: 2 });
    h.outbox.refused(h.frames[0]?.id as string, 'WSG_VALIDATION_FAILED', 'Validation failed', undefined);
    const r = await bad;
    const err = r.ok ? undefined : r.error;
    expect(err).toBeInstanceOf(ServerError);
    expect(err).toMatchObject({ code: 'WSG_VALIDATION_FAILED' });
    h.outbox.ack(h.frames[1]?.id, 2);
    expect(await good).toBe(2);
  });
});

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, type DispatchTarget } from '../../src/server/dispatch.js';
import type { SocketEvent } from '../../src/server/events.js';
import type { Handler, HandlerContext } from '../../src/server/options.js';
import type { MessageContext } from '../../src/server/pipeline/types.js';
import { assertNoLeak, connectAuthed, type Peer } from '../helpers/peer.js';
import { expectStillServing } from '../helpers/served.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

/** A socket as dispatch sees it: its handler context, its user, and the events it logs. */
function target(user = 'u1'): DispatchTarget & { events: SocketEvent[] } {
  const events: SocketEvent[] = [];
  return {
    context: { connectionId: 'c1', ip: '127.0.0.1' } as HandlerContext,
    user: { id: user },
    events,
    event: (e) => events.push(e),
  };
}

function message(type: string, id: string | undefined, payload: unknown = null): MessageContext {
  return {
    conn: { connectionId: 'c1', ip: '127.0.0.1' } as MessageContext['conn'],
    bytes: 10,
    isBinary: false,
    type,
    id,
    payload,
    csrf: undefined,
  };
}

function dispatcher(handlers: Record<string, Handler>, handlerTimeoutMs = 30_000) {
  const latencies: number[] = [];
  const d = createDispatcher({
    handlers,
    handlerTimeoutMs,
    dedupeWindow: 100,
    dedupeTtlMs: 60_000,
    dedupeUserBytes: 256 * 1024,
    dedupeTotalBytes: 32 * 1024 * 1024,
    dedupeMaxResultBytes: 4096,
    onLatency: (ms) => latencies.push(ms),
    onRefused: () => {},
    channelRequest: () => '{"type":"ack","id":"channel"}',
  });
  return { ...d, latencies };
}

describe('dispatch', () => {
  it('acks a synchronous result at once, with the result', () => {
    const d = dispatcher({ add: (_c, p) => (p as number) + 1 });
    expect(d.dispatch(target(), message('add', 'a1', 41))).toBe('{"type":"ack","id":"a1","result":42}');
    expect(d.latencies).toHaveLength(1);
  });

  it('runs a message without an id and answers nothing', () => {
    let ran = 0;
    const d = dispatcher({ note: () => ran++ });
    expect(d.dispatch(target(), message('note', undefined))).toBeUndefined();
    expect(ran).toBe(1);
  });

  it('acks a type with a schema and no handler, without a result', () => {
    const d = dispatcher({});
    expect(d.dispatch(target(), message('chat', 'x'))).toBe('{"type":"ack","id":"x"}');
  });

  it('answers WSG_INTERNAL for a throw, a rejection and a result that cannot be encoded; the detail is logged only', async () => {
    const d = dispatcher({
      throws: () => {
        throw new Error('at /srv/secret.ts:1');
      },
      rejects: async () => {
        throw new Error('async /srv/secret.ts:2');
      },
      bigint: () => 10n,
    });
    const t = target();
    const sync = d.dispatch(t, message('throws', 'e1')) as string;
    const late = await d.dispatch(t, message('rejects', 'e2'));
    const big = d.dispatch(t, message('bigint', 'e3')) as string;
    for (const [frame, id] of [
      [sync, 'e1'],
      [late, 'e2'],
      [big, 'e3'],
    ] as const) {
      expect(JSON.parse(frame as string)).toEqual({
        type: 'error',
        id,
        code: 'WSG_INTERNAL',
        message: 'Internal error',
      });
      expect(frame).not.toContain('secret');
    }
    expect(t.events.map((e) => [e.event, e.code])).toEqual([
      ['handler.error', 'WSG_INTERNAL'],
      ['handler.error', 'WSG_INTERNAL'],
      ['handler.error', 'WSG_INTERNAL'],
    ]);
    expect(String(t.events[0]?.detail)).toContain('secret.ts');
  });

  it('answers WSG_HANDLER_TIMEOUT for a handler that never settles', async () => {
    const d = dispatcher({ hang: () => new Promise(() => {}) }, 20);
    const t = target();
    expect(JSON.parse((await d.dispatch(t, message('hang', 'h1'))) as string)).toMatchObject({
      id: 'h1',
      code: 'WSG_HANDLER_TIMEOUT',
    });
    expect(t.events[0]).toMatchObject({ event: 'handler.error', code: 'WSG_HANDLER_TIMEOUT' });
  });

  it('a resent id gets the first reply again; the handler runs once (per user)', async () => {
    let runs = 0;
    const d = dispatcher({
      once: async () => {
        runs++;
        return runs;
      },
    });
    const first = await d.dispatch(target('a'), message('once', 'same'));
    const again = await d.dispatch(target('a'), message('once', 'same'));
    expect(again).toBe(first);
    expect(runs).toBe(1);
    // Another user's id is another message.
    expect(await d.dispatch(target('b'), message('once', 'same'))).toBe(
      '{"type":"ack","id":"same","result":2}',
    );
    expect(runs).toBe(2);
  });

  it('sweep() forgets ids past their TTL', () => {
    let runs = 0;
    const d = dispatcher({ once: () => ++runs });
    d.dispatch(target(), message('once', 'k'));
    d.sweep(Date.now() + 120_000);
    d.dispatch(target(), message('once', 'k'));
    expect(runs).toBe(2);
  });
});

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

let handled = 0;
const options = {
  messages: { echo: z.unknown() },
  handlers: {
    echo: (_c: unknown, p: unknown) => {
      handled++;
      return p;
    },
  },
};

/** ~63 KB with one character above U+00FF, so V8 keeps the string in two-byte form. */
function cjkText(seed: number): string {
  return `中${String(seed).padStart(8, '0')}${'x'.repeat(63 * 1024)}`;
}

function heapAfterGc(): number {
  setFlagsFromString('--expose_gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Sends `count` acked messages, at most `inFlight` unanswered at a time, and waits for every ack. */
async function sendAcked(peer: Peer, csrf: string, prefix: string, count: number, inFlight = 8) {
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      peer.send({ id: `${prefix}-${i}`, type: 'echo', payload: cjkText(i), csrf });
      const ack = await peer.next('ack', 20_000);
      expect(ack.type).toBe('ack');
    }
  };
  await Promise.all(Array.from({ length: inFlight }, one));
}

describe('dedupe: bounded memory and no amplification', () => {
  it('answers a resend of a large result WSG_RESULT_EXPIRED (a small frame), and does not handle it again', async () => {
    srv = await startServer(options);
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('alice'));
    handled = 0;
    const big = cjkText(1);
    peer.send({ id: 'big-1', type: 'echo', payload: big, csrf });
    expect(await peer.next('ack')).toEqual({ type: 'ack', id: 'big-1', result: big });
    // The resend: a 77-byte frame with the id of a remembered 64 KB ack.
    const resend = JSON.stringify({ id: 'big-1', type: 'echo', payload: 'x', csrf });
    expect(resend.length).toBeLessThan(100);
    const before = peer.frames.length;
    peer.sendRaw(resend);
    const reply = await peer.next('error');
    expect(reply).toMatchObject({ type: 'error', id: 'big-1', code: 'WSG_RESULT_EXPIRED' });
    const replyText = peer.frames[before] as string;
    expect(replyText.length).toBeLessThan(200);
    expect(handled).toBe(1);
    assertNoLeak(peer.frames);
    // A small result is still remembered whole.
    peer.send({ id: 'small-1', type: 'echo', payload: 'hi', csrf });
    expect(await peer.next('ack')).toEqual({ type: 'ack', id: 'small-1', result: 'hi' });
    peer.send({ id: 'small-1', type: 'echo', payload: 'other', csrf });
    expect(await peer.next('ack')).toEqual({ type: 'ack', id: 'small-1', result: 'hi' });
    expect(handled).toBe(2);
    peer.close();
    await expectStillServing(srv.url);
  });

  it('refuses replays of one remembered id WSG_RATE_LIMITED like new messages, then closes 4429', async () => {
    srv = await startServer({ ...options, trustProxy: ['127.0.0.1'] });
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('mallory'), {
      headers: { 'X-Forwarded-For': '198.51.100.1' },
    });
    handled = 0;
    peer.send({ id: 'r-1', type: 'echo', payload: 'once', csrf });
    await peer.next('ack');
    const frame = JSON.stringify({ id: 'r-1', type: 'echo', payload: 'once', csrf });
    for (let i = 0; i < 400; i++) peer.sendRaw(frame);
    const closed = await peer.closed;
    const codes = peer.frames.map((f) => (JSON.parse(f) as { code?: string }).code);
    expect(codes).toContain('WSG_RATE_LIMITED');
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/^WSG_BLOCKED;retryAfterMs=\d+$/);
    expect(handled).toBe(1);
    assertNoLeak(peer.frames);
    await expectStillServing(srv.url, { headers: { 'X-Forwarded-For': '198.51.100.2' } });
  });

  it('keeps the heap within the per-user budget while 3 users send 200 acked 63 KB CJK results each', async () => {
    const server = await startServer({
      ...options,
      // The attacker's own traffic is not what this test bounds: let it through quickly.
      limits: {
        messages: { rate: 10_000, burst: 10_000 },
        bytes: { rate: 1e9, burst: 1e9 },
        user: { rate: 10_000, burst: 10_000 },
      },
    });
    srv = server;
    const users = await Promise.all(
      ['u1', 'u2', 'u3'].map(async (u) => connectAuthed(server.url, await signToken(u))),
    );
    // Warm up (first messages allocate the pipeline's own structures), then measure.
    await Promise.all(users.map(({ peer, csrf }, k) => sendAcked(peer, csrf, `warm${k}`, 4, 2)));
    const before = heapAfterGc();
    await Promise.all(users.map(({ peer, csrf }, k) => sendAcked(peer, csrf, `m${k}`, 200)));
    for (const { peer } of users) peer.frames.length = 0;
    const grown = heapAfterGc() - before;
    console.log(`[measure] heap growth after 600 acked 63 KB CJK results: ${(grown / 1e6).toFixed(1)} MB`);
    // Unbounded, the cache held 600 × ~126 KB ≈ 76 MB here. Budget: 3 × 256 KiB, plus slack for
    // the sockets' own buffers and the allocator.
    expect(grown).toBeLessThan(3 * 256 * 1024 + 12 * 1024 * 1024);
    // The last large id is still known: its resend is refused, not handled again.
    const [first] = users;
    if (!first) throw new Error('no user');
    const { peer, csrf } = first;
    peer.send({ id: 'm0-199', type: 'echo', payload: 'x', csrf });
    expect(await peer.next('error')).toMatchObject({ id: 'm0-199', code: 'WSG_RESULT_EXPIRED' });
    for (const u of users) u.peer.close();
    await expectStillServing(srv.url);
  }, 60_000);
});

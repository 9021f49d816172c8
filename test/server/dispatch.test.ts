import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { assertNoLeak, connectAuthed, type Peer } from '../helpers/peer.js';
import { expectStillServing } from '../helpers/served.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

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
    srv = await startServer({
      ...options,
      // The attacker's own traffic is not what this test bounds: let it through quickly.
      limits: {
        messages: { rate: 10_000, burst: 10_000 },
        bytes: { rate: 1e9, burst: 1e9 },
        user: { rate: 10_000, burst: 10_000 },
      },
    });
    const users = await Promise.all(
      ['u1', 'u2', 'u3'].map(async (u) => connectAuthed(srv!.url, await signToken(u))),
    );
    // Warm up (first messages allocate the pipeline's own structures), then measure.
    await Promise.all(users.map(({ peer, csrf }, k) => sendAcked(peer, csrf, `warm${k}`, 4, 2)));
    const before = heapAfterGc();
    await Promise.all(users.map(({ peer, csrf }, k) => sendAcked(peer, csrf, `m${k}`, 200)));
    for (const { peer } of users) peer.frames.length = 0;
    const grown = heapAfterGc() - before;
    // Unbounded, the cache held 600 × ~126 KB ≈ 76 MB here. Budget: 3 × 256 KiB, plus slack for
    // the sockets' own buffers and the allocator.
    expect(grown).toBeLessThan(3 * 256 * 1024 + 12 * 1024 * 1024);
    // The last large id is still known: its resend is refused, not handled again.
    const { peer, csrf } = users[0]!;
    peer.send({ id: 'm0-199', type: 'echo', payload: 'x', csrf });
    expect(await peer.next('error')).toMatchObject({ id: 'm0-199', code: 'WSG_RESULT_EXPIRED' });
    for (const u of users) u.peer.close();
    await expectStillServing(srv.url);
  }, 60_000);
});

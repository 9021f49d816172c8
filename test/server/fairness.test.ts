import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { SecurityEvent } from '../../src/server/index.js';
import { createObedience } from '../../src/server/protection.js';
import { assertNoLeak, connectAuthed, upgradeStatus } from '../helpers/peer.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

// Fairness: a socket that obeys retry-after is slowed, never closed; one that ignores it still
// walks the ladder to 4429 and a block.

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function serve(events: SecurityEvent[]) {
  srv = await startServer({
    messages: { echo: z.unknown() },
    handlers: { echo: (_c: unknown, p: unknown) => p },
    // Tight on purpose: few strikes, so a client that were punished would be closed fast.
    limits: { messages: { rate: 20, burst: 5 }, penalties: { strikes: 4, blockMs: 5000, blockIp: true } },
    onEvent: (e) => events.push(e),
  });
  return srv;
}

describe('the obedience rule', () => {
  it('the first refusal, and one after the wait, are free; one inside the wait counts', () => {
    let t = 1000;
    const o = createObedience(() => t);
    const conn = {};
    expect(o.obeys(conn, 100)).toBe(true);
    t += 50;
    expect(o.obeys(conn, 100)).toBe(false);
    t += 100;
    expect(o.obeys(conn, 10)).toBe(true);
    expect(o.obeys({}, undefined)).toBe(true);
  });
});

describe('server fairness', () => {
  it('a raw client that waits each retryAfterMs is slowed, not closed: every message is acked in the end', async () => {
    const events: SecurityEvent[] = [];
    const s = await serve(events);
    const { peer, csrf } = await connectAuthed(s.url, await signToken('polite'));
    let refusals = 0;
    for (let i = 0; i < 40; i++) {
      for (;;) {
        peer.send({ id: `p${i}`, type: 'echo', payload: i, csrf });
        const reply = await peer.next();
        if (reply.type === 'ack') {
          expect(reply).toMatchObject({ id: `p${i}`, result: i });
          break;
        }
        expect(reply).toMatchObject({ type: 'error', id: `p${i}`, code: 'WSG_RATE_LIMITED' });
        refusals++;
        await sleep(Number(reply.retryAfterMs));
      }
    }
    // It did hit the limit (many more than `strikes`), and nothing held it against the socket.
    expect(refusals).toBeGreaterThan(4);
    expect(peer.ws.readyState).toBe(peer.ws.OPEN);
    expect(events.filter((e) => e.event === 'penalty.blocked' || e.event === 'anomaly.flagged')).toEqual([]);
    assertNoLeak(peer.frames);
  });

  it('a raw client that ignores retry-after walks the ladder: 4429 WSG_BLOCKED, then its address is blocked', async () => {
    const events: SecurityEvent[] = [];
    const s = await serve(events);
    const { peer, csrf } = await connectAuthed(s.url, await signToken('rude'));
    for (let i = 0; i < 30; i++) peer.send({ id: `r${i}`, type: 'echo', payload: i, csrf });
    const closed = await peer.closed;
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/^WSG_BLOCKED;retryAfterMs=\d+$/);
    expect(events.some((e) => e.event === 'penalty.blocked')).toBe(true);
    const again = await upgradeStatus(s.url);
    expect(again.status).toBe(429);
    expect(again.body).toContain('WSG_BLOCKED');
    assertNoLeak(peer.frames);
  });
});

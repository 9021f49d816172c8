import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { connectAuthed } from '../../helpers/peer.js';
import { signToken, startServer, type TestServer } from '../../helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

// The adapter corks the TCP socket to batch small replies into one write. Large output must
// not wait for the uncork: held back, it would count against the backpressure limits (4 MiB by
// default) as if the client were reading slowly.
describe('ws adapter: batching replies', () => {
  it.each([
    ['in one synchronous run', false],
    ['with awaits between sends', true],
  ])('a handler sending 6 MB %s reaches a reading client whole', async (_name, awaits) => {
    const chunk = 'x'.repeat(60_000);
    srv = await startServer({
      messages: { dump: z.unknown() },
      handlers: {
        dump: async (ctx) => {
          for (let i = 0; i < 100; i++) {
            ctx.send('part', { i, chunk });
            if (awaits) await Promise.resolve();
          }
          return 'done';
        },
      },
    });
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('reader'));
    peer.send({ id: 'd', type: 'dump', payload: null, csrf });
    expect(await peer.next('ack', 15_000)).toEqual({ type: 'ack', id: 'd', result: 'done' });
    await vi.waitFor(() =>
      expect(peer.frames.filter((f) => f.startsWith('{"type":"part"')).length).toBe(100),
    );
    expect(peer.ws.readyState).toBe(peer.ws.OPEN);
    peer.close();
  });
});

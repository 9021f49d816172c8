import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { assertNoLeak, connect, connectAuthed } from '../helpers/peer.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe('setupWebSockets', () => {
  it('authenticates with a first auth message and acks an echo', async () => {
    srv = await startServer({ messages: { echo: z.unknown() }, handlers: { echo: (_c, p) => p } });
    const { peer, csrf, ok } = await connectAuthed(srv.url, await signToken('alice'));
    expect(ok).toMatchObject({ type: 'auth_ok', heartbeatMs: 30000 });
    expect(typeof ok.sessionId).toBe('string');
    peer.send({ id: 'm1', type: 'echo', payload: { n: 1 }, csrf });
    expect(await peer.next('ack')).toEqual({ type: 'ack', id: 'm1', result: { n: 1 } });
    expect(srv.wss.clients).toBe(1);
    assertNoLeak(peer.frames);
    peer.close();
  });

  it('refuses a message before auth with 4401', async () => {
    srv = await startServer({ messages: { echo: z.unknown() } });
    const peer = await connect(srv.url);
    peer.send({ id: 'x', type: 'echo', payload: 1 });
    expect(await peer.next('error')).toMatchObject({ code: 'WSG_AUTH_REQUIRED' });
    expect(await peer.closed).toEqual({ code: 4401, reason: 'WSG_AUTH_REQUIRED' });
  });
});

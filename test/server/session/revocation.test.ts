import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { connect, connectAuthed, upgradeStatus } from '../../helpers/peer.js';
import { expectStillServing } from '../../helpers/served.js';
import { signToken, startServer, type TestServer } from '../../helpers/server.js';

const echo = { messages: { echo: z.unknown() }, handlers: { echo: (_c: unknown, p: unknown) => p } };

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

/** The token is refused both at the upgrade and in the first message, as revoked. */
async function expectRefused(url: string, token: string) {
  expect((await upgradeStatus(url, { Authorization: `Bearer ${token}` })).status).not.toBe(101);
  const peer = await connect(url);
  peer.send({ type: 'auth', token });
  expect(await peer.next('error')).toMatchObject({ code: 'WSG_SESSION_REVOKED' });
  expect((await peer.closed).code).toBe(4403);
}

describe('revokeSession', () => {
  it('refuses the token that opened the session as well as the one that refreshed it', async () => {
    srv = await startServer(echo);
    const opening = await signToken('rev-a', { jti: 'opening-jti' });
    const refreshed = await signToken('rev-a', { jti: 'refresh-jti' });
    const { peer, ok } = await connectAuthed(srv.url, opening);
    peer.send({ type: 'refresh', token: refreshed });
    await peer.next('refresh_ok');
    await srv.wss.revokeSession(ok.sessionId as string);
    expect((await peer.closed).code).toBe(4403);
    await expectRefused(srv.url, opening);
    await expectRefused(srv.url, refreshed);
    // Another session of the same user, with its own token, is not touched.
    const other = await connectAuthed(srv.url, await signToken('rev-a', { jti: 'other-jti' }));
    other.peer.close();
    await expectStillServing(srv.url);
  });

  it('refuses the tokens of a session revoked after its socket closed, with or without jti', async () => {
    srv = await startServer(echo);
    for (const claims of [{ jti: 'closed-jti' }, {}]) {
      const token = await signToken('rev-b', claims);
      const { peer, ok } = await connectAuthed(srv.url, token);
      peer.close();
      await peer.closed;
      while (srv.wss.stats().socketsOpen > 0) await new Promise((r) => setTimeout(r, 10));
      await srv.wss.revokeSession(ok.sessionId as string);
      await expectRefused(srv.url, token);
    }
    await expectStillServing(srv.url);
  });
});

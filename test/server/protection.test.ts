import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { connectAuthed, upgradeStatus } from '../helpers/peer.js';
import { expectStillServing } from '../helpers/served.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

const echo = { messages: { echo: z.unknown() }, handlers: { echo: (_c: unknown, p: unknown) => p } };

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

const from = (ip: string) => ({ 'X-Forwarded-For': ip });

describe('which answer wins', () => {
  it('a flooder is closed 4429 WSG_BLOCKED with retryAfterMs (the block applied), not 1008 WSG_ANOMALY', async () => {
    // Default limits and anomaly scoring, as a library user gets them.
    srv = await startServer({ ...echo, trustProxy: ['127.0.0.1'] });
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('flooder'), {
      headers: from('198.51.100.1'),
    });
    for (let i = 0; i < 600; i++) peer.send({ id: `f${i}`, type: 'echo', payload: i, csrf });
    const closed = await peer.closed;
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/^WSG_BLOCKED;retryAfterMs=\d+$/);
    // The block is real: the flooder's next upgrade is refused (429 blocked, or 403 when the
    // anomaly score also reached its IP ban).
    const again = await upgradeStatus(srv.url, {
      ...from('198.51.100.1'),
      Authorization: `Bearer ${await signToken('flooder')}`,
    });
    expect([429, 403]).toContain(again.status);
    await expectStillServing(srv.url, { headers: from('198.51.100.2') });
  });
});

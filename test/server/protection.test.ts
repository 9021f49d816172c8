import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { connect, connectAuthed, upgradeStatus } from '../helpers/peer.js';
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

describe('fair blocks for shared addresses', () => {
  it('anonymous abuse of an address earns a short block (429), never a ban (403)', async () => {
    srv = await startServer({
      ...echo,
      trustProxy: ['127.0.0.1'],
      limits: { connectionsPerIp: false, authFailures: false },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 80; i++) {
      const status = (await upgradeStatus(srv.url, from('198.51.100.7'))).status;
      statuses.push(status);
      if (status !== 101) break;
      const peer = await connect(srv.url, { headers: from('198.51.100.7') });
      peer.sendRaw('x'.repeat(20_000));
      await peer.closed;
    }
    expect(statuses).not.toContain(403);
    expect(statuses.at(-1)).toBe(429);
    await expectStillServing(srv.url, { headers: from('198.51.100.8') });
  });

  it('with penalties.blockIp: false one user’s abuse never blocks or bans the address for others', async () => {
    srv = await startServer({
      ...echo,
      trustProxy: ['127.0.0.1'],
      limits: { penalties: { blockIp: false } },
    });
    for (let round = 0; round < 6; round++) {
      const token = await signToken(`abuser-${round}`);
      const { peer, csrf } = await connectAuthed(srv.url, token, { headers: from('198.51.100.9') });
      for (let i = 0; i < 300; i++) peer.send({ id: `a${i}`, type: 'nope', payload: i, csrf });
      await peer.closed;
    }
    // Another user behind the same address is served.
    await expectStillServing(srv.url, { headers: from('198.51.100.9') });
  });

  it('IPv6 clients are keyed by /64: a block on one address holds for its neighbours', async () => {
    srv = await startServer({ ...echo, trustProxy: ['127.0.0.1'] });
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('v6-flooder'), {
      headers: from('2001:db8:1:2::10'),
    });
    for (let i = 0; i < 600; i++) peer.send({ id: `f${i}`, type: 'echo', payload: i, csrf });
    expect((await peer.closed).code).toBe(4429);
    const neighbour = await upgradeStatus(srv.url, from('2001:db8:1:2:ffff::99'));
    expect([429, 403]).toContain(neighbour.status);
    await expectStillServing(srv.url, { headers: from('2001:db8:1:3::10') });
  });
});

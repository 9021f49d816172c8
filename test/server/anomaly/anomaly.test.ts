import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AnomalyEvent } from '../../../src/server/anomaly/index.js';
import type { SecurityEvent } from '../../../src/server/events.js';
import { assertNoLeak, connectAuthed, upgradeStatus } from '../../helpers/peer.js';
import { expectStillServing } from '../../helpers/served.js';
import { signToken, startServer, type TestServer } from '../../helpers/server.js';

const echo = {
  messages: { echo: z.unknown(), chat: z.object({ text: z.string() }) },
  handlers: { echo: (_c: unknown, p: unknown) => p },
};

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe('anomaly scoring (real sockets)', () => {
  it('schema-invalid messages cross warn, then disconnect (1008); each threshold fires once', async () => {
    const anomalies: AnomalyEvent[] = [];
    const events: SecurityEvent[] = [];
    srv = await startServer({
      ...echo,
      limits: false,
      // Thresholds a little under a multiple of the weight, so the scores' decay between two
      // messages (a few ms of a 60 s half-life) cannot move a crossing to the next message.
      anomaly: { thresholds: { warn: 5, disconnect: 13, block: 1000 } },
      onAnomaly: (e) => anomalies.push(e),
      onEvent: (e) => events.push(e),
    });
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('fuzzer'));
    for (let i = 0; i < 20; i++) peer.send({ id: `v${i}`, type: 'chat', payload: { text: i }, csrf });
    const closed = await peer.closed;
    expect(closed).toEqual({ code: 1008, reason: 'WSG_ANOMALY' });
    const errors = peer.frames.map((f) => JSON.parse(f)).filter((m) => m.type === 'error');
    // weight 2 per validation failure: warn at the 3rd, disconnect at the 7th, which closes the
    // socket instead of getting its own error reply
    expect(errors.filter((e) => e.code === 'WSG_VALIDATION_FAILED').length).toBe(6);
    expect(errors.at(-1)).toMatchObject({ code: 'WSG_ANOMALY' });
    const socketScope = anomalies.filter((a) => a.scope === 'socket');
    expect(socketScope.map((a) => a.action)).toEqual(['warn', 'disconnect']);
    // the user's thresholds are twice the socket's (10, 26): the 5th failure crosses its warn
    expect(anomalies.filter((a) => a.scope === 'user').map((a) => a.action)).toEqual(['warn']);
    expect(anomalies.filter((a) => a.scope === 'ip')).toEqual([]);
    expect(events.filter((e) => e.event === 'anomaly.flagged').length).toBe(anomalies.length);
    assertNoLeak(peer.frames);
    await expectStillServing(srv.url);
  });

  it('a well-behaved socket is never flagged', async () => {
    const anomalies: AnomalyEvent[] = [];
    srv = await startServer({ ...echo, limits: false, onAnomaly: (e) => anomalies.push(e) });
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('nice'));
    for (let i = 0; i < 25; i++) {
      peer.send({ id: `n${i}`, type: 'echo', payload: i, csrf });
      await peer.next('ack');
    }
    expect(anomalies).toEqual([]);
    peer.close();
  });

  it('block bans the IP: 403 at the gate afterwards', async () => {
    srv = await startServer({
      ...echo,
      limits: { connectionsPerIp: false },
      anomaly: { thresholds: { warn: 2, disconnect: 100, block: 200 }, weights: { csrf: 250 } },
    });
    const { peer } = await connectAuthed(srv.url, await signToken('attacker'));
    peer.send({ id: 'x', type: 'echo', payload: 1, csrf: 'forged' });
    expect((await peer.closed).code).toBe(1008);
    await expect.poll(async () => (await upgradeStatus(srv?.url as string)).status).toBe(403);
  });

  it("flags a burst far above the socket's own baseline", async () => {
    const anomalies: AnomalyEvent[] = [];
    srv = await startServer({
      ...echo,
      limits: false,
      anomaly: { burst: { factor: 10, min: 30 }, thresholds: { warn: 4, disconnect: 100, block: 200 } },
      onAnomaly: (e) => anomalies.push(e),
    });
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('bursty'));
    for (let i = 0; i < 20; i++) peer.send({ id: `a${i}`, type: 'echo', payload: i, csrf });
    for (let i = 0; i < 20; i++) await peer.next('ack');
    expect(anomalies).toEqual([]);
    for (let i = 0; i < 200; i++) peer.send({ id: `b${i}`, type: 'echo', payload: i, csrf });
    for (let i = 0; i < 200; i++) await peer.next('ack');
    expect(anomalies.filter((a) => a.scope === 'socket')).toEqual([
      expect.objectContaining({ action: 'warn', signal: 'burst', scope: 'socket' }),
    ]);
    peer.close();
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readAnnouncedLimits } from '../../../src/protocol/index.js';
import { announcedLimitsSchema } from '../../../src/protocol/schemas.js';
import { DEFAULTS } from '../../../src/server/defaults.js';
import { announceLimits } from '../../../src/server/limits/announce.js';
import { connectAuthed } from '../../helpers/peer.js';
import { signToken, startServer, type TestServer } from '../../helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe('announced limits', () => {
  it('auth_ok and refresh_ok carry the effective limits of the session', async () => {
    srv = await startServer({
      messages: { echo: z.unknown(), chat: z.unknown() },
      maxPayload: 4096,
      limits: {
        messages: { rate: 20, burst: 30 },
        user: { rate: 40, burst: 60 },
        types: { chat: { rate: 2, burst: 4 } },
      },
    });
    const { peer, ok: authOk } = await connectAuthed(srv.url, await signToken('lim'));
    const expected = {
      maxPayload: 4096,
      maxSubscriptions: 100,
      messagesPerSecond: 20,
      burst: 30,
      bytes: { rate: 1048576, burst: 2097152 },
      user: { rate: 40, burst: 60 },
      types: { chat: { rate: 2, burst: 4, cost: 1 } },
      connectionsPerIp: { max: 30, windowMs: 60_000 },
    };
    expect(authOk.limits).toEqual(expected);
    expect(announcedLimitsSchema.parse(authOk.limits)).toEqual(expected);
    expect(readAnnouncedLimits(authOk.limits)).toEqual(expected);
    peer.send({ type: 'refresh', token: await signToken('lim') });
    const ok = await peer.next('refresh_ok');
    expect(ok.limits).toEqual(expected);
  });

  it('layers switched off are absent', () => {
    expect(announceLimits(false, 1000, undefined)).toEqual({ maxPayload: 1000 });
  });

  it('readAnnouncedLimits drops what is not sane', () => {
    expect(readAnnouncedLimits(null)).toBeUndefined();
    expect(readAnnouncedLimits({ maxPayload: -1 })).toBeUndefined();
    expect(
      readAnnouncedLimits({
        maxPayload: 10,
        messagesPerSecond: 0,
        burst: 1,
        bytes: { rate: 5, burst: 'x' },
        user: { rate: Number.POSITIVE_INFINITY, burst: 1 },
        types: { '<x>': { rate: 1, burst: 1 }, ok: { rate: 1, burst: 2, cost: -3 } },
        connectionsPerIp: { max: 0, windowMs: 60_000 },
      }),
    ).toEqual({ maxPayload: 10, types: { ok: { rate: 1, burst: 2 } } });
  });
});

describe('announced upgrade limit', () => {
  it('connectionsPerIp is announced when on, read back when sane, absent when off', () => {
    const on = announceLimits(
      { ...DEFAULTS.limits, connectionsPerIp: { max: 12, windowMs: 30_000 } },
      1000,
      undefined,
    );
    expect(on.connectionsPerIp).toEqual({ max: 12, windowMs: 30_000 });
    expect(readAnnouncedLimits(on)?.connectionsPerIp).toEqual({ max: 12, windowMs: 30_000 });
    expect(announcedLimitsSchema.parse(on).connectionsPerIp).toEqual({ max: 12, windowMs: 30_000 });
    const off = announceLimits({ ...DEFAULTS.limits, connectionsPerIp: false }, 1000, undefined);
    expect(off).not.toHaveProperty('connectionsPerIp');
    for (const bad of [{ max: 5 }, { max: 5, windowMs: Number.NaN }, { max: 0.5, windowMs: 1000 }, 'x'])
      expect(readAnnouncedLimits({ maxPayload: 10, connectionsPerIp: bad })).toEqual({ maxPayload: 10 });
  });
});

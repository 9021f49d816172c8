import { describe, expect, it } from 'vitest';
import { type ContextOwner, createHandlerContext } from '../../../src/server/connection/context.js';

function owner() {
  const calls: unknown[][] = [];
  const o: ContextOwner = {
    user: { id: 'alice' },
    sessionId: 's1',
    connectionId: 'c1',
    ip: '127.0.0.1',
    state: 'open',
    host: {
      broadcast: (...a) => void calls.push(['broadcast', ...a]),
      channels: {
        subscribeAs: async (_m, ch) => void calls.push(['subscribe', ch]),
        unsubscribeAs: (_m, ch) => void calls.push(['unsubscribe', ch]),
        publish: async (...a) => void calls.push(['publish', ...a]),
        allowed: async (u, ch) => u.id === 'alice' && ch === 'room:a',
      },
    },
    sendFrame: (f) => void calls.push(['frame', f]),
    closeSocket: (code, reason) => void calls.push(['close', code, reason]),
  };
  return { o, calls };
}

describe('handler context', () => {
  it('reads the socket live and sends through it', async () => {
    const { o, calls } = owner();
    const ctx = createHandlerContext(o);
    expect([ctx.user.id, ctx.sessionId, ctx.connectionId, ctx.ip]).toEqual([
      'alice',
      's1',
      'c1',
      '127.0.0.1',
    ]);
    ctx.send('note', { a: 1 });
    ctx.broadcast('all', 2);
    await ctx.subscribe('room:a');
    ctx.unsubscribe('room:a');
    expect(await ctx.canSubscribe('room:a')).toBe(true);
    expect(await ctx.canSubscribe('room:b')).toBe(false);
    expect(calls).toEqual([
      ['frame', '{"type":"note","payload":{"a":1}}'],
      ['broadcast', 'all', 2],
      ['subscribe', 'room:a'],
      ['unsubscribe', 'room:a'],
    ]);
  });

  it('closes only with 1000 or 3000-4999; anything else throws and leaves the socket open', () => {
    const { o, calls } = owner();
    const ctx = createHandlerContext(o);
    for (const bad of [1001, 1008, 2999, 5000, 4000.5, Number.NaN]) {
      expect(() => ctx.close(bad)).toThrow(RangeError);
    }
    expect(calls).toEqual([]);
    ctx.close();
    ctx.close(4001);
    expect(calls).toEqual([
      ['close', 1000, ''],
      ['close', 4001, ''],
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { memoryGuard, turns } from '../helpers/memory-guard.js';

describe('graceful shutdown', () => {
  it('lets a handler in flight finish and its ack go out, then closes every socket 1001', async () => {
    let release = () => {};
    const g = memoryGuard({
      messages: { slow: z.unknown() },
      handlers: { slow: () => new Promise<string>((r) => (release = () => r('done'))) },
      limits: false,
    });
    const busy = await g.open('busy');
    const idle = await g.open('idle');
    busy.conn.handleMessage(
      JSON.stringify({ id: 's1', type: 'slow', payload: null, csrf: busy.csrf }),
      false,
    );
    await turns();
    const closing = g.guard.close({ timeoutMs: 10_000 });
    await turns();
    expect(g.guard.closing).toBe(true);
    expect(idle.socket.closed).toBeUndefined();
    release();
    await turns();
    expect(g.frames(busy.socket, 'ack')).toEqual([{ type: 'ack', id: 's1', result: 'done' }]);
    for (const s of [busy, idle]) {
      expect(s.socket.closed).toEqual({ code: 1001, reason: 'WSG_SHUTTING_DOWN' });
      s.conn.handleClose(1001);
    }
    await closing;
    expect(g.guard.clients).toBe(0);
    expect(g.events.some((e) => e.event === 'server.closing')).toBe(true);
  });

  it('terminates sockets whose close handshake does not complete', async () => {
    const g = memoryGuard({ limits: false });
    const s = await g.open('stuck');
    await g.guard.close({ timeoutMs: 0 });
    expect(s.socket.closed?.code).toBe(1001);
    expect(s.socket.terminated).toBe(true);
  });
});

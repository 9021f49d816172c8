import { describe, expect, it } from 'vitest';
import { createDispatcher, type DispatchTarget } from '../../src/server/dispatch.js';
import type { SocketEvent } from '../../src/server/events.js';
import type { Handler, HandlerContext } from '../../src/server/options.js';
import type { MessageContext } from '../../src/server/pipeline/types.js';

/** A socket as dispatch sees it: its handler context, its user, and the events it logs. */
function target(user = 'u1'): DispatchTarget & { events: SocketEvent[] } {
  const events: SocketEvent[] = [];
  return {
    context: { connectionId: 'c1', ip: '127.0.0.1' } as HandlerContext,
    user: { id: user },
    events,
    event: (e) => events.push(e),
  };
}

function message(type: string, id: string | undefined, payload: unknown = null): MessageContext {
  return {
    conn: { connectionId: 'c1', ip: '127.0.0.1' } as MessageContext['conn'],
    bytes: 10,
    isBinary: false,
    type,
    id,
    payload,
    csrf: undefined,
  };
}

function dispatcher(handlers: Record<string, Handler>, handlerTimeoutMs = 30_000) {
  const latencies: number[] = [];
  const d = createDispatcher({
    handlers,
    handlerTimeoutMs,
    dedupeWindow: 100,
    dedupeTtlMs: 60_000,
    onLatency: (ms) => latencies.push(ms),
    onRefused: () => {},
    channelRequest: () => '{"type":"ack","id":"channel"}',
  });
  return { ...d, latencies };
}

describe('dispatch', () => {
  it('acks a synchronous result at once, with the result', () => {
    const d = dispatcher({ add: (_c, p) => (p as number) + 1 });
    expect(d.dispatch(target(), message('add', 'a1', 41))).toBe('{"type":"ack","id":"a1","result":42}');
    expect(d.latencies).toHaveLength(1);
  });

  it('runs a message without an id and answers nothing', () => {
    let ran = 0;
    const d = dispatcher({ note: () => ran++ });
    expect(d.dispatch(target(), message('note', undefined))).toBeUndefined();
    expect(ran).toBe(1);
  });

  it('acks a type with a schema and no handler, without a result', () => {
    const d = dispatcher({});
    expect(d.dispatch(target(), message('chat', 'x'))).toBe('{"type":"ack","id":"x"}');
  });

  it('answers WSG_INTERNAL for a throw, a rejection and a result that cannot be encoded; the detail is logged only', async () => {
    const d = dispatcher({
      throws: () => {
        throw new Error('at /srv/secret.ts:1');
      },
      rejects: async () => {
        throw new Error('async /srv/secret.ts:2');
      },
      bigint: () => 10n,
    });
    const t = target();
    const sync = d.dispatch(t, message('throws', 'e1')) as string;
    const late = await d.dispatch(t, message('rejects', 'e2'));
    const big = d.dispatch(t, message('bigint', 'e3')) as string;
    for (const [frame, id] of [
      [sync, 'e1'],
      [late, 'e2'],
      [big, 'e3'],
    ] as const) {
      expect(JSON.parse(frame as string)).toEqual({
        type: 'error',
        id,
        code: 'WSG_INTERNAL',
        message: 'Internal error',
      });
      expect(frame).not.toContain('secret');
    }
    expect(t.events.map((e) => [e.event, e.code])).toEqual([
      ['handler.error', 'WSG_INTERNAL'],
      ['handler.error', 'WSG_INTERNAL'],
      ['handler.error', 'WSG_INTERNAL'],
    ]);
    expect(String(t.events[0]?.detail)).toContain('secret.ts');
  });

  it('answers WSG_HANDLER_TIMEOUT for a handler that never settles', async () => {
    const d = dispatcher({ hang: () => new Promise(() => {}) }, 20);
    const t = target();
    expect(JSON.parse((await d.dispatch(t, message('hang', 'h1'))) as string)).toMatchObject({
      id: 'h1',
      code: 'WSG_HANDLER_TIMEOUT',
    });
    expect(t.events[0]).toMatchObject({ event: 'handler.error', code: 'WSG_HANDLER_TIMEOUT' });
  });

  it('a resent id gets the first reply again; the handler runs once (per user)', async () => {
    let runs = 0;
    const d = dispatcher({
      once: async () => {
        runs++;
        return runs;
      },
    });
    const first = await d.dispatch(target('a'), message('once', 'same'));
    const again = await d.dispatch(target('a'), message('once', 'same'));
    expect(again).toBe(first);
    expect(runs).toBe(1);
    // Another user's id is another message.
    expect(await d.dispatch(target('b'), message('once', 'same'))).toBe(
      '{"type":"ack","id":"same","result":2}',
    );
    expect(runs).toBe(2);
  });

  it('sweep() forgets ids past their TTL', () => {
    let runs = 0;
    const d = dispatcher({ once: () => ++runs });
    d.dispatch(target(), message('once', 'k'));
    d.sweep(Date.now() + 120_000);
    d.dispatch(target(), message('once', 'k'));
    expect(runs).toBe(2);
  });
});
